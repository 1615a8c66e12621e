"""The lab's live graph overlay against the plots alone: the web server's CPU per watching session per refresh
(issue 17: the overlay at the lab's refresh must cost the server no more than today's plots).

A classroom: the app on CPU 0 and Chromium on CPU 1 (``taskset``, as bench_graph), one training run (the lab's
defaults, ResNet-56 and plain-56, kept training when nobody watches), and N sessions watching its live page (each
its own browser context, as N students). In the same run, in two arms that alternate (A B B A, so a drift of the
machine falls on both alike):
- overlay: the page as it opens, the gradient norms painted on the net and its twin ("Show on the net" on);
- plots: the same page with "Show on the net" switched off in every session (the five plots alone, as before).
Over each window: CPU seconds of the streamlit process itself (psutil; it also holds the in-process Dask
scheduler) apart from its child processes (the engine's workers: training, not the page's cost) and Chromium; and
the refreshes, counted in each page as the messages its socket sent (a poll of the live fragment sends one).
Then every page closes and one more window measures the server with nobody watching (the run trains on): what the
server spends anyway, taken off both arms for the page's own cost. The training shares CPU 0 with the server.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bench_graph import ARGS, CHROMIUM, LIMIT_MS, ROOT, VIEWPORT, _pin, chromium, served
from .bench_lab import _cpu, _step

WINDOW_S = float(os.environ.get("BENCH_OVERLAY_WINDOW_S", "20"))  # each of the four windows per session count
LIVE_GAP_S = 5.0  # after the pages close: their sessions have ended (no poll left)
SESSIONS = tuple(int(n) for n in os.environ.get("BENCH_OVERLAY_SESSIONS", "1,4").split(","))
SHOW = ".st-key-lab_graph_show"  # the "Show on the net" toggle (resnet_viz.ui.lab.graph.SHOW)
# Counts the messages each page's websocket sends: a fragment poll, a widget change, a rerun.
COUNT_SENT = """(() => {
  window.__sent = 0;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) { window.__sent += 1; return send.call(this, data); };
})();"""
CHARTS = "() => document.querySelectorAll('.echarts-container').length"
SWITCH_MS = 30_000  # a page that has not redrawn after a switch this long is looked at again


@dataclass(frozen=True)
class Window:
    arm: str  # "overlay" or "plots"
    seconds: float
    cpu: dict[str, float]  # CPU seconds over the window: server, workers, chromium
    refreshes: int  # messages sent by all the pages over the window
    steps: int  # training steps over the window (as the first page shows them)


def _session(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(COUNT_SENT)
    page = context.new_page()
    page.set_default_timeout(LIMIT_MS)
    page.goto(url)
    return context, page


def _drawn(page: Any, charts: int) -> None:
    """Wait until the page shows a training step and ``charts`` interactive graphs (2: the net and its twin)."""
    page.wait_for_function(f"() => ({CHARTS})() === {charts}", timeout=LIMIT_MS)
    deadline = time.monotonic() + LIMIT_MS / 1000
    while _step(page) < 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the page shows no training run")
        page.wait_for_timeout(250)


def _start(browser: Any, url: str) -> tuple[Any, Any, str]:
    """The first session: the lab's defaults, many steps, kept training when nobody watches; Start. Its run id."""
    context, page = _session(browser, f"{url}/gradient-lab")
    page.get_by_role("button", name="Start").wait_for()
    steps = page.get_by_role("spinbutton", name="Steps", exact=True)
    steps.fill("100000")
    steps.press("Enter")
    page.wait_for_timeout(1000)
    page.get_by_text("Keep training when nobody watches").click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Start").click()
    deadline = time.monotonic() + 300
    while _step(page) < 3:  # the engine's workers have started and both nets train
        if time.monotonic() > deadline:
            raise RuntimeError("the run never started")
        page.wait_for_timeout(500)
    _drawn(page, 2)
    rid = page.evaluate("new URLSearchParams(location.search).get('run')")
    return context, page, str(rid)


def _show(pages: list[Any], on: bool) -> None:
    """Switch "Show on the net" in every page, and wait until each has redrawn its graphs (or none).

    A switch pressed while the page's live fragment reruns can be lost under load (the toggle then shows the
    server's value again, or the graphs never change): it is pressed again until the page shows what was asked.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    charts = 2 if on else 0
    for p in pages:
        if (p.evaluate(CHARTS) > 0) != on:
            p.locator(f"{SHOW} label").click()
    deadline = time.monotonic() + LIMIT_MS / 1000
    for p in pages:
        while True:
            try:
                p.wait_for_function(f"() => ({CHARTS})() === {charts}", timeout=SWITCH_MS)
                break
            except PlaywrightTimeout:
                if time.monotonic() > deadline:
                    raise
                if p.evaluate("s => document.querySelector(s).checked", f"{SHOW} input") != on:
                    p.locator(f"{SHOW} label").click()
        _drawn(p, charts)
    pages[0].wait_for_timeout(2000)  # the switch's own reruns are over


def _window(arm: str, pages: list[Any], server: Any, seconds: float) -> Window:
    sent0 = [p.evaluate("() => window.__sent") for p in pages]
    s0 = _step(pages[0])
    c0, t0 = _cpu(server), time.monotonic()
    pages[0].wait_for_timeout(seconds * 1000)
    c1, t1 = _cpu(server), time.monotonic()
    sent1 = [p.evaluate("() => window.__sent") for p in pages]
    return Window(arm, t1 - t0, {k: c1[k] - c0[k] for k in c0}, sum(sent1) - sum(sent0), _step(pages[0]) - s0)


def _per_refresh(ws: list[Window], idle: float) -> tuple[float, float]:
    """(server CPU ms per refresh, the same less what the server spends with nobody watching), over ``ws``."""
    cpu = sum(w.cpu["server"] for w in ws)
    seconds = sum(w.seconds for w in ws)
    refreshes = max(sum(w.refreshes for w in ws), 1)
    return 1000 * cpu / refreshes, 1000 * (cpu - idle * seconds) / refreshes


def _report(n: int, ws: list[Window], idle: float) -> None:
    arms = {a: [w for w in ws if w.arm == a] for a in ("overlay", "plots")}
    rows = {}
    for arm, group in arms.items():
        seconds = sum(w.seconds for w in group)
        refreshes = sum(w.refreshes for w in group)
        gross, net = _per_refresh(group, idle)
        cores = ", ".join(f"{k} {sum(w.cpu[k] for w in group) / seconds:.2f}" for k in group[0].cpu)
        rate = refreshes / seconds / n
        steps = sum(w.steps for w in group) / seconds
        print(f"  {arm:<7} server {gross:6.1f} ms/refresh ({net:6.1f} above idle); {refreshes} refreshes in "
              f"{seconds:.0f} s ({rate:.2f}/s per session); training {steps:.2f} pair-steps/s; cores: {cores}",
              flush=True)  # fmt: skip
        rows[arm] = (gross, net)
    (og, on), (pg, pn) = rows["overlay"], rows["plots"]
    graph = on - pn  # the graph's own cost per refresh
    verdict = "meets" if graph <= pn else "misses"
    print(f"  ratio overlay/plots per session per refresh: {og / pg:.2f}x the page ({on / pn:.2f}x above idle); "
          f"the graph alone {graph:.1f} ms = {graph / pn:.2f}x the plots' {pn:.1f} ms: {verdict} "
          f"(graph <= plots)", flush=True)  # fmt: skip


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    pins = "server on CPU 0, Chromium on CPU 1" if _pin(1) else "not pinned (no taskset or no second CPU)"
    load0 = os.getloadavg()
    began = time.monotonic()
    windows: dict[int, list[Window]] = {}
    with tempfile.TemporaryDirectory() as tmp, served(ROOT) as (proc, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(Path(tmp)), args=ARGS)
        try:
            first, page, rid = _start(browser, url)
            print(f"  ({time.monotonic() - began:.0f} s) run {rid} trains", flush=True)
            sessions = [(first, page)]
            for n in SESSIONS:
                while len(sessions) < n:  # the others open the shared run's link
                    sessions.append(_session(browser, f"{url}/gradient-lab?run={rid}"))
                pages = [pg for _, pg in sessions[:n]]
                for pg in pages:  # each shows the overlay: the page opens with it, and each n ends with it
                    _drawn(pg, 2)
                windows[n] = []
                for arm in ("overlay", "plots", "plots", "overlay"):
                    _show(pages, arm == "overlay")
                    w = _window(arm, pages, proc, WINDOW_S)
                    windows[n].append(w)
                    print(f"  ({time.monotonic() - began:.0f} s) {n} watching, {arm}: server {w.cpu['server']:.2f} "
                          f"CPU-s, {w.refreshes} refreshes", flush=True)  # fmt: skip
            for context, _ in sessions:
                context.close()
            time.sleep(LIVE_GAP_S)
            c0, t0 = _cpu(proc), time.monotonic()
            time.sleep(WINDOW_S)
            c1, t1 = _cpu(proc), time.monotonic()
        finally:
            browser.close()
    idle = {k: (c1[k] - c0[k]) / (t1 - t0) for k in c0}
    load1 = os.getloadavg()
    print(f"lab page, graph overlay against the plots alone, run {rid} (ResNet-56 and plain-56; {pins}); "
          f"windows of {WINDOW_S:.0f} s, arms A B B A")  # fmt: skip
    print(f"  nobody watching: server {idle['server']:.3f} CPU-s/s, workers {idle['workers']:.2f}")
    for n, ws in windows.items():
        print(f" {n} session{'s' if n > 1 else ''} watching:")
        _report(n, ws, idle["server"])
    per = {n: statistics.fmean(w.refreshes / w.seconds / n for w in ws) for n, ws in windows.items()}
    print(f"  refreshes per session per second: {', '.join(f'{n}: {r:.2f}' for n, r in per.items())}")
    print(f"  load average (1, 5, 15 min) before {', '.join(f'{x:.2f}' for x in load0)}; "
          f"after {', '.join(f'{x:.2f}' for x in load1)}; took {time.monotonic() - began:.0f} s")  # fmt: skip

"""The interactive graph in Chromium (issue 17): first draw, a click that opens a block, ResNet-1202 whole, panning.

Each figure is the median of TRIES tries, read in the page (``performance.now()``, stamped from
``requestAnimationFrame`` and ECharts' own ``finished`` event), with baselines taken in the same run:
- ResNet-50's first draw on /architecture, from navigation to the chart painted, in a fresh browser context each try;
  also when the script's output was complete (the page's last element, the side-outputs table, on screen) and how
  long the chart took after that. Baselines: BEFORE (the static ``st.graphviz_chart`` explorer, commit 0f01393,
  its files exported to a temporary folder) to its SVG drawn, and a bare load of this app's same page with the
  graph off (an input size too small for the net: the page's frame, sidebar and one error sentence).
- a click on a closed block of ResNet-152 (``layer1.0``: it is on screen as the page opens) until ECharts has
  finished the redraw with the block's layers in it.
- ResNet-1202 with every group open ("Open all"), from the click to the redraw finished; "Fold all" in between.
- frame times while dragging ResNet-1202, all open, with the mouse (``requestAnimationFrame`` deltas), against the
  same page's frames with nothing moving.
The server runs on CPU 0 and Chromium on CPU 1 (``taskset``), as a classroom has the browsers on other machines.
streamlit-echarts keeps ``echarts`` to itself; for the click and drag figures its bundle is served with one line
that hands it to ``window`` (as tests/test_browser_graph.py does), for node positions and the ``finished`` event.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import stop

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "0f01393"  # the last commit with the static graphviz explorer (4eca6ea's parent)
TRIES = int(os.environ.get("BENCH_GRAPH_TRIES", "10"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}
LIMIT_MS = 180_000
SIDE_HEADING = "Side outputs at this input size"  # locales/en/explorer.toml: the explorer's last section
GOALS = {"first": 1.0, "click": 0.5, "all_open": 3.0, "pan p90": 50.0}  # issue 17's targets (s, s, s, ms)

# Stamps, in ms since navigation, the first frame on which each thing is on screen: the ECharts chart (its
# container gets `_echarts_instance_` when the component builds the chart and sets its options in the same task,
# and setOption paints synchronously), the old explorer's SVG, the page's last section, an error sentence.
STAMPS = """
(() => {
  window.__stamps = {};
  const side = __SIDE__;
  const tick = () => {
    const s = window.__stamps, now = performance.now();
    if (s.chart === undefined && document.querySelector('.echarts-container[_echarts_instance_] canvas')) s.chart = now;
    if (s.svg === undefined && [...document.querySelectorAll('[data-testid="stGraphVizChart"] svg')]
          .some(g => g.textContent.includes('layer4'))) s.svg = now;
    if (s.done === undefined && [...document.querySelectorAll('h3')].some(h => h.textContent.includes(side))
          && document.querySelectorAll('[data-testid="stDataFrame"]').length >= 2) s.done = now;
    if (s.error === undefined && document.querySelector('[data-testid="stAlertContentError"]')) s.error = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
""".replace("__SIDE__", repr(SIDE_HEADING))

_BINDING = re.compile(r"\{\s*echarts:\s*([\w$]+),\s*chart:")
BUNDLE = "**/_stcore/bidi-components/streamlit-echarts*/**/*.js"

# Arms a watch on chart 0: the next `finished` event with `n` drawn items... stamps `__done`; clicks stamp `__t0`.
ARM = """() => {
  const el = document.querySelector('.echarts-container');
  const c = window.__echarts.getInstanceByDom(el);
  const before = c.getOption().series[0].data.length;
  window.__t0 = undefined; window.__done = undefined;
  if (!window.__armed) {
    window.__armed = true;
    window.addEventListener('mousedown', () => { window.__t0 = performance.now(); }, true);
  }
  if (window.__onFinished) c.off('finished', window.__onFinished);
  window.__onFinished = () => {
    const now = performance.now();
    if (window.__done === undefined && window.__t0 !== undefined && c.getOption().series[0].data.length !== before)
      window.__done = now;
  };
  c.on('finished', window.__onFinished);
  return before;
}"""
WHERE = """name => {
  const el = document.querySelector('.echarts-container');
  el.scrollIntoView({block: 'center'});
  const c = window.__echarts.getInstanceByDom(el);
  const it = c.getOption().series[0].data.find(d => d.name === name);
  const [x, y] = c.convertToPixel({seriesIndex: 0}, [it.x, it.y]);
  const r = el.getBoundingClientRect();
  return [r.x + x, r.y + y, x >= 0 && y >= 0 && x <= r.width && y <= r.height];
}"""
FRAMES = """() => {
  window.__frames = []; window.__rec = true;
  let last = performance.now();
  const f = t => { window.__frames.push(t - last); last = t; if (window.__rec) requestAnimationFrame(f); };
  requestAnimationFrame(f);
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(cpu: int) -> list[str]:
    """``taskset -c cpu`` where the machine has that CPU and the tool, else nothing."""
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > cpu else []


@contextlib.contextmanager
def _export(commit: str) -> Iterator[Path]:
    """``commit``'s files in a temporary folder (``git archive``: no worktree to register in the shared checkout)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-graph-{commit}-") as tmp:
        files = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=files, check=True)
        yield Path(tmp)


@contextlib.contextmanager
def _server(tree: Path) -> Iterator[str]:
    """`streamlit run app.py` in ``tree`` on CPU 0, with a fresh run store: its URL."""
    with served(tree) as (_, url):
        yield url


@contextlib.contextmanager
def served(tree: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`streamlit run app.py` in ``tree`` on CPU 0, with a fresh run store: its process and its URL."""
    port = _free_port()
    cmd = [*_pin(0), sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # fmt: skip
    store = tempfile.mkdtemp(prefix="rv-bench-store-")
    env = {**os.environ, "RESNET_VIZ_DB": f"sqlite:///{store}/lab.sqlite", "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(cmd, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(360):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"the app in {tree} did not start")
        yield proc, url
    finally:
        stop(proc)
        shutil.rmtree(store, ignore_errors=True)


def chromium(tmp: Path) -> str:
    """Chromium on CPU 1: a wrapper that Playwright starts in its place."""
    pin = _pin(1)
    if not pin:
        return CHROMIUM
    wrapper = tmp / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec {" ".join(pin)} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _load(browser: Any, url: str, stamp: str) -> dict[str, float]:
    """One navigation in a fresh context: ms from navigation to ``stamp`` (and to the page's last section)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(STAMPS)
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_function(f"() => window.__stamps && window.__stamps.{stamp} !== undefined", timeout=LIMIT_MS)
        if stamp != "error":
            page.wait_for_function("() => window.__stamps.done !== undefined", timeout=LIMIT_MS)
        stamps: dict[str, float] = page.evaluate("() => window.__stamps")
        # when streamlit-echarts' bundle (2.5 MB) arrived: most of the time between the page's output and the chart
        bundle = page.evaluate(
            "() => performance.getEntriesByType('resource').filter(e => e.name.includes('streamlit-echarts'))"
            ".map(e => e.responseEnd)"
        )
        if bundle:
            stamps["bundle"] = max(bundle)
        page.wait_for_timeout(500)  # let the session's last messages land before closing
        return stamps
    finally:
        context.close()


def _patched_bundle(browser: Any, url: str) -> tuple[str, str]:
    """streamlit-echarts' bundle URL and its text with ``window.__echarts`` set (fetched once)."""
    context = browser.new_context(viewport=VIEWPORT)
    found: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "request", lambda r: found.append(r.url) if "streamlit-echarts" in r.url and r.url.endswith(".js") else None
        )
        page.goto(f"{url}/architecture?arch=resnet18")
        page.wait_for_selector(".echarts-container[_echarts_instance_]", timeout=LIMIT_MS)
    finally:
        context.close()
    with urllib.request.urlopen(found[0]) as r:
        body = r.read().decode("utf-8")
    m = _BINDING.search(body)
    if m is None:
        raise RuntimeError("streamlit-echarts no longer hands `echarts` to event handlers")
    return found[0], f"{body}\n;window.__echarts = {m.group(1)};\n"


def _ready(page: Any) -> None:
    page.wait_for_function(
        """() => { const el = document.querySelector('.echarts-container');
          const c = el && window.__echarts && window.__echarts.getInstanceByDom(el);
          return !!(c && c.getOption().series && c.getOption().series[0].data.length); }""",
        timeout=LIMIT_MS,
    )
    page.wait_for_timeout(500)


def _timed(page: Any, act: Any) -> float:
    """ms from the mouse press of ``act()`` to ECharts' redraw finished with a different option."""
    page.evaluate(ARM)
    act()
    page.wait_for_function("() => window.__done !== undefined", timeout=LIMIT_MS)
    return float(page.evaluate("() => window.__done - window.__t0"))


def _open_block(browser: Any, url: str, bundle: tuple[str, str]) -> list[float]:
    """ResNet-152: a click on the closed block layer1.0 until the redraw with its layers has finished; each try
    in a fresh page (so the block is closed again)."""
    out: list[float] = []
    context = browser.new_context(viewport=VIEWPORT)
    context.route(BUNDLE, lambda route: route.fulfill(body=bundle[1], content_type="text/javascript"))
    try:
        for _ in range(TRIES + 1):  # the first is cold (the block's layout computed); reported apart
            page = context.new_page()
            page.goto(f"{url}/architecture?arch=resnet152")
            _ready(page)
            x, y, inside = page.evaluate(WHERE, "layer1.0")
            assert inside, "layer1.0 is not on screen"
            out.append(_timed(page, functools.partial(page.mouse.click, x, y)))
            page.wait_for_timeout(300)
            page.close()
    finally:
        context.close()
    return out


def _all_open(browser: Any, url: str, bundle: tuple[str, str]) -> tuple[list[float], list[float], list[float]]:
    """ResNet-1202: "Open all" to the redraw finished ("Fold all" between tries); then frame times while dragging,
    and with nothing moving."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(BUNDLE, lambda route: route.fulfill(body=bundle[1], content_type="text/javascript"))
    opened: list[float] = []
    drag: list[float] = []
    idle: list[float] = []
    try:
        page = context.new_page()
        page.goto(f"{url}/architecture?arch=resnet1202")
        _ready(page)
        open_all = page.locator(".st-key-explorer_graph-open_all button")
        fold_all = page.locator(".st-key-explorer_graph-fold_all button")
        for i in range(TRIES + 1):
            if i:
                _timed(page, fold_all.click)
                page.wait_for_timeout(300)
            opened.append(_timed(page, open_all.click))
            page.wait_for_timeout(300)
        page.locator(".echarts-container").scroll_into_view_if_needed()
        box = page.locator(".echarts-container").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for i in range(TRIES):
            page.evaluate(FRAMES)
            page.wait_for_timeout(1000)
            page.evaluate("() => { window.__rec = false; }")
            idle += page.evaluate("() => window.__frames.slice(1)")
            page.evaluate(FRAMES)
            sign = 1 if i % 2 == 0 else -1
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + sign * 120, cy - sign * 240, steps=60)
            page.mouse.up()
            page.evaluate("() => { window.__rec = false; }")
            drag += page.evaluate("() => window.__frames.slice(1)")
    finally:
        context.close()
    return opened, drag, idle


def _p(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) > 1 else xs[0]


def _measure(browser: Any, new: str, old: str) -> dict[str, Any]:
    load = os.getloadavg()[0]  # other work on the machine shows here: the figures are only as quiet as it was
    r50, old50 = f"{new}/architecture?arch=resnet50", f"{old}/architecture?arch=resnet50"
    bare = f"{new}/architecture?arch=resnet50&input_size=2"  # too small for the net: one sentence, no graph
    cold = {"new": _load(browser, r50, "chart"), "old": _load(browser, old50, "svg")}
    _load(browser, bare, "error")
    first: dict[str, list[dict[str, float]]] = {"new": [], "old": [], "bare": []}
    for _ in range(TRIES):  # alternate, so a slow moment of the machine is shared
        first["new"].append(_load(browser, r50, "chart"))
        first["old"].append(_load(browser, old50, "svg"))
        first["bare"].append(_load(browser, bare, "error"))
    bundle = _patched_bundle(browser, new)
    clicks = _open_block(browser, new, bundle)
    opened, drag, idle = _all_open(browser, new, bundle)
    return {"cold": cold, "first": first, "clicks": clicks, "opened": opened, "drag": drag, "idle": idle,
            "load": (load, os.getloadavg()[0])}  # fmt: skip


def _report(m: dict[str, Any]) -> None:
    med = statistics.median
    first, cold, clicks, opened, drag, idle = (m[k] for k in ("first", "cold", "clicks", "opened", "drag", "idle"))
    chart = med(s["chart"] for s in first["new"]) / 1000
    done = med(s["done"] for s in first["new"]) / 1000
    after = med(max(0.0, s["chart"] - s["done"]) for s in first["new"]) / 1000
    svg = med(s["svg"] for s in first["old"]) / 1000
    bare = med(s["error"] for s in first["bare"]) / 1000
    click, all_open = med(clicks[1:]) / 1000, med(opened[1:]) / 1000
    pan50, pan90, idle50 = med(drag), _p(drag, 90), med(idle)
    pan_mean = statistics.fmean(drag)
    bundle = med(s["bundle"] - s["done"] for s in first["new"] if "bundle" in s) / 1000
    pins = "server on CPU 0, Chromium on CPU 1" if _pin(1) else "not pinned (no taskset or no second CPU)"
    load = ", ".join(f"{x:.1f}" for x in m["load"])
    print(f"interactive graph in Chromium, median of {TRIES} tries ({pins}; load average before and after: {load})")
    rows = [
        ("ResNet-50 first draw: navigation -> chart painted", f"{chart:.2f} s",
         f"{chart / svg:.2f}x static SVG ({svg:.2f} s, {BEFORE}); {chart / bare:.2f}x bare page ({bare:.2f} s)"),
        ("  the page's output complete (script finished)", f"{done:.2f} s",
         f"chart painted {after:.2f} s after it; the echarts bundle arrived {bundle:+.2f} s from it"),
        ("  cold (a fresh server's first load)", f"{cold['new']['chart'] / 1000:.2f} s",
         f"static SVG cold {cold['old']['svg'] / 1000:.2f} s"),
        ("ResNet-152: click opens layer1.0 -> redraw finished", f"{click:.2f} s",
         f"cold {clicks[0] / 1000:.2f} s; {click / chart:.2f}x ResNet-50 first draw"),
        ("ResNet-1202: Open all -> redraw finished", f"{all_open:.2f} s",
         f"cold {opened[0] / 1000:.2f} s; {all_open / chart:.2f}x ResNet-50 first draw"),
        ("ResNet-1202 all open: frame while dragging", f"{pan50:.0f} ms",
         f"p90 {pan90:.0f} ms, mean {pan_mean:.0f} ms over {len(drag)} frames of {TRIES} drags; "
         f"idle frame {idle50:.1f} ms"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>7}   {note}")
    checks = (("first", after, "s"), ("click", click, "s"), ("all_open", all_open, "s"), ("pan p90", pan90, "ms"))
    verdicts = [f"{k} <= {GOALS[k]:g} {u}: {'meets' if v <= GOALS[k] else 'misses'}" for k, v, u in checks]
    print("  goals (issue 17): " + "; ".join(verdicts))


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory() as tmp,
        _export(BEFORE) as before,
        _server(ROOT) as new,
        _server(before) as old,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=chromium(Path(tmp)), args=ARGS)
        try:
            measured = _measure(browser, new, old)
        finally:
            browser.close()
    _report(measured)

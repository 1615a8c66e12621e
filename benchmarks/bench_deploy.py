"""Deployment figures for docs/DEPLOY.md ("Measured"): memory per session, watchers per replica, cold start.

1. Memory: one Streamlit replica of scripts/topology.py (PostgreSQL, a Dask scheduler, one worker). The replica's
   resident memory (VmRSS in /proc/<pid>/status) after warming up, after K more idle sessions on Home, and after K
   more sessions watching a running run on the lab page: the growth divided by K is one session's memory.
2. Watchers: N Chromium contexts watch that run's lab page (the page polls every second). Each page notes when
   its "Step N of M" text changes; the gaps between changes are refresh times. N doubles until the median
   gap passes 2 s, or the cap, or the time budget (the 90th percentile is printed too: on a loaded machine
   single gaps jitter between 0.1 and 3 s even for one page, so it is no stop criterion). All pages run in one
   Chromium on the same machine as the server, so on a small machine the browser's own drawing is part of what
   saturates it.
3. Cold start: from starting `streamlit run app.py` to ResNet-50's block graph (an svg) drawn on Home.

Needs Debian's chromium, nginx and postgresql (as the topology test). Figures on a shared 2-core machine are
noisy; the run trained meanwhile (depth 8, batch 8) takes CPU from the same cores, as it would in class. A refresh
that finds no new step would count as a doubled gap, so the run must train faster than the page polls.
"""

from __future__ import annotations

import contextlib
import itertools
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

from benchmarks import GRAPH, stop
from resnet_viz import cifar_spec
from resnet_viz.lab.config import RunConfig
from resnet_viz.lab.cores import usable_cores
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.runs import start_run
from resnet_viz.lab.store import ACTIVE, RunStore
from scripts.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
K = 4  # sessions per memory step
WATCH_S = 20.0  # how long N pages are watched before their gaps are read
REFRESH_GOAL_S = 2.0
MAX_WATCHERS = 16
BUDGET_S = 900.0  # the whole watcher scan stops here, whatever N it reached

# Records, in the page, each time the lab's "Step N of M" caption changes (performance.now() in ms, step).
PROBE = r"""
window.__rvSteps = [];
setInterval(() => {
  for (const el of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
    const m = /Step (\d+) of (\d+)/.exec(el.textContent || "");
    if (m) {
      const last = window.__rvSteps[window.__rvSteps.length - 1];
      if (!last || last[1] !== +m[1]) window.__rvSteps.push([performance.now(), +m[1]]);
      return;
    }
  }
}, 100);
"""


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _free_base(span: int = 20) -> int:
    import random

    for _ in range(200):
        base = random.randrange(20000, 32000 - span)
        ok = True
        for port in range(base, base + span):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free block of loopback ports")


def _idle(page: Any, timeout_s: float = 120) -> None:
    """Streamlit has finished running the script (its status widget is gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    time.sleep(0.3)
    while time.monotonic() < deadline and page.locator('[data-testid="stStatusWidget"]').count():
        time.sleep(0.1)


@contextlib.contextmanager
def _chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser: Any, probe: bool = False) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    if probe:
        ctx.add_init_script(PROBE)
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    return page


def _open_home(browser: Any, url: str) -> Any:
    page = _page(browser)
    page.goto(url + "/")
    page.wait_for_selector(GRAPH, state="visible")
    _idle(page)
    return page


def _open_run(browser: Any, url: str, rid: str) -> Any:
    page = _page(browser, probe=True)
    page.goto(f"{url}/gradient-lab?run={rid}")
    page.get_by_text(re.compile(r"Step \d+ of \d+")).first.wait_for()
    return page


def _settle(pid: int, seconds: float = 4.0) -> float:
    time.sleep(seconds)
    return _rss_mib(pid)


def _gaps(pages: list[Any]) -> list[float]:
    """Seconds between consecutive changes of each page's step, over the last WATCH_S."""
    out: list[float] = []
    for page in pages:
        rows = page.evaluate("window.__rvSteps.splice(0)")  # read and clear
        times = [t / 1000 for t, _ in rows]
        out += [b - a for a, b in itertools.pairwise(times)]
    return out


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else float("inf")


def memory_and_watchers() -> None:
    work = Path(tempfile.mkdtemp(prefix="rv-bench-"))
    work.chmod(0o755)  # PostgreSQL's user must reach it
    # depth 8, batch 8: fast enough (tens of steps a second) that every refresh has a new step to show
    config = RunConfig(spec=cifar_spec(8), batch_size=8, steps=1_000_000, seed=1, lr=0.05)
    try:
        with Topology(work, replicas=1, workers=1, base_port=_free_base()) as topo, _chromium() as browser:
            url, pid = topo.replica_urls["r1"], topo.pid("r1")
            store = RunStore(topo.db_url)
            engine = Engine(topo.scheduler)
            rid = start_run(store, engine, config, origin="cli")  # kept: trains until stopped below
            try:
                # warm-up: the first Home and lab sessions fill the server's shared caches
                warm = [_open_home(browser, url), _open_run(browser, url, rid)]
                for page in warm:
                    page.context.close()
                base = _settle(pid)
                idle = [_open_home(browser, url) for _ in range(K)]
                after_idle = _settle(pid)
                watching = [_open_run(browser, url, rid) for _ in range(K)]
                time.sleep(WATCH_S)  # their histories fill while they poll
                after_watch = _settle(pid)
                step = store.get(rid).step
                idle_each = (after_idle - base) / K
                print(f"replica RSS after warm-up: {base:.0f} MiB")
                print(f"idle session (Home): {idle_each:.1f} MiB each ({K} sessions)")
                watch_each = (after_watch - after_idle) / K
                print(
                    f"session watching a running run (lab, step {step}): {watch_each:.1f} MiB each ({K} sessions); "
                    f"ratio watching/idle {watch_each / max(idle_each, 0.1):.1f}"
                )
                for page in idle + watching:
                    page.context.close()
                time.sleep(3)

                # watchers: add pages until the refresh gap's 90th percentile passes the goal
                pages: list[Any] = []
                sustained, n, started = 0, 1, time.monotonic()
                while n <= MAX_WATCHERS and time.monotonic() - started < BUDGET_S:
                    while len(pages) < n:
                        pages.append(_open_run(browser, url, rid))
                    _gaps(pages)  # drop what was recorded while pages opened
                    time.sleep(WATCH_S)
                    gaps = _gaps(pages)
                    p50, p90 = (statistics.median(gaps) if gaps else float("inf")), _p90(gaps)
                    rss = _rss_mib(pid)
                    print(f"{n:>2} watching: refresh median {p50:.2f} s, p90 {p90:.2f} s, RSS {rss:.0f} MiB")
                    if p50 > REFRESH_GOAL_S:
                        break
                    sustained, n = n, n * 2
                limit = "cap" if n > MAX_WATCHERS else "budget" if time.monotonic() - started >= BUDGET_S else "goal"
                print(
                    f"watching sessions one replica sustains at <= {REFRESH_GOAL_S:.0f} s refresh (median): "
                    f"{sustained} (stopped by the {limit}; pages and server on the same {usable_cores()} cores)"
                )
                for page in pages:
                    page.context.close()
            finally:
                store.set_status(rid, "stopped", only_from=ACTIVE)
                engine.close()
                store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cold_start() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    streamlit = Path(sys.executable).with_name("streamlit")
    cmd = [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    with _chromium() as browser:
        page = _page(browser)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 180
            while True:
                with contextlib.suppress(OSError), urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not answer in 180 s")
                time.sleep(0.1)
            t_health = time.perf_counter() - t0
            page.goto(url + "/")
            page.wait_for_selector(GRAPH, state="visible", timeout=180_000)
            t_svg = time.perf_counter() - t0
        finally:
            stop(proc)
    print(
        f"cold start: `streamlit run app.py` to ResNet-50's graph on Home {t_svg:.1f} s "
        f"(server answering {t_health:.1f} s, page to graph {t_svg - t_health:.1f} s; ratio {t_svg / t_health:.1f})"
    )


def main() -> None:
    for tool in (CHROMIUM, shutil.which("nginx") or "/usr/sbin/nginx"):
        if not os.path.exists(tool):
            print(f"skipped: {tool} is missing")
            return
    cold_start()
    memory_and_watchers()


if __name__ == "__main__":
    main()

"""First paint in a real browser: from `streamlit run app.py` to the app's own navigation and to Home's graph.

Issues 16 and 25's goal: the app's own navigation from the first paint (never Streamlit's legacy `pages/` list,
which a fresh server showed until `client.showSidebarNavigation = false` hid it), and ResNet-50's graph on Home
within 3 s of the server answering. BEFORE is commit 576fc93 (the last that showed the legacy list; another
with $BENCH_LAUNCH_BEFORE, e.g. d564400, issue 16's), checked out into a temporary `git worktree`; AFTER is this
working tree (or the commit in $BENCH_LAUNCH_AFTER, checked out the same way). Each try starts a fresh server,
the two alternate, and each figure is the median of the tries ($BENCH_LAUNCH_TRIES, 3 by default). Times are
`Date.now()` in the page at the first animation frame that shows the thing; the machine's one clock serves the
server's start and the page alike.
"""

from __future__ import annotations

import contextlib
import json
import os
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
BEFORE = os.environ.get("BENCH_LAUNCH_BEFORE", "576fc93")  # the commit measured against
AFTER = os.environ.get("BENCH_LAUNCH_AFTER", "")  # a commit to measure instead of the working tree
TRIES = int(os.environ.get("BENCH_LAUNCH_TRIES", "3"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]  # fmt: skip
# The app's own page titles (locales/en/app.toml [nav]); the legacy list shows file names instead.
APP_TITLES = ("Architecture explorer", "Gradient-flow lab")
GRAPH_TEXT = "layer4"  # ResNet-50's block graph on Home holds its last stage
LIMIT_S = 180

# Each returns Date.now() once its thing is on screen, else false; STAMPS calls them in the page at every animation
# frame from the document's start and keeps each one's first time (waiting for them one after another from
# Playwright would add a round trip between them, 0.3 s on a busy machine, and count it as a legacy menu).
# "Navigation": any sidebar menu with an entry, then the app's own (its page titles; the legacy list shows file
# names). "Graph": graphviz's SVG holding GRAPH_TEXT, or (the interactive graph of issue 17) an ECharts canvas with
# pixels drawn, looked for through shadow roots too.
ANY_NAV = """() => document.querySelector('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]') ? Date.now()
  : false"""
OWN_NAV = """titles => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  return nav && titles.every(t => nav.innerText.includes(t)) ? Date.now() : false;
}"""
GRAPH = """needle => {
  const all = (root, sel) => [...root.querySelectorAll(sel),
    ...[...root.querySelectorAll('*')].filter(e => e.shadowRoot).flatMap(e => all(e.shadowRoot, sel))];
  const svg = all(document, '[data-testid="stGraphVizChart"] svg').some(g => g.textContent.includes(needle));
  const drawn = c => {
    if (!c.width || !c.height) return false;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < px.length; i += 4 * 97) if (px[i] > 0) return true;
    return false;
  };
  const chart = all(document, '[_echarts_instance_] canvas').some(drawn);
  return svg || chart ? Date.now() : false;
}"""
WAITS: tuple[tuple[str, str, object], ...] = (
    ("nav", ANY_NAV, None),
    ("own_nav", OWN_NAV, APP_TITLES),
    ("graph", GRAPH, GRAPH_TEXT),
)
STAMPS = (
    "(() => { const checks = ["
    + ", ".join(f"[{json.dumps(name)}, ({fn}), {json.dumps(arg)}]" for name, fn, arg in WAITS)
    + """];
  const stamps = window.__rvStamps = {};
  const tick = () => {
    for (const [name, f, arg] of checks) if (!(name in stamps)) { const t = f(arg); if (t) stamps[name] = t; }
    if ("nav" in stamps && !("first_menu" in window)) {  // the first menu's text: the app's titles, or file names
      window.first_menu = document.querySelector('[data-testid="stSidebarNav"]').innerText;
    }
    if (Object.keys(stamps).length < checks.length) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""
)
ALL_STAMPED = f"() => window.__rvStamps && Object.keys(window.__rvStamps).length === {len(WAITS)}"


@contextlib.contextmanager
def _checkout(commit: str) -> Iterator[Path]:
    """``commit`` checked out into a temporary worktree under /tmp, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"rv-{commit[:12]}-"))
    path.rmdir()
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), commit], cwd=ROOT, check=True)
    try:
        yield path
    finally:
        for _ in range(5):  # another git command in this repository may hold its lock for a moment
            done = subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False)
            if done.returncode == 0:
                break
            time.sleep(1)
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(tree: Path) -> Iterator[tuple[str, float, float]]:
    """A fresh `streamlit run app.py` in ``tree``: (url, the process's start, the health check's first answer)."""
    port = _free_port()
    streamlit = Path(sys.executable).with_name("streamlit")  # this venv's, as `make run` uses
    cmd = [str(streamlit), "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip
    store = tempfile.mkdtemp(prefix="rv-bench-store-")
    # PYTHONPATH pins `resnet_viz` to the tree being measured, whatever else is on the path.
    env = {**os.environ, "RESNET_VIZ_DB": f"sqlite:///{store}/lab.sqlite", "PYTHONPATH": str(tree)}
    start = time.time()
    proc = subprocess.Popen(cmd, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if time.time() - start > LIMIT_S or proc.poll() is not None:
                raise RuntimeError(f"the app in {tree} did not start")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        yield url, start, time.time()
    finally:
        stop(proc)
        shutil.rmtree(store, ignore_errors=True)


def _one(browser: Any, tree: Path) -> dict[str, float]:
    """One fresh server and one fresh browser context: seconds from the process's start to each thing shown."""
    with _server(tree) as (url, start, answered):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.add_init_script(STAMPS)
            page.goto(url, wait_until="commit")
            page.wait_for_function(ALL_STAMPED, polling=100, timeout=LIMIT_S * 1000)
            stamps = {name: ms / 1000 for name, ms in page.evaluate("window.__rvStamps").items()}
            first_menu = str(page.evaluate("window.first_menu"))
        finally:
            context.close()
    return {
        "server": answered - start,
        "own_nav": stamps["own_nav"] - start,
        "graph": stamps["graph"] - start,
        "legacy_shown": stamps["own_nav"] - stamps["nav"],  # a frame or two when the first menu was the app's own
        "first_menu_own": float(all(t in first_menu for t in APP_TITLES)),  # 1: the first menu held the app's titles
    }


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with contextlib.ExitStack() as stack:
        before = stack.enter_context(_checkout(BEFORE))
        after = stack.enter_context(_checkout(AFTER)) if AFTER else ROOT
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        stack.callback(browser.close)
        for i in range(TRIES):
            for name, tree in (("before", before), ("after", after)):
                r = _one(browser, tree)
                results[name].append(r)
                times = "  ".join(f"{k} {v:5.2f} s" for k, v in r.items() if k != "first_menu_own")
                own = "the app's own" if r["first_menu_own"] else "NOT the app's own"
                print(f"try {i + 1} {name:6}  {times}  first menu: {own}", flush=True)

    print(f"\nmedian of {TRIES} fresh servers each, seconds from `streamlit run app.py`")
    print(f"before = {BEFORE}, after = {AFTER or 'the working tree'}")
    print(f"{'':34}{'before':>8}{'after':>8}{'after/before':>14}")
    rows = (
        ("server answers", "server"),
        ("app's own navigation visible", "own_nav"),
        ("ResNet-50's graph on Home", "graph"),
        ("legacy pages/ list shown for", "legacy_shown"),
    )
    for label, key in rows:
        b, a = _median(results["before"], key), _median(results["after"], key)
        ratio = f"{a / b:.2f}x" if b > 0 else "-"
        print(f"{label:34}{b:8.2f}{a:8.2f}{ratio:>14}")
    for name in ("before", "after"):
        gap = statistics.median(r["graph"] - r["server"] for r in results[name])
        owns = sum(int(r["first_menu_own"]) for r in results[name])
        print(f"{name}: graph {gap:.2f} s after the server answers (goal: within 3 s); first menu the app's own in "
              f"{owns} of {len(results[name])}")  # fmt: skip


if __name__ == "__main__":
    main()

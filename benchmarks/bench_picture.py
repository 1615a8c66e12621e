"""A picture on the explorer's graph in Chromium: ResNet-50 at 224 with the cat, random weights, the plain twin beside.

A user in the browser, each figure read in the page (``performance.now()``; a click's mouse press to the frame that
shows the result), the median of TRIES tries, all in one run against one server:
- the overlay picker: from choosing ``params`` in the graph's toolbar to both charts redrawn (ECharts' ``finished``
  with new options), against choosing an activation statistic (``act_dead`` and ``act_mean`` in turn, from
  ``params``). The ratio stat / params; target <= 1.5x.
- selecting a node by a click on it in the graph (the page opened with ``node=layer3.5.conv1``, which opens that
  block) to its 16-channel grid on screen (the caption and its image, loaded); also to its Grad-CAM. "Cold" clicks
  are nodes not selected before (their maps computed); "warm" ones revisit them (cached). Target <= 1 s.
- the baseline: the feature page as it is, ``/feature-maps?arch=resnet50&picture=cat&weights=random``, ticking
  "Every residual block too" to every grid drawn (script finished, every image loaded); unticked between tries.
Also the explorer's first load with the picture (navigation to both charts painted), cold and warm.
The server runs on CPU 0 and Chromium on CPU 1 (``taskset``), as bench_graph does.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench_graph import (
    ARGS,
    BUNDLE,
    CHROMIUM,
    LIMIT_MS,
    ROOT,
    VIEWPORT,
    WHERE,
    _patched_bundle,
    _pin,
    chromium,
    served,
)

TRIES = int(os.environ.get("BENCH_PICTURE_TRIES", "5"))
EXPLORER = "/architecture?arch=resnet50&picture=cat&weights=random"  # the toggle on: the twin beside, act_dead
FEATURES = "/feature-maps?arch=resnet50&picture=cat&weights=random"
OVERLAY = ".st-key-explorer_graph-overlay"
LABELS = {
    "params": "params",
    "act_dead": "Share of zeros after the ReLU (dead units)",
    "act_mean": "Activation mean (this picture)",
}  # locales/en: explorer.overlay_params, picture.overlay_dead, picture.overlay_mean
GOALS = {"ratio": 1.5, "select": 1.0}
START = "layer3.5.conv1"
COLD = ("layer3.5.conv2", "layer3.5.conv3", "layer3.5.bn2", "layer3.5.bn3", "layer3.5.relu2")

# Both charts drawn with options other than those they had: the `finished` event after the series' id (a digest of
# the options) changed, in every chart; the mouse press that chose stamps __t0.
ARM_CHARTS = """() => {
  const els = [...document.querySelectorAll('.echarts-container')];
  const cs = els.map(el => window.__echarts.getInstanceByDom(el));
  const before = cs.map(c => c.getOption().series[0].id);
  window.__t0 = undefined; window.__seen = cs.map(() => undefined); window.__done = undefined;
  if (!window.__armed) {
    window.__armed = true;
    window.addEventListener('mousedown', () => { window.__t0 = performance.now(); }, true);
  }
  (window.__offs || []).forEach(f => f());
  window.__offs = cs.map((c, i) => {
    const h = () => {
      const now = performance.now();
      if (window.__t0 === undefined || window.__seen[i] !== undefined) return;
      if (c.getOption().series[0].id === before[i]) return;
      window.__seen[i] = now;
      if (window.__seen.every(t => t !== undefined)) window.__done = Math.max(...window.__seen);
    };
    c.on('finished', h);
    return () => c.off('finished', h);
  });
  return cs.length;
}"""

# The selected node's grid on screen: its caption, and the image in the same column loaded; its Grad-CAM likewise.
ARM_NODE = """node => {
  window.__t0 = undefined; window.__grid = undefined; window.__cam = undefined;
  if (!window.__armed) {
    window.__armed = true;
    window.addEventListener('mousedown', () => { window.__t0 = performance.now(); }, true);
  }
  const shown = text => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
    .filter(c => c.textContent.includes(text)).some(c => {
      const col = c.closest('[data-testid="stColumn"]');
      const img = col && col.querySelector('[data-testid="stImage"] img, img');
      return img && img.complete && img.naturalWidth > 0 && !c.closest('[data-stale="true"]');
    });
  const tick = () => {
    const now = performance.now();
    if (window.__t0 !== undefined) {
      if (window.__grid === undefined && shown(node + "'s 16 strongest channels")) window.__grid = now;
      if (window.__cam === undefined && shown('Grad-CAM at ' + node + ' for')) window.__cam = now;
    }
    if (window.__grid === undefined || window.__cam === undefined) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

# The feature page after ticking "Every residual block too": the script finished and more images than before, all
# loaded, on one frame.
ARM_GRIDS = """before => {
  window.__t0 = undefined; window.__done = undefined;
  if (!window.__armed) {
    window.__armed = true;
    window.addEventListener('mousedown', () => { window.__t0 = performance.now(); }, true);
  }
  const tick = () => {
    const now = performance.now();
    const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
    if (window.__t0 !== undefined && imgs.length > before && imgs.every(i => i.complete && i.naturalWidth > 0)
        && document.querySelector('[data-testid="stStatusWidget"]') === null
        && ![...document.querySelectorAll('[data-stale="true"]')].length) { window.__done = now; return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
IMAGES = "() => document.querySelectorAll('[data-testid=\"stImage\"] img').length"
IDLE = "() => document.querySelector('[data-testid=\"stStatusWidget\"]') === null"
# From navigation: both charts painted with the picture's overlay (two ECharts instances with a visual map).
PAINTED = """() => [...document.querySelectorAll('.echarts-container[_echarts_instance_]')].filter(el => {
  const c = window.__echarts && window.__echarts.getInstanceByDom(el);
  return c && c.getOption().visualMap && c.getOption().visualMap.length; }).length === 2"""


def _idle(page: Any) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=LIMIT_MS)
    page.wait_for_timeout(500)


def _context(browser: Any, bundle: tuple[str, str]) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    context.route(BUNDLE, lambda route: route.fulfill(body=bundle[1], content_type="text/javascript"))
    return context


def _open(context: Any, url: str) -> tuple[Any, float]:
    """A page on ``url``: ms from navigation to both charts painted with the picture's overlay."""
    page = context.new_page()
    page.set_default_timeout(LIMIT_MS)
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(PAINTED, timeout=LIMIT_MS, polling="raf")
    ms = (time.perf_counter() - t0) * 1000
    _idle(page)
    return page, ms


def _choose(page: Any, name: str) -> float:
    """ms from the press on the overlay ``name`` in the toolbar's picker to both charts redrawn."""
    box = page.locator(f"{OVERLAY} input[role='combobox']")
    box.scroll_into_view_if_needed()
    box.click()
    option = page.get_by_role("option", name=LABELS[name], exact=True)
    option.wait_for()
    assert page.evaluate(ARM_CHARTS) == 2, "the net and its twin should both be drawn"
    option.click()
    page.wait_for_function("() => window.__done !== undefined", timeout=LIMIT_MS, polling="raf")
    ms = float(page.evaluate("() => window.__done - window.__t0"))
    _idle(page)
    return ms


def _overlays(page: Any) -> tuple[list[float], list[float]]:
    """Alternating from the page's act_dead: params, a statistic (act_dead, act_mean in turn), params, ..."""
    params: list[float] = []
    stats: list[float] = []
    for i in range(TRIES):
        params.append(_choose(page, "params"))
        stats.append(_choose(page, "act_mean" if i % 2 else "act_dead"))
    return params, stats


def _click_node(page: Any, node: str) -> tuple[float, float]:
    """ms from a press on ``node`` in the residual net's chart to its grid on screen, and to its Grad-CAM."""
    x, y, inside = page.evaluate(WHERE, node)
    if not inside:
        raise RuntimeError(f"{node} is not on screen")
    page.evaluate(ARM_NODE, node)
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => window.__grid !== undefined && window.__cam !== undefined", timeout=LIMIT_MS, polling="raf"
    )
    grid, cam = page.evaluate("() => [window.__grid - window.__t0, window.__cam - window.__t0]")
    _idle(page)
    return float(grid), float(cam)


def _nodes(page: Any) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Cold: each of COLD selected for the first time; warm: each again (its maps cached)."""
    cold = [_click_node(page, n) for n in COLD[:TRIES]]
    warm = [_click_node(page, n) for n in COLD[:TRIES]]
    return cold, warm


def _features(browser: Any, url: str) -> list[float]:
    """The feature page: ticking "Every residual block too" to every grid drawn; unticked between tries."""
    context = browser.new_context(viewport=VIEWPORT)
    out: list[float] = []
    try:
        page = context.new_page()
        page.set_default_timeout(LIMIT_MS)
        page.goto(url + FEATURES)
        page.get_by_text("Every residual block too").wait_for()
        page.wait_for_function(f"() => ({IMAGES})() > 3", timeout=LIMIT_MS)
        _idle(page)
        box = page.get_by_text("Every residual block too")
        for _ in range(TRIES):
            page.evaluate(ARM_GRIDS, page.evaluate(IMAGES))
            box.click()
            page.wait_for_function("() => window.__done !== undefined", timeout=LIMIT_MS, polling="raf")
            out.append(float(page.evaluate("() => window.__done - window.__t0")))
            _idle(page)
            box.click()  # off again
            _idle(page)
    finally:
        context.close()
    return out


def _measure(browser: Any, url: str) -> dict[str, Any]:
    load = os.getloadavg()
    bundle = _patched_bundle(browser, url)
    context = _context(browser, bundle)
    try:
        page, first_cold = _open(context, url + EXPLORER)
        page.close()
        page, first_warm = _open(context, url + EXPLORER)
        params, stats = _overlays(page)
        page.close()
        page, _ = _open(context, f"{url}{EXPLORER}&node={START}")
        page.locator(".echarts-container").first.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
            f'.some(c => c.textContent.includes("{START}\'s 16 strongest"))',
            timeout=LIMIT_MS,
        )
        _idle(page)
        cold, warm = _nodes(page)
    finally:
        context.close()
    features = _features(browser, url)
    return {"first": (first_cold, first_warm), "params": params, "stats": stats, "cold": cold, "warm": warm,
            "features": features, "load": (load, os.getloadavg())}  # fmt: skip


def _report(m: dict[str, Any]) -> None:
    med = statistics.median
    params, stats = med(m["params"]) / 1000, med(m["stats"]) / 1000
    grid_cold, cam_cold = (med(t[i] for t in m["cold"]) / 1000 for i in (0, 1))
    grid_warm, cam_warm = (med(t[i] for t in m["warm"]) / 1000 for i in (0, 1))
    feat_cold, feat_warm = m["features"][0] / 1000, med(m["features"][1:] or m["features"]) / 1000
    pins = "server on CPU 0, Chromium on CPU 1" if _pin(1) else "not pinned (no taskset or no second CPU)"
    before, after = (", ".join(f"{x:.2f}" for x in la) for la in m["load"])
    print(f"a picture on the graph in Chromium: ResNet-50 @224, the cat, random weights, net and plain twin; median of "
          f"{TRIES} tries ({pins}); load average (1, 5, 15 min) before {before}, after {after}")  # fmt: skip
    rows = [
        ("explorer with the picture: navigation -> both charts painted", f"{m['first'][1] / 1000:.2f} s",
         f"cold (stats computed) {m['first'][0] / 1000:.2f} s"),
        ("overlay picker: choose params -> both charts redrawn", f"{params:.2f} s",
         f"tries {', '.join(f'{t / 1000:.2f}' for t in m['params'])}"),
        ("overlay picker: choose act_dead / act_mean -> redrawn", f"{stats:.2f} s",
         f"tries {', '.join(f'{t / 1000:.2f}' for t in m['stats'])}"),
        ("click a node (layer3.5.*) -> its grid visible, cold", f"{grid_cold:.2f} s",
         f"its Grad-CAM {cam_cold:.2f} s; nodes {', '.join(COLD[:TRIES])}"),
        ("click a node again -> its grid visible, warm", f"{grid_warm:.2f} s", f"its Grad-CAM {cam_warm:.2f} s"),
        ("baseline: feature page, tick every block -> grids drawn", f"{feat_warm:.2f} s",
         f"cold (first tick) {feat_cold:.2f} s; tries {', '.join(f'{t / 1000:.2f}' for t in m['features'])}"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>7}   {note}")
    ratio = stats / params
    print(f"  ratio stat / params: {ratio:.2f}x (target <= {GOALS['ratio']:g}x: "
          f"{'meets' if ratio <= GOALS['ratio'] else 'misses'})")  # fmt: skip
    print(f"  node grid, cold: {grid_cold:.2f} s (target <= {GOALS['select']:g} s: "
          f"{'meets' if grid_cold <= GOALS['select'] else 'misses'}); warm {grid_warm:.2f} s")  # fmt: skip
    print(
        f"  node grid / feature page every block: cold {grid_cold / feat_cold:.2f}x, warm {grid_warm / feat_warm:.2f}x"
    )


def main() -> None:
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, served(ROOT) as (_, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(Path(tmp)), args=ARGS)
        try:
            measured = _measure(browser, url)
        finally:
            browser.close()
    _report(measured)

"""The interactive graph in Chromium: hover an edge for its shape, click a block open, search a layer, a node= link in
both languages, a bad link, a search with no match, and the plain twin opening with the net.

The chart is ECharts inside streamlit-echarts (a components-v2 component, drawn in the page itself, not an iframe).
Its bundle keeps ``echarts`` to itself; the one place it names it is where event handlers are made
(``{echarts, chart}``), so `expose_echarts` serves the bundle with one line added at its end that hands that binding
to ``window``. Node positions then come from ECharts' own ``convertToPixel``, and the drawn nodes from ``getOption``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision.models as tv

from resnet_viz.graph.layout import layout
from resnet_viz.graph.model import hierarchy
from resnet_viz.graph.units import human_bytes, shape_text
from resnet_viz.graph.view import level_open, view
from resnet_viz.i18n import t
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import TraceReport, trace
from tests.conftest import chromium_page, wait_idle

pytestmark = pytest.mark.browser

BUNDLE = "**/_stcore/bidi-components/streamlit-echarts*/**/*.js"
_BINDING = re.compile(r"\{\s*echarts:\s*([\w$]+),\s*chart:")
NODE = "layer3.5.conv2"

# The ids of the drawn nodes (boxes and adds: not frames, bends, entry points or edge labels) of chart i, or null
# while it has none: the whole graph the chart holds (the items near the view, and the rest as data in `rv.all`).
DRAWN = """i => {
  const el = document.querySelectorAll('.echarts-container')[i];
  const c = el && window.__echarts && window.__echarts.getInstanceByDom(el);
  const o = c && c.getOption(), s = o && o.series;
  if (!s || !s.length || !s[0].data) return null;
  const data = o.rv && typeof o.rv.all === 'string' ? JSON.parse(o.rv.all).data : s[0].data;
  return data.filter(d => Array.isArray(d.symbolSize) && !d.name.startsWith('frame:')).map(d => d.name);
}"""
# Where item ``name`` of chart i is, in the page's viewport (the chart scrolled into view first), and the chart's size.
WHERE = """([i, name]) => {
  const el = document.querySelectorAll('.echarts-container')[i];
  el.scrollIntoView({block: 'center'});
  const c = window.__echarts.getInstanceByDom(el);
  const it = c.getOption().series[0].data.find(d => d.name === name);
  if (!it) return null;
  const [x, y] = c.convertToPixel({seriesIndex: 0}, [it.x, it.y]);
  const r = el.getBoundingClientRect();
  return {x: r.x + x, y: r.y + y, inside: x >= 0 && y >= 0 && x <= r.width && y <= r.height};
}"""
TOOLTIP = """i => [...document.querySelectorAll('.echarts-container')[i].querySelectorAll('div')]
  .filter(d => d.style.display !== 'none' && d.innerText.trim()).map(d => d.innerText).join('\\n')"""


def expose_echarts(page: Any) -> None:
    """Serve streamlit-echarts' bundle with ``window.__echarts`` set to the echarts it imports."""

    def patch(route: Any) -> None:
        response = route.fetch()
        body = response.text()
        found = _BINDING.search(body)
        assert found, "streamlit-echarts no longer hands `echarts` to event handlers; update expose_echarts"
        route.fulfill(response=response, body=f"{body}\n;window.__echarts = {found.group(1)};\n")

    page.route(BUNDLE, patch)


@pytest.fixture(scope="module")
def gpage(app_url: str) -> Iterator[Any]:
    """One Chromium page for the module, with ECharts reachable."""
    with chromium_page() as pg:
        expose_echarts(pg)
        yield pg


@pytest.fixture(scope="module")
def r50() -> TraceReport:
    return trace("resnet50")


def drawn(page: Any, i: int = 0) -> list[str]:
    """The drawn nodes of chart i once it has some."""
    page.wait_for_function(f"() => ({DRAWN})({i}) !== null")
    return list(page.evaluate(DRAWN, i))


def wait_drawn(page: Any, count: int, i: int = 0) -> list[str]:
    """The drawn nodes of chart i once there are ``count`` of them."""
    page.wait_for_function(f"() => {{ const d = ({DRAWN})({i}); return d !== null && d.length === {count}; }}")
    return drawn(page, i)


def where(page: Any, name: str, i: int = 0) -> tuple[float, float]:
    pos = page.evaluate(WHERE, [i, name])
    assert pos is not None, f"{name} is not drawn"
    assert pos["inside"], f"{name} is drawn outside the chart's view"
    return float(pos["x"]), float(pos["y"])


def load(page: Any, url: str) -> None:
    page.goto(url)
    wait_idle(page)
    if page.locator('[role="dialog"]').count():
        page.keyboard.press("Escape")
    drawn(page)


def details_cells(page: Any, heading: str, kind: str) -> list[str]:
    """The cells of the details panel's row (glide's accessible table), once the panel's heading holds ``heading``
    and its row is the one of a ``kind`` (its first cell)."""
    page.wait_for_function("n => document.querySelector('[data-testid=\"stMain\"]').innerText.includes(n)", arg=heading)
    cells = page.locator('[data-testid="stDataFrame"]').first.locator('[role="gridcell"]')
    page.wait_for_function(
        'k => { const c = document.querySelector(\'[data-testid="stDataFrame"] [role="gridcell"]\');'
        " return c !== null && c.textContent === k; }",
        arg=kind,
    )
    return [str(c.text_content()) for c in cells.all()]


def alerts(page: Any, kind: str) -> list[str]:
    """The text of every alert of ``kind`` (info, warning) in the page's main area."""
    box = page.locator(f'[data-testid="stMain"] [data-testid="stAlertContent{kind.capitalize()}"]')
    return [str(x.inner_text()).strip() for x in box.all()]


def search(page: Any, query: str) -> None:
    box = page.locator(".st-key-explorer_graph-query input")
    box.fill(query)
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_idle(page)


def layer1_block_output() -> tuple[int, ...]:
    """torchvision's resnet50.layer1[0] output (C, H, W), from its own forward pass on the meta device."""
    with torch.device("meta"):
        net = tv.resnet50()
    out: list[tuple[int, ...]] = []
    hook = net.layer1[0].register_forward_hook(lambda m, i, o: out.append(tuple(o.shape[1:])))
    net(torch.empty(1, 3, 224, 224, device="meta"))
    hook.remove()
    return out[0]


def test_hover_click_and_search(gpage: Any, app_url: str, r50: TraceReport, artifacts: Path) -> None:
    page = gpage
    load(page, f"{app_url}/architecture?arch=resnet50")
    before = drawn(page)
    assert "layer1.0" in before and "layer3.1-5" in before and NODE not in before

    # hover: the edge from layer1.0 to the add its shortcut joins carries torchvision's layer1[0] output
    shape = layer1_block_output()
    assert shape == (256, 56, 56)
    h = hierarchy(r50)
    edges = layout(view(h, level_open(h, "block", fold=True))).edges  # what the page laid out (its first view)
    [k] = [k for k, e in enumerate(edges) if (e.src, e.dst) == ("layer1.0", "layer1.0.add")]
    page.mouse.move(*where(page, f"e{k}.label"))
    page.wait_for_function(f"() => ({TOOLTIP})(0).includes('{shape_text(shape)}')")
    tip = page.evaluate(TOOLTIP, 0)
    assert human_bytes(4 * math.prod(shape)) == "3.06 MiB" and "3.06 MiB" in tip  # float32, one image

    # hover a block: its record
    page.mouse.move(*where(page, "layer1.0"))
    page.wait_for_function(f"() => ({TOOLTIP})(0).includes('layer1.0 · Bottleneck')")
    assert f"{sum(x.params for x in r50.layers if x.block == 'layer1.0'):,}" in page.evaluate(TOOLTIP, 0)

    # click: the block opens into its traced layers, in place of its node and its add
    grown = sum(1 for x in r50.layers if x.block == "layer1.0") - 2
    assert grown == 10
    page.mouse.click(*where(page, "layer1.0"))
    after = wait_drawn(page, len(before) + grown)
    assert set(after) - set(before) == {x.name for x in r50.layers if x.block == "layer1.0"} - {"layer1.0.add"}
    assert "node=layer1.0" in page.url

    # search: the layer is selected, drawn in view, and its row shows its shape and params
    search(page, NODE)
    cells = details_cells(page, NODE, "Conv2d")
    assert "256×14×14" in cells and "589,824" in cells and "1×1" in cells
    assert NODE in drawn(page)
    where(page, NODE)  # centred in the chart's view
    assert f"node={NODE}" in page.url
    page.locator(".st-key-explorer_graph-chart-net").screenshot(path=str(artifacts / "graph_resnet50_layer3.png"))

    # no match: one sentence, the graph still drawn
    search(page, "conv9")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stAlertContentInfo\"]') !== null")
    assert alerts(page, "info") == [t("graph.no_match", "en", query="conv9")]
    assert drawn(page) and page.locator('[data-testid="stException"]').count() == 0


def test_links_in_both_languages_and_a_bad_one(gpage: Any, app_url: str) -> None:
    page = gpage
    for lang in ("en", "zh"):
        load(page, f"{app_url}/architecture?arch=resnet50&node={NODE}&lang={lang}")
        cells = details_cells(page, f"{t('graph.details', lang)} · {NODE}", "Conv2d")
        assert "256×14×14" in cells and "589,824" in cells
        assert NODE in drawn(page)
        where(page, NODE)
        assert alerts(page, "warning") == []
    load(page, f"{app_url}/architecture?arch=resnet50&node=layer9.9")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stAlertContentWarning\"]') !== null")
    assert alerts(page, "warning") == [t("graph.bad_node", "en", node="layer9.9")]
    assert "layer1.0" in drawn(page) and page.locator('[data-testid="stException"]').count() == 0


def test_the_twin_opens_with_the_net(gpage: Any, app_url: str, artifacts: Path) -> None:
    page = gpage
    load(page, f"{app_url}/architecture?arch=resnet18")
    page.locator(".st-key-explorer_twin label").click()
    page.wait_for_function("() => document.querySelectorAll('.echarts-container').length === 2")
    wait_idle(page)
    net, plain = drawn(page, 0), drawn(page, 1)
    assert "layer2.0" in net and "layer2.0" in plain
    layers = set(hierarchy(trace("resnet18"))["layer2.0"].children)
    plain_layers = set(hierarchy(trace(preset("resnet18", plain=True)))["layer2.0"].children)
    assert layers - plain_layers == {"layer2.0.add", "layer2.0.downsample.0", "layer2.0.downsample.1"}
    # click on the plain twin (right): the block opens on both sides
    page.mouse.click(*where(page, "layer2.0", 1))
    after_plain = wait_drawn(page, len(plain) - 1 + len(plain_layers), 1)
    after_net = wait_drawn(page, len(net) - 2 + len(layers), 0)
    assert layers <= set(after_net) and plain_layers <= set(after_plain)
    assert not set(after_plain) & {"layer2.0.add", "layer2.0.downsample.0"}  # the plain twin: no shortcut
    page.screenshot(path=str(artifacts / "graph_twin_linked.png"))


# What chart 0 holds: its items, the whole graph's, whether labels show, and whether the node nearest the chart's
# centre is among the items held (the view always has what is under it).
HELD = """() => {
  const el = document.querySelector('.echarts-container');
  const c = window.__echarts.getInstanceByDom(el), o = c.getOption(), s = o.series[0];
  const all = o.rv && typeof o.rv.all === 'string' ? JSON.parse(o.rv.all).data : s.data;
  const [x, y] = c.convertFromPixel({seriesIndex: 0}, [c.getWidth() / 2, c.getHeight() / 2]);
  const boxes = all.filter(d => Array.isArray(d.symbolSize) && !d.name.startsWith('frame:'));
  const near = boxes.reduce((a, d) => Math.hypot(d.x - x, d.y - y) < Math.hypot(a.x - x, a.y - y) ? d : a);
  return {held: s.data.length, all: all.length, labels: s.label.show, near: near.name,
          nearHeld: s.data.some(d => d.name === near.name)};
}"""


def test_resnet1202_all_open_holds_only_what_is_near_the_view(gpage: Any, app_url: str, artifacts: Path) -> None:
    page = gpage
    load(page, f"{app_url}/architecture?arch=resnet1202")
    page.locator(".st-key-explorer_graph-open_all button").click()
    wait_drawn(page, 600 * 7 + 3 + 2 + 2 + 2)  # every layer (as test_explorer_app counts them)
    first = page.evaluate(HELD)
    assert first["labels"] and first["nearHeld"] and first["held"] < first["all"] / 50
    page.locator(".echarts-container").scroll_into_view_if_needed()
    box = page.locator(".echarts-container").bounding_box()
    x = box["x"] + box["width"] / 2
    for _ in range(8):  # drag the graph up, 600 px at a time: further down the net comes into view
        page.mouse.move(x, box["y"] + 650)
        page.mouse.down()
        page.mouse.move(x, box["y"] + 50, steps=10)
        page.mouse.up()
    page.wait_for_function(f"() => {{ const h = ({HELD})(); return h.nearHeld && h.near !== {first['near']!r}; }}")
    later = page.evaluate(HELD)
    assert later["near"].startswith("layer1.") and later["held"] < later["all"] / 50
    page.locator(".st-key-explorer_graph-chart-net").screenshot(path=str(artifacts / "graph_resnet1202_panned.png"))
    for _ in range(10):  # zoom out: more of the net is held, and its labels go (too small to read)
        page.mouse.move(x, box["y"] + 360)
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(100)
    page.wait_for_function(f"() => {{ const h = ({HELD})(); return !h.labels && h.held > {later['held']}; }}")
    assert page.evaluate(HELD)["nearHeld"]

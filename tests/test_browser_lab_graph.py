"""The lab's graph overlay in Chromium: after a short run, the value painted on a layer at a chosen step, in the
net and in its plain twin, is the gradient norm the run store holds for that layer and step; "Show on the net"
off, the graph is gone and the plots stay.

ECharts is reached as in tests/test_browser_graph.py (`expose_echarts`); the store is the one the app server uses.
"""

from __future__ import annotations

from typing import Any

import pytest

from resnet_viz.i18n import t
from resnet_viz.lab.config import NetName
from resnet_viz.lab.store import RunStore
from tests.conftest import APP_STORES, wait_idle
from tests.test_browser_graph import expose_echarts

pytestmark = pytest.mark.browser

LAYER = "layer1.0.conv1"
NETS: tuple[NetName, NetName] = ("residual", "plain")  # chart 0 and chart 1
STEPS = 4
CHOSEN = 2  # the step picked with the slider (the graph follows the latest step until asked otherwise)
# Chart i's item ``name``: its value, its tooltip, and the overlay's label over the legend; null while not drawn.
ITEM = """([i, name]) => {
  const el = document.querySelectorAll('.echarts-container')[i];
  const c = el && window.__echarts && window.__echarts.getInstanceByDom(el);
  const o = c && c.getOption();
  const it = o && o.series && o.series[0].data && o.series[0].data.find(d => d.name === name);
  if (!it) return null;
  return {value: it.value, tip: it.tooltip.formatter, label: o.title && o.title[0] ? o.title[0].text : null};
}"""


def _item(page: Any, i: int, label: str) -> dict[str, Any]:
    """Chart i's item for LAYER once the overlay it shows is ``label``."""
    page.wait_for_function(
        f"() => {{ const it = ({ITEM})([{i}, {LAYER!r}]); return it !== null && it.label === {label!r}; }}"
    )
    return dict(page.evaluate(ITEM, [i, LAYER]))


def _stored(store: RunStore, rid: str, net: NetName, step: int) -> float:
    """The gradient norm the store holds for LAYER of ``net`` at ``step``."""
    layers = store.get(rid).nets[net].layers
    [row] = [r for r in store.metrics(rid, net) if r.step == step]
    return row.norms[layers.index(LAYER)]


def test_the_overlay_on_a_layer_is_the_stored_gradient_norm(page: Any, app_url: str) -> None:
    expose_echarts(page)
    page.goto(f"{app_url}/gradient-lab")
    page.get_by_text("Reference run: trained before class").wait_for(timeout=180_000)
    wait_idle(page, 180)
    for label, value in (("Depth (6n+2 or 9n+2)", 8), ("Steps", STEPS), ("Seed", 17), ("Batch size", 8)):
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page, 60)
    page.get_by_role("button", name="Start").click()
    page.wait_for_function(  # the run has finished: the page shows its last step
        "re => new RegExp(re).test(document.querySelector('[data-testid=\"stMain\"]').innerText)",
        arg=f"Step {STEPS} of {STEPS} · [^·]+ · finished",
        timeout=300_000,
    )
    wait_idle(page, 60)
    rid = page.evaluate("new URLSearchParams(location.search).get('run')")
    # the layer is inside a folded block: a search opens it in both charts (one state)
    box = page.locator(".st-key-lab_graph-query input")
    box.fill(LAYER)
    box.press("Enter")
    wait_idle(page, 60)
    latest = t("lab.graph_overlay", "en", step=STEPS)
    store = RunStore(APP_STORES[app_url])
    try:
        for i, net in enumerate(NETS):
            item = _item(page, i, latest)
            assert item["value"] == _stored(store, rid, net, STEPS)
        # a chosen step: follow off, the slider moved back from the latest step
        page.locator(".st-key-lab_graph_follow label").click()
        wait_idle(page, 60)
        thumb = page.locator(".st-key-lab_graph_step input")  # the slider's thumb
        thumb.focus()
        for _ in range(STEPS - CHOSEN):
            thumb.press("ArrowLeft")
        wait_idle(page, 60)
        chosen = t("lab.graph_overlay", "en", step=CHOSEN)
        for i, net in enumerate(NETS):
            item = _item(page, i, chosen)
            stored = _stored(store, rid, net, CHOSEN)
            assert item["value"] == stored  # exactly the stored float
            assert f"<b>{chosen}: {stored:.3g}</b>" in item["tip"]  # and its digits in the hover text
        assert _stored(store, rid, "residual", CHOSEN) != _stored(store, rid, "residual", STEPS)
    finally:
        store.close()
    # "Show on the net" off: no graph, the five plots stay
    page.locator(".st-key-lab_graph_show label").click()
    page.wait_for_function("() => document.querySelectorAll('.echarts-container').length === 0")
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 5
    assert page.locator('[data-testid="stException"]').count() == 0
    # and on again: both graphs come back
    page.locator(".st-key-lab_graph_show label").click()
    page.wait_for_function("() => document.querySelectorAll('.echarts-container').length === 2")
    assert page.locator('[data-testid="stException"]').count() == 0

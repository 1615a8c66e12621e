"""The gradient lab through AppTest: runs are submitted to the engine and read back from the store."""

from __future__ import annotations

import json
import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from resnet_viz import cifar_spec
from resnet_viz.i18n import t
from resnet_viz.lab.config import NetName, RunConfig
from resnet_viz.lab.gradients import layer_weights
from resnet_viz.lab.store import MetricRow, RunStore
from resnet_viz.nets.build import build
from tests.conftest import open_page
from tests.test_graph_app import charts, items

LAYER = "layer1.0.conv1"
SHOW = "lab_graph_show"  # resnet_viz.ui.lab.graph.SHOW: "Show on the net"


@pytest.fixture
def store(app_store: RunStore) -> RunStore:
    return app_store


def lab(run: str | None = None) -> AppTest:
    return open_page("pages/gradients.py", run=run)


def _charts(at: AppTest) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _finished_run(store: RunStore) -> str:
    """A run recorded by hand (3 steps, 8 layers) so the plots can be checked against known numbers."""
    rid, _ = store.create(RunConfig(spec=cifar_spec(8), steps=3, batch_size=4), origin="cli")
    nets: tuple[tuple[NetName, float], ...] = (("residual", 1.0), ("plain", 0.01))
    for net, scale in nets:
        store.set_layers(rid, net, [f"l{i}" for i in range(8)])
        rows = [MetricRow(s, 2.5 - s / 10, s / 10, tuple(scale * (i + 1) * s for i in range(8))) for s in (1, 2, 3)]
        store.append(rid, net, rows, rate=1.0)
        store.mark_net_done(rid, net)
    store.set_status(rid, "done")
    return rid


def test_a_stored_run_opens_by_its_link_and_the_plots_hold_its_numbers(store: RunStore) -> None:
    rid = _finished_run(store)
    at = lab(rid)
    assert at.title[0].value == "Gradient-flow lab"
    specs = _charts(at)
    profile = next(s for s in specs if s["layout"]["yaxis"].get("type") == "log" and len(s["data"]) == 2)
    assert profile["data"][0]["y"] == [3.0 * (i + 1) for i in range(8)]
    assert profile["data"][1]["y"] == pytest.approx([0.03 * (i + 1) for i in range(8)])
    heatmaps = [s for s in specs if s["data"][0]["type"] == "heatmap"]
    assert len(heatmaps) == 2 and heatmaps[0]["data"][0]["z"]["shape"].replace(" ", "") == "8,3"
    assert len(specs) == 5
    assert "At step 3" in " ".join(m.value for m in at.markdown)
    assert len(at.get("download_button")) == 2
    # the loss curves: smoothed (TensorBoard's EMA, weight 0.6 by default) over the raw values drawn faintly
    curves = next(s for s in specs if s["layout"]["title"]["text"] == "Training loss and accuracy")
    raw, smooth = curves["data"][:2]
    assert raw["y"] == [2.4, 2.3, 2.2] and raw["opacity"] == 0.25
    assert smooth["y"] == pytest.approx([2.4, 1.496 / 0.64, 1.7776 / 0.784])  # by hand, as in test_smoothing
    at.slider(key="grad_smoothing").set_value(0.0).run()
    curves = next(s for s in _charts(at) if s["layout"]["title"]["text"] == "Training loss and accuracy")
    assert [d["y"] for d in curves["data"]] == [[2.4, 2.3, 2.2], [0.1, 0.2, 0.3]] * 2  # raw only, both nets


def test_an_unknown_run_in_the_link_is_one_sentence(store: RunStore) -> None:
    at = lab("0123456789abcdef")
    assert [e.value for e in at.error] == ["No run has the id 0123456789abcdef; pick one from the list of runs."]


def test_start_trains_in_the_engine_and_a_second_session_joins_the_same_run(store: RunStore) -> None:
    at = lab()
    at.number_input(key="grad_depth").set_value(8)
    at.number_input(key="grad_steps").set_value(6)
    at.number_input(key="grad_batch").set_value(8)
    at.button(key="grad_start").click().run()
    assert not at.exception
    rid = at.session_state["grad_run"]
    other = lab()
    other.number_input(key="grad_depth").set_value(8)
    other.number_input(key="grad_steps").set_value(6)
    other.number_input(key="grad_batch").set_value(8)
    other.button(key="grad_start").click().run()
    assert other.session_state["grad_run"] == rid  # one shared run
    assert [r.id for r in store.runs() if not r.reference] == [rid]
    deadline = time.monotonic() + 240
    while store.status(rid) != "done":
        assert time.monotonic() < deadline, store.status(rid)
        at.run()  # the page's poll also keeps the run's tasks alive
        time.sleep(0.5)
    at.run()
    assert not at.exception and len(_charts(at)) == 5
    assert [r.step for r in store.metrics(rid, "plain")] == list(range(1, 7))


def test_a_bad_scheduler_address_is_one_sentence_and_the_page_keeps_working(store: RunStore) -> None:
    os.environ["RESNET_VIZ_SCHEDULER"] = "tcp://127.0.0.1:1"
    try:
        at = lab()
        at.number_input(key="grad_depth").set_value(8)
        at.button(key="grad_start").click().run()
        assert not at.exception
        assert [e.value for e in at.error][0].startswith("No training scheduler answers at tcp://127.0.0.1:1")
        assert at.number_input(key="grad_depth").value == 8  # the controls are still there
    finally:
        del os.environ["RESNET_VIZ_SCHEDULER"]


def test_sweep_mode_and_a_bad_depth_list(store: RunStore) -> None:
    at = lab()
    at.segmented_control(key="grad_mode").set_value("sweep").run()
    at.text_input(key="grad_sweep_depths").set_value("20,57")
    at.button(key="grad_start").click().run()
    assert [e.value for e in at.error] == ["Depths must be 6n+2 numbers separated by commas, like 20,56; got '20,57'."]


def test_the_graph_paints_the_stored_norm_of_a_layer_at_the_step_shown_and_hides_on_request(store: RunStore) -> None:
    spec = cifar_spec(8)
    layers = [name for name, _ in layer_weights(build(spec, device="meta"))]
    rid, _ = store.create(RunConfig(spec=spec, steps=3, batch_size=4), origin="cli")
    nets: tuple[tuple[NetName, float], ...] = (("residual", 0.1234567891), ("plain", 0.0098765431))
    for net, scale in nets:
        store.set_layers(rid, net, layers)
        rows = [MetricRow(s, 2.0, 0.1, tuple(scale * (i + 1) * s**2 for i in range(len(layers)))) for s in (1, 2, 3)]
        store.append(rid, net, rows, rate=1.0)
    store.set_status(rid, "done")
    at = lab(rid)
    at.text_input(key="lab_graph.query").set_value(LAYER).run()  # opens its block in both charts
    ours, twin = charts(at)
    k = layers.index(LAYER)
    assert items(ours)[LAYER]["value"] == 0.1234567891 * (k + 1) * 9  # the latest step, exactly as stored
    assert items(twin)[LAYER]["value"] == 0.0098765431 * (k + 1) * 9
    at.toggle(key="lab_graph_follow").set_value(False).run()
    at.slider(key="lab_graph_step").set_value(2).run()
    ours, twin = charts(at)
    label = t("lab.graph_overlay", "en", step=2)
    stored = store.metrics(rid, "residual")[1].norms[k]
    assert ours["title"]["text"] == label and items(ours)[LAYER]["value"] == stored
    assert f"<b>{label}: {stored:.3g}</b>" in items(ours)[LAYER]["tooltip"]["formatter"]
    assert items(twin)[LAYER]["value"] == store.metrics(rid, "plain")[1].norms[k]
    at.toggle(key=SHOW).set_value(False).run()
    assert not at.exception and charts(at) == [] and len(_charts(at)) == 5  # the plots alone
    at.toggle(key=SHOW).set_value(True).run()
    assert len(charts(at)) == 2

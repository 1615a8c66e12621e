"""The Insights page through AppTest: a finished run opens by its link with five sections; stored results draw
at once; Compute runs a job in the engine with a progress bar until its figure appears."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
import torch
from safetensors.torch import save
from streamlit.testing.v1 import AppTest

from resnet_viz import build, cifar_spec
from resnet_viz.graph.echarts import all_items
from resnet_viz.i18n import t
from resnet_viz.lab.config import RunConfig
from resnet_viz.lab.defaults import DEFAULT
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.insights.jobs import run_insight
from resnet_viz.lab.insights.kinds import normalize
from resnet_viz.lab.reference import reference_for
from resnet_viz.lab.store import RunStore
from tests.conftest import open_page


@pytest.fixture
def store(app_store: RunStore) -> RunStore:
    return app_store


CONFIG = RunConfig(spec=cifar_spec(8), steps=3, batch_size=4, seed=5)
TABS = ["Loss landscape", "Lesions", "Receptive fields", "Responses", "Shattered gradients"]


def finished_run(store: RunStore, config: RunConfig = CONFIG) -> str:
    """A run recorded by hand: the nets as the run's seed builds them, stored as its final weights."""
    rid, _ = store.create(config, origin="cli")
    for net, spec in config.specs().items():
        torch.manual_seed(config.seed)
        weights = build(spec.replace(num_classes=10), device="cpu").state_dict()
        store.put_blob(rid, net, "final", config.steps, save({k: v.contiguous() for k, v in weights.items()}))
        store.mark_net_done(rid, net)
    store.set_status(rid, "done")
    return rid


def page(run: str | None = None, lang: str | None = None) -> AppTest:
    return open_page("pages/why_residual.py", run=run, lang=lang)


def charts(at: AppTest) -> dict[str, dict[str, Any]]:
    """Every plotly chart on the page by its title."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def test_a_finished_run_opens_by_its_link_with_five_sections_and_stored_results_drawn(store: RunStore) -> None:
    rid = finished_run(store)
    other = finished_run(store, CONFIG.__class__(**{**CONFIG.__dict__, "seed": 6}))  # the newest: the default
    run_insight("responses", rid, normalize("responses", {}, CONFIG), store.url)  # the page's default settings
    at = page(rid)
    assert at.title[0].value == t("insights.page.title")
    assert [tab.label for tab in at.tabs] == TABS
    assert at.selectbox(key="ins_run").value == rid and other != rid
    drawn = charts(at)
    responses = drawn[t("insights.responses_title")]
    assert [d["name"] for d in responses["data"] if d.get("showlegend", True)] == ["Residual net", "Plain net"]
    assert len(responses["data"][0]["y"]) == 7  # one std per 3×3 conv of a depth-8 net
    text = " ".join(m.value for m in at.markdown)
    assert "He et al.'s reading: the residual net's mean response std is" in text
    assert t("insights.shattered_title") in drawn and t("insights.autocorr_title") in drawn  # the toy nets, here
    assert t("insights.landscape_title") not in drawn  # not computed: a Compute button and a sentence instead
    assert len([b for b in at.button if b.key and b.key.startswith("ins_") and b.key.endswith("_compute")]) == 4
    # the stored stds on the net (residual, then the plain twin): exactly the record's, in forward order
    graphs = [json.loads(e.proto.json)["options"] for e in at.get("bidi_component")]
    on_net = [[d["value"] for d in all_items(g)[0] if d.get("value") is not None] for g in graphs]
    forward = [list(d["y"]) for d in responses["data"] if d.get("xaxis", "x") == "x"]  # the forward-order panel
    assert len(on_net) == 2 and on_net[0] != on_net[1] and all(v in forward for v in on_net)
    assert on_net[0] == list(responses["data"][0]["y"])  # the residual net's, exactly
    assert len(at.info) == 4 and at.info[0].value.startswith("Not computed for these settings yet")


def test_a_bad_link_is_one_sentence_and_the_defaults_reference_run_opens_instead(store: RunStore) -> None:
    rid = finished_run(store)
    at = page("0123456789abcdef")
    assert [e.value for e in at.error] == ["No run has the id 0123456789abcdef; pick one from the list of runs."]
    # the shipped reference runs are copied into the store on first start; without them, the newest finished run
    reference = reference_for(store, DEFAULT)
    assert at.selectbox(key="ins_run").value == (reference.id if reference is not None else rid)
    queued, _ = store.create(CONFIG.__class__(**{**CONFIG.__dict__, "seed": 8}), origin="cli")
    at = page(queued, lang="zh")
    assert at.error[0].value.startswith(f"运行 {queued} 尚未结束")
    assert at.title[0].value == t("insights.page.title", "zh")
    assert [tab.label for tab in at.tabs][0] == t("insights.page.tab_landscape", "zh")


def test_compute_runs_the_job_in_the_engine_until_its_figure_appears(store: RunStore) -> None:
    rid = finished_run(store)
    eng = Engine("")
    os.environ["RESNET_VIZ_SCHEDULER"] = str(eng.client.scheduler.address)
    try:
        at = page(rid)
        at.number_input(key="ins_lesion_images").set_value(8)
        at.number_input(key="ins_lesion_draws").set_value(2)
        at.button(key="ins_lesion_compute").click().run()
        assert not at.exception
        bars = [b.proto for b in at.get("progress")]  # the job runs: a progress bar, polled while it is pending
        assert bars or t("insights.lesion_title") in charts(at)
        assert all(b.text.startswith("Computing in the engine's workers") for b in bars)
        deadline = time.monotonic() + 240
        while t("insights.lesion_title") not in charts(at):
            assert time.monotonic() < deadline
            time.sleep(0.5)
            at.run()  # what the page's one-second poll does
            assert not at.exception
        assert t("insights.lesion_k_title") in charts(at)
        assert any(m.value.startswith("Residual net: error") for m in at.markdown)
        assert store.get_result(rid, "lesion:progress", next(iter(_progress_keys(store, rid)))) == 1.0
    finally:
        del os.environ["RESNET_VIZ_SCHEDULER"]
        eng.close()


def _progress_keys(store: RunStore, rid: str) -> list[str]:
    import sqlalchemy as sa

    with store.engine.connect() as c:
        q = sa.text("SELECT key FROM results WHERE run_id = :r AND kind = 'lesion:progress'")
        return [r[0] for r in c.execute(q, {"r": rid})]

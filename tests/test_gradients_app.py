"""The gradient lab through AppTest: start a tiny run, let it finish, the plots hold its numbers; stop; errors."""

from __future__ import annotations

import json
import time

from streamlit.testing.v1 import AppTest

from resnet_viz.runner import PairRunner
from tests.conftest import ROOT


def lab() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/gradients.py").run()
    assert not at.exception
    return at


def _charts(at: AppTest) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _wait_for(runner: PairRunner, status: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 180
    while runner.status not in status:
        assert time.monotonic() < deadline, runner.status
        time.sleep(0.05)


def test_start_a_few_steps_and_the_plots_hold_data() -> None:
    at = lab()
    assert at.title[0].value == "Gradient-flow lab"
    at.number_input(key="grad_depth").set_value(8)
    at.number_input(key="grad_steps").set_value(3)
    at.number_input(key="grad_batch").set_value(8)
    at.button(key="grad_start").click().run()
    runner = at.session_state["grad_runner"]
    assert isinstance(runner, PairRunner) and runner.config.spec.depth == 8
    runner.join(180)
    at.run()  # the fragment polls a live server; AppTest needs a rerun
    assert not at.exception and runner.status == "done"
    snap = runner.snapshot()
    specs = [s for s in _charts(at).values()]
    profile = next(s for s in specs if s["layout"]["yaxis"].get("type") == "log" and len(s["data"]) == 2)
    assert profile["data"][0]["y"] == list(snap.nets["residual"].norms[-1])
    assert profile["data"][1]["y"] == list(snap.nets["plain"].norms[-1])
    heatmaps = [s for s in specs if s["data"][0]["type"] == "heatmap"]
    z = heatmaps[0]["data"][0]["z"]  # plotly ships numpy arrays as typed arrays with a shape
    assert len(heatmaps) == 2 and z["shape"].replace(" ", "") == "8,3"  # 8 layers × 3 steps
    assert len(specs) == 5
    text = " ".join(m.value for m in at.markdown)
    assert "He et al. 2015" in text and "At step 3" in text
    assert at.get("download_button")


def test_stop_ends_a_long_run_and_a_bad_lr_says_one_sentence() -> None:
    at = lab()
    at.number_input(key="grad_depth").set_value(8)
    at.number_input(key="grad_steps").set_value(100_000)
    at.number_input(key="grad_batch").set_value(4)
    at.button(key="grad_start").click().run()
    runner = at.session_state["grad_runner"]
    _wait_for(runner, ("running",))
    at.button(key="grad_stop").click().run()
    assert runner.join(10) and runner.status == "stopped"
    assert not at.exception
    # a learning rate that blows up: the run stops with one sentence naming the net and the step
    at.checkbox(key="grad_bn").uncheck()
    at.number_input(key="grad_lr").set_value(10.0)
    at.number_input(key="grad_steps").set_value(200)
    at.button(key="grad_start").click().run()
    runner = at.session_state["grad_runner"]
    runner.join(180)
    at.run()
    assert runner.status == "diverged", runner.status
    step = runner.error.values["step"]
    assert [e.value for e in at.error] == [
        f"resnet8 (depth 8) diverged at step {step} (loss nan); the run stopped. Try a lower learning rate."
    ]
    assert runner.snapshot().nets["plain"].steps == step - 1  # the other net's results stay


def test_sweep_mode_and_a_bad_depth_list() -> None:
    at = lab()
    at.segmented_control(key="grad_mode").set_value("sweep").run()
    at.text_input(key="grad_sweep_depths").set_value("20,57")
    at.button(key="grad_start").click().run()
    assert [e.value for e in at.error] == ["Depths must be 6n+2 numbers separated by commas, like 20,56; got '20,57'."]
    at.text_input(key="grad_sweep_depths").set_value("8")
    at.number_input(key="grad_sweep_steps").set_value(2)
    at.number_input(key="grad_batch").set_value(4)
    at.button(key="grad_start").click().run()
    runner = at.session_state["grad_runner"]
    runner.join(180)
    at.run()
    assert not at.exception and runner.status == "done"
    sweep = list(_charts(at).values())
    assert len(sweep) == 1 and [d["name"] for d in sweep[0]["data"]] == ["plain-resnet8 (depth 8)", "resnet8 (depth 8)"]

"""The feature-map page through Streamlit's AppTest, driven by widget key with a built-in sample."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from resnet_viz import trace
from tests.conftest import ROOT


def count(node: Any, kinds: Counter[str] | None = None) -> Counter[str]:
    """How many elements of each type the page drew (images inside columns included)."""
    kinds = Counter() if kinds is None else kinds
    kinds[str(getattr(node, "type", ""))] += 1
    for child in getattr(node, "children", {}).values():
        count(child, kinds)
    return kinds


@pytest.fixture
def at(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache, and no download: random weights
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params["arch"] = "resnet18"
    app.run()
    return app.switch_page("pages/features.py").run()


def test_sample_shows_every_stage_with_tracer_shapes(at: AppTest) -> None:
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [
        "Random weights: ImageNet weights are not in the torch cache (TORCH_HOME) and could not be downloaded. "
        "Random filters still respond to edges, so the stem's maps look plausible, but later stages show no "
        "learned shapes and the class scores mean nothing."
    ]
    heads = [m.value for m in at.markdown if m.value.startswith("**")]
    want = [f"**{s.name}** · {s.output_shape[0]} channels × {s.output_shape[1]}×{s.output_shape[2]}"
            for s in trace("resnet18", input_size=224).stages]  # fmt: skip
    assert heads == want
    kinds = count(at.main)
    # 3 preprocessing steps; 5 grids and 5 mean overlays for each of 2 nets; a channel and a Grad-CAM each
    assert kinds["image"] == 3 + 2 * 5 + 2 * 5 + 2 + 2
    assert kinds["download_button"] == 2 * 5 + 2 * 5 + 2 + 2
    assert [s.value for s in at.subheader][0] == "Preprocessing"


def test_blocks_k_size_and_grad_cam_taps(at: AppTest) -> None:
    at.select_slider(key="feat_size").set_value(128)
    at.checkbox(key="feat_blocks").set_value(True)
    at.checkbox(key="feat_twin").set_value(False)
    at.slider(key="feat_k").set_value(4).run()
    assert not at.exception and not at.error
    report = trace("resnet18", input_size=128)
    heads = [m.value.split("**")[1] for m in at.markdown if m.value.startswith("**")]
    assert sorted(heads) == sorted([s.name for s in report.stages] + [b.name for b in report.blocks])
    assert at.subheader[1].value == "The top 4 channels of every stage"
    at.selectbox(key="feat_cam_tap").set_value("layer3.1").run()
    assert not at.exception
    assert count(at.main)["image"] == 3 + 13 + 5 + 1 + 1  # one net: 13 grids (stem, 8 blocks, 4 stages)


def test_random_choice_upload_prompt_and_chinese(at: AppTest) -> None:
    at.radio(key="feat_weights").set_value("random").run()
    assert [i.value for i in at.info] == [
        "Random weights, as you chose: the stem still responds to edges, but later stages show no learned shapes "
        "and the class scores mean nothing."
    ]
    at.radio(key="feat_source").set_value("upload").run()
    assert not at.exception and [i.value for i in at.info] == ["Upload a picture, or switch to a built-in sample."]
    at.radio(key="feat_source").set_value("sample").run()
    at.selectbox(key="feat_sample").set_value("shapes")
    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception and at.title[0].value == "特征图"
    assert at.subheader[0].value == "预处理"

"""The feature-map page through Streamlit's AppTest, driven by widget key with a built-in sample; with a finished
lab run's weights, against the run's stored nets run by hand on torchvision's transform of the picture."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from torchvision import transforms as T

from resnet_viz import build, trace
from resnet_viz.i18n import t
from resnet_viz.lab.defaults import DEFAULT
from resnet_viz.lab.insights.data import held_out
from resnet_viz.lab.reference import reference_for
from resnet_viz.lab.store import RunStore
from resnet_viz.vision.samples import held_out_samples, sample_bytes
from tests.conftest import ROOT
from tests.test_features import SYNTHETIC_CLASSES, finished_pair, stored
from tests.test_insights_app import CONFIG


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


def image_captions(node: Any, found: list[str] | None = None) -> list[str]:
    """The caption of every picture the page drew, in order (those inside columns included)."""
    found = [] if found is None else found
    if str(getattr(node, "type", "")) == "image":
        found += [img.caption for img in node.proto.imgs]
    for child in getattr(node, "children", {}).values():
        image_captions(child, found)
    return found


def by_hand(net: str, weights: dict[str, torch.Tensor], png: bytes) -> torch.Tensor:
    """A stored net's logits for a picture as CIFAR-10 nets are evaluated: resize, crop 32, CIFAR-10 statistics."""
    transform = T.Compose(
        [T.Resize(32), T.CenterCrop(32), T.ToTensor(), T.Normalize([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])]
    )
    x = transform(Image.open(io.BytesIO(png)).convert("RGB"))[None]  # (1, 3, 32, 32)
    model = build(CONFIG.specs()[net].replace(num_classes=10), device="cpu")  # type: ignore[index]
    model.load_state_dict(weights)
    with torch.no_grad():
        return model.eval()(x)[0]  # (10,)


def lab_run(at: AppTest, rid: str) -> AppTest:
    at.radio(key="feat_weights").set_value("lab").run()
    return at.selectbox(key="feat_run").set_value(rid).run()


def assert_nets_as_by_hand(at: AppTest, store: RunStore, rid: str, png: bytes) -> None:
    """Top five from the stored residual net, Grad-CAM's class and score from the stored plain net itself."""
    p = torch.softmax(by_hand("residual", stored(store, rid, "residual"), png).double(), 0)
    order = torch.argsort(-p, stable=True)[:5].tolist()
    rows = at.dataframe[0].value
    assert list(rows["class"]) == [SYNTHETIC_CLASSES[i] for i in order]
    assert list(rows["probability"]) == [f"{float(p[i]):.1%}" for i in order]
    own = stored(store, rid, "plain")
    plain = by_hand("plain", own, png)
    cls = int(plain.argmax())
    cams = [c for c in image_captions(at.main) if " · class " in c]
    title = "plain-resnet8 (depth 8)"
    assert cams[1] == f"{title} · class {SYNTHETIC_CLASSES[cls]} at layer3 (8×8), score {plain[cls]:.3g}"
    # the residual net's weights copied into the plain net (a twin, as for ImageNet weights) would score otherwise
    copied = {**own, **{k: v for k, v in stored(store, rid, "residual").items() if k in own}}
    assert f"{by_hand('plain', copied, png).max():.3g}" != f"{plain[cls]:.3g}"


def test_a_finished_lab_run_shows_its_own_two_nets_on_a_32_pixel_input(at: AppTest, app_store: RunStore) -> None:
    rid = finished_pair(app_store)
    at.selectbox(key="feat_sample").set_value("shapes")
    lab_run(at, rid)
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Weights of the finished lab run resnet8 (depth 8) · seed 5 · lr 0.1 · ")
    assert at.caption[1].value == (
        "The run's architecture, resnet8 (depth 8) at 32×32 inputs, replaces the sidebar's choice while a lab run is "
        "chosen."
    )
    heads = [m.value for m in at.markdown if m.value.startswith("**")]  # the run's net, not the sidebar's ResNet-18
    want = [f"**{s.name}** · {s.output_shape[0]} channels × {s.output_shape[1]}×{s.output_shape[2]}"
            for s in trace(CONFIG.spec, input_size=32).stages]  # fmt: skip
    assert heads == want and heads[-1] == "**layer3** · 64 channels × 8×8"  # 32 / 2 / 2
    assert image_captions(at.main)[:3] == [
        "1. Your picture, upright: 320×320",
        "2. Resized, shorter side 32: 32×32",
        "3. Center crop 32×32: what the net sees",
    ]
    assert_nets_as_by_hand(at, app_store, rid, sample_bytes("shapes"))


def test_a_held_out_image_of_the_lab_data_with_its_true_class(at: AppTest, app_store: RunStore) -> None:
    rid = finished_pair(app_store)
    lab_run(at, rid)
    at.radio(key="feat_source").set_value("held_out").run()
    pick = at.selectbox(key="feat_held_out")
    _, labels = held_out(20)
    assert pick.options == [f"#{i} · {SYNTHETIC_CLASSES[int(y)]}" for i, y in enumerate(labels)]
    pick.set_value(3).run()
    assert not at.exception and not at.error
    assert image_captions(at.main)[0] == "1. Your picture, upright: 32×32"
    assert_nets_as_by_hand(at, app_store, rid, held_out_samples()[3][0])
    at.radio(key="feat_weights").set_value("random").run()  # the held-out images go with the lab run
    assert not at.exception and at.radio(key="feat_source").value == "sample"


def test_an_empty_run_store_is_one_sentence_and_the_page_keeps_working(at: AppTest, app_store: RunStore) -> None:
    finished_pair(app_store)
    at.radio(key="feat_weights").set_value("lab").run()
    # the picker opens on the lab defaults' reference run (shipped runs are copied in on first start), as the
    # Insights page does; without one, on the newest finished run
    reference = reference_for(app_store, DEFAULT)
    assert at.selectbox(key="feat_run").value == (reference or app_store.runs(statuses=("done",))[0]).id
    for run in app_store.runs():
        app_store.delete(run.id)
    at.run()
    assert not at.exception and not at.error
    assert (
        [i.value for i in at.info]
        == [t("feat.no_runs")]
        == ["The run store holds no finished lab run yet; train one in the gradient lab, or choose other weights."]
    )
    assert not at.dataframe and not at.subheader
    at.radio(key="feat_weights").set_value("random").run()
    assert not at.exception and [s.value for s in at.subheader][0] == "Preprocessing"

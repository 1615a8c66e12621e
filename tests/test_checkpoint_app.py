"""The sidebar's "My checkpoint" through Streamlit's AppTest, driven by widget key: a torchvision ResNet-34 saved as a
training checkpoint opens on every page with the inferred line, torchvision's totals and its own weights; a bad file
gets one sentence; both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest

from resnet_viz import trace
from resnet_viz.nets.spec import preset
from resnet_viz.vision.images import load_image, preprocess, resize_size
from resnet_viz.vision.samples import sample_bytes
from tests.conftest import ROOT
from tests.test_checkpoint import randomized, save

LINE_EN = (
    "**pets.pth**: ResNet-34 layout, 37 classes, shortcut B, from a training checkpoint (key `state_dict`, "
    "prefix `module.`)."
)
LINE_ZH = "**pets.pth**：ResNet-34 结构，37 个类别，捷径 B，来自训练检查点（键 `state_dict`，前缀 `module.`）。"


def top5_of(
    ref: Callable[[torch.Tensor], torch.Tensor], picture: bytes, size: int, label: Callable[[int], str]
) -> list[dict[str, object]]:
    """The feature page's top-5 rows for a net whose logits are ``ref``'s: softmax in float64, best first."""
    x = preprocess(load_image(picture, min_side=max(resize_size(size), 256)), size=size).tensor
    with torch.no_grad():
        p = torch.softmax(ref(x)[0].double(), 0)
    top = torch.topk(p, 5)
    return [
        {"rank": r + 1, "class": label(int(i)), "index": int(i), "probability": f"{float(v):.1%}"}
        for r, (v, i) in enumerate(zip(top.values, top.indices))
    ]


@pytest.fixture(scope="module")
def pets() -> tuple[bytes, torch.nn.Module]:
    torch.manual_seed(34)
    ref = randomized(torchvision.models.resnet34(num_classes=37))
    return save(ref.state_dict(), "state_dict", "module."), ref


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> AppTest:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.query_params["net_mode"] = "checkpoint"
    return app.run()


def test_upload_opens_the_net_everywhere(at: AppTest, pets: tuple[bytes, torch.nn.Module]) -> None:
    assert not at.exception and [i.value for i in at.info] == [
        "Upload a checkpoint in the sidebar (My checkpoint) to see its net here."
    ]
    data, ref = pets
    at.file_uploader(key="ckpt_file").set_value(("pets.pth", data, "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert [i.value for i in at.sidebar.info] == [LINE_EN]
    params = sum(p.numel() for p in ref.parameters())  # torchvision's count: 21,303,653
    report = trace(preset("resnet34", num_classes=37))
    assert report.totals.params == params
    assert [(m.label, m.value) for m in at.metric] == [
        ("Depth", "34"), ("Parameters", "21.30 M"), ("MACs", "3.66 G"), ("Receptive field", "899×899")
    ]  # fmt: skip
    assert at.metric[1].proto.help == f"{params:,}"

    at.switch_page("pages/compare.py").run()
    assert not at.exception and at.radio(key="compare_scenario").value == "checkpoint"
    table = at.table[0].value
    assert list(table.columns) == ["pets.pth (yours)", "resnet34"]
    # the classifier has 37 rows, not 1000: 21,303,653 against 21,797,672 parameters, shown in units
    assert table.loc["params"].tolist() == ["21.3 M", "21.8 M"]

    at.switch_page("pages/features.py").run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Weights from your checkpoint pets.pth."]
    # the file's own 37-way classifier, labelled "class i" without a names file: the page's top-5 against torchvision's
    # resnet34 holding the file's weights, on the page's default picture (the cat sample, 224 px centre crop)
    assert at.dataframe[0].value.to_dict("records") == top5_of(ref, sample_bytes("cat"), 224, lambda i: f"class {i}")

    at.selectbox(key="lang").set_value("zh").run()
    assert not at.exception and [i.value for i in at.sidebar.info] == [LINE_ZH]


def test_a_bad_file_is_one_sentence_in_either_language(at: AppTest) -> None:
    at.file_uploader(key="ckpt_file").set_value(("weights.pth", b"<!DOCTYPE html><html>Sign in", "text/html")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "weights.pth is a web page, not a checkpoint (it starts “<!DOCTYPE html><html>Sign in”); a download link may "
        "have saved the page instead of the file."
    ]
    at.selectbox(key="lang").set_value("zh").run()
    assert [e.value for e in at.error] == [
        "weights.pth 是一个网页，不是检查点（开头是“<!DOCTYPE html><html>Sign in”）；"
        "下载链接可能保存了网页而不是文件本身。"
    ]


def test_the_stride_switch_of_a_bottleneck_net(at: AppTest) -> None:
    torch.manual_seed(50)
    data = save(torchvision.models.resnet50().state_dict(), "safetensors")
    at.file_uploader(key="ckpt_file").set_value(("r50.safetensors", data, "application/octet-stream")).run()
    assert at.radio(key="ckpt_stride").value == "v1.5"
    assert [i.value for i in at.sidebar.info] == ["**r50.safetensors**: ResNet-50 layout, 1000 classes, shortcut B, "
                                                  "v1.5, from a safetensors file."]  # fmt: skip
    assert at.metric[2].value == "4.09 G"  # torchvision's weight table: 4.089 GMACs
    at.radio(key="ckpt_stride").set_value("v1").run()
    assert not at.exception and ", v1, from a safetensors file." in at.sidebar.info[0].value
    assert at.metric[2].value == "3.86 G"  # v1 strides the first 1×1s (tests/test_trace.py: 3,857,973,248)


def test_the_file_stays_open_when_the_sidebar_leaves_my_checkpoint(
    at: AppTest, pets: tuple[bytes, torch.nn.Module]
) -> None:
    at.file_uploader(key="ckpt_file").set_value(("pets.pth", pets[0], "application/octet-stream")).run()
    at.file_uploader(key="ckpt_file").set_value(None).run()  # the upload removed (×): the file stays open
    assert not at.exception and [i.value for i in at.sidebar.info] == [LINE_EN] and at.metric[0].value == "34"
    at.radio(key="net_mode").set_value("preset").run()
    assert not at.exception and at.metric[0].value == "50"  # the preset: resnet50
    at.radio(key="net_mode").set_value("checkpoint").run()  # the uploader comes back empty, the file is still open
    assert not at.exception and [i.value for i in at.sidebar.info] == [LINE_EN]
    kept = "Open for this session: **pets.pth**. Upload another file to replace it."
    assert kept in [c.value for c in at.sidebar.caption]
    assert at.metric[0].value == "34"
    at.button(key="ckpt_close").click().run()
    assert (
        not at.exception
        and not at.sidebar.info
        and [i.value for i in at.info] == ["Upload a checkpoint in the sidebar (My checkpoint) to see its net here."]
    )


def test_a_cifar_script_th_file_option_a_or_plain(at: AppTest) -> None:
    from tests.test_dialects import AkaResNet, akamaster_file

    torch.manual_seed(20)
    data = akamaster_file(randomized(AkaResNet(3)))
    at.file_uploader(key="ckpt_file").set_value(("resnet20.th", data, "application/octet-stream")).run()
    assert not at.exception and at.radio(key="ckpt_shortcuts").value == "A"
    assert [i.value for i in at.sidebar.info] == [
        "**resnet20.th**: ResNet-20 layout, 10 classes, shortcut A, from a training checkpoint (CIFAR script layout, "
        "akamaster's pytorch_resnet_cifar10, key `state_dict`, prefix `module.`)."
    ]
    at.radio(key="ckpt_shortcuts").set_value("plain").run()
    assert not at.exception and ", no shortcuts (a plain net), " in at.sidebar.info[0].value
    assert any("plain-resnet20 (depth 20)" in c.value for c in at.sidebar.caption)


def test_a_transformers_file_with_its_config(at: AppTest, tmp_path: object) -> None:
    from pathlib import Path

    from tests.test_dialects import hf_model

    ref = hf_model(18, True)
    folder = Path(str(tmp_path)) / "hf"
    ref.save_pretrained(folder)
    at.file_uploader(key="ckpt_file").set_value(
        ("model.safetensors", (folder / "model.safetensors").read_bytes(), "application/octet-stream")
    ).run()
    at.file_uploader(key="ckpt_config").set_value(
        ("config.json", (folder / "config.json").read_bytes(), "application/json")
    ).run()
    assert not at.exception and [i.value for i in at.sidebar.info] == [
        "**model.safetensors**: ResNet-18 layout, 7 classes, shortcut B, from a safetensors file (Hugging Face "
        "transformers layout)."
    ]
    at.switch_page("pages/features.py").run()
    assert not at.exception and not at.error
    want = top5_of(lambda x: ref(pixel_values=x).logits, sample_bytes("cat"), 224, lambda i: f"breed {i}")
    assert at.dataframe[0].value.to_dict("records") == want

"""The sidebar's "My checkpoint" through Streamlit's AppTest, driven by widget key: a torchvision ResNet-34 saved as a
training checkpoint opens on every page with the inferred line, torchvision's totals and its own weights; a bad file
gets one sentence; both languages."""

from __future__ import annotations

import pytest
import torch
import torchvision
from streamlit.testing.v1 import AppTest

from resnet_viz import trace
from resnet_viz.nets.spec import preset
from tests.conftest import ROOT
from tests.test_checkpoint import randomized, save

LINE_EN = (
    "**pets.pth**: ResNet-34 layout, 37 classes, shortcut B, from a training checkpoint (key `state_dict`, "
    "prefix `module.`)."
)
LINE_ZH = "**pets.pth**：ResNet-34 结构，37 个类别，捷径 B，来自训练检查点（键 `state_dict`，前缀 `module.`）。"


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
    top5 = at.dataframe[0].value  # the file's own 37-way classifier, labelled "class i" without a names file
    assert len(top5) == 5 and all(label.startswith("class ") for label in top5["class"])

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

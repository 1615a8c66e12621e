"""timm's presets through the app (AppTest): the explorer draws an SE net with its attention as a node, beside its
plain twin (attention kept, shortcuts gone), and Compare puts it beside ResNet-50 with timm's parameter count."""

from __future__ import annotations

import io

import pytest
import torch
from streamlit.testing.v1 import AppTest

from resnet_viz.units import human
from tests.conftest import ROOT
from tests.test_explorer_app import charts, labels, nodes, page

timm = pytest.importorskip("timm")  # the oracle of the count (test-only)


def test_explorer_and_compare_on_a_timm_preset() -> None:
    at = page("pages/explorer.py")
    at.selectbox(key="arch").set_value("seresnet50").run()
    at.toggle(key="explorer_twin").set_value(True).run()
    at.button(key="explorer_graph.open_all").click().run()
    assert not at.exception
    residual, plain = charts(at)
    assert "se · SqueezeExcite" in labels(residual) and "se · SqueezeExcite" in labels(plain)
    ses = [n for n in nodes(residual) if n["name"].endswith(".se")]
    assert len(ses) == 16 == len([n for n in nodes(plain) if n["name"].endswith(".se")])  # one per block
    assert "identity" in labels(residual) and "identity" not in labels(plain)

    with torch.device("meta"):
        count = sum(p.numel() for p in timm.create_model("seresnet50").parameters())
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_scenario").set_value("custom").run()
    at.multiselect(key="compare_nets").set_value(["resnet50", "seresnet50"]).run()
    assert not at.exception
    table = at.table[0].value
    assert table.columns.tolist() == ["resnet50", "seresnet50"]
    assert table.loc["params"].tolist() == ["25.6 M", human(count)] and human(count) == "28.1 M"


def test_my_checkpoint_anti_aliasing_switch_starts_where_the_files_arch_puts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    buf = io.BytesIO()
    torch.save(
        {"arch": "resnetblur18", "state_dict": timm.create_model("resnetblur18", num_classes=3).state_dict()}, buf
    )
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.query_params["net_mode"] = "checkpoint"
    at = app.run()
    at.file_uploader(key="ckpt_file").set_value(("blur.pth", buf.getvalue(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert at.radio(key="ckpt_aa").value == "blur"
    assert [i.value for i in at.sidebar.info] == [
        "**blur.pth**: resnetblur18 layout, 3 classes, shortcut B, blur-pool anti-aliasing (as its arch, resnetblur18, "
        "says: not in the weights), from a training checkpoint (key `state_dict`)."
    ]
    at.radio(key="ckpt_aa").set_value("none").run()
    assert [i.value for i in at.sidebar.info] == [
        "**blur.pth**: ResNet-18 layout, 3 classes, shortcut B, from a training checkpoint (key `state_dict`)."
    ]

"""timm's presets through the app (AppTest): the explorer draws an SE net with its attention as a node, beside its
plain twin (attention kept, shortcuts gone), and Compare puts it beside ResNet-50 with timm's parameter count."""

from __future__ import annotations

import pytest
import torch

from resnet_viz.units import human
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

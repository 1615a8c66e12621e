"""Home's default net is drawn from a shipped trace report, without torch: the report equals a fresh trace (the
oracle is the tracer itself), and the path from it to the graph's chart imports no torch.

A fresh server's first run of Home therefore draws ResNet-50's graph before torch (about 2 s) is imported
(resnet_viz/ui/pages.run_app imports it after the page; `python -m benchmarks launch` times it).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from resnet_viz.nets.shipped import SHIPPED, SHIPPED_SIZE, shipped_trace
from resnet_viz.nets.spec import preset
from resnet_viz.nets.trace import trace
from tests.conftest import ROOT


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_report_equals_a_fresh_trace(name: str) -> None:
    fresh = trace(name, input_size=SHIPPED_SIZE)
    shipped = shipped_trace(preset(name), None)
    assert shipped == fresh, "stale: run python scripts/make_shipped_traces.py"
    assert shipped_trace(preset(name), SHIPPED_SIZE) == fresh


def test_only_the_shipped_nets_at_their_size_are_read_from_a_file() -> None:
    spec = preset("resnet50")
    assert shipped_trace(spec, (256, 256)) is None
    assert shipped_trace(spec.replace(plain=True), None) is None
    assert shipped_trace(preset("resnet34"), None) is None


def test_homes_default_graph_imports_no_torch() -> None:
    code = """
import sys
from resnet_viz.ui.core import cache, sidebar
from resnet_viz.ui.views import graph_details, net_views  # Home's modules that once imported torch
from resnet_viz.graph.echarts import options
from resnet_viz.graph.layout import layout
from resnet_viz.graph.model import hierarchy
from resnet_viz.graph.view import level_open, view
from resnet_viz.nets.shipped import shipped_trace
from resnet_viz.nets.spec import preset

h = hierarchy(shipped_trace(preset("resnet50"), None))
opts = options(layout(view(h, level_open(h, "stage", fold=True))), h)
print(len(opts["series"][0]["data"]) > 0, sorted(m for m in ("torch", "pandas") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"

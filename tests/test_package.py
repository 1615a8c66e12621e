"""The package's public names and its import cost: `import resnet_viz` and the app's router load no torch.

The app's first paint depends on it: `app.py` imports `resnet_viz.ui.pages` and must reach `st.navigation` before
anything heavy is imported, or a fresh server shows its menu only once torch has loaded.
Each check runs in a fresh interpreter, since this test process has long imported torch.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import resnet_viz
from tests.conftest import ROOT

HEAVY = ("torch", "torchvision", "pandas", "sqlalchemy", "distributed", "graphviz")


@pytest.mark.parametrize(
    "module",
    [
        "resnet_viz",
        "resnet_viz.ui.pages",
        "resnet_viz.ui.graph.picture_row",
        "resnet_viz.ui.lab.entry",
        "resnet_viz.ui.features.entry",
        "resnet_viz.ui.insights.entry",
        "resnet_viz.ui.tour.page",
    ],
)
def test_importing_loads_nothing_heavy(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_are_the_nets_functions() -> None:
    from resnet_viz.nets.build import build, pick_device
    from resnet_viz.nets.resnet import ResNet
    from resnet_viz.nets.spec import ResNetSpec, preset
    from resnet_viz.nets.trace import trace

    assert (resnet_viz.build, resnet_viz.trace, resnet_viz.pick_device) == (build, trace, pick_device)
    assert (resnet_viz.ResNet, resnet_viz.ResNetSpec, resnet_viz.preset) == (ResNet, ResNetSpec, preset)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = resnet_viz.nope  # type: ignore[attr-defined]


def test_a_first_trace_imports_neither_sympy_nor_dynamo() -> None:
    """Home's first trace on a fresh server: the meta kernels of conv, pooling and linear would import both (~2.5 s)."""
    code = (
        "import sys, resnet_viz; resnet_viz.trace('resnet50'); "
        "print(sorted({'sympy', 'torch._dynamo'} & {*sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

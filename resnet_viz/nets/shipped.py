"""Trace reports shipped with the package and read without torch: Home's default net (ResNet-50 at 224×224) on a
fresh server is drawn before torch, about 2 s of a first run, is imported.

`scripts/make_shipped_traces.py` writes them (`resnet_viz/assets/traces/<preset>.json`, `TraceReport.to_dict()`);
tests/test_trace.py checks that each equals a fresh trace, so a change to the tracer or the presets cannot leave a
stale one behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from .records import TraceReport, report_from_dict
from .spec import ResNetSpec, preset

__all__ = ["SHIPPED", "SHIPPED_SIZE", "shipped_path", "shipped_trace"]

SHIPPED: Final[tuple[str, ...]] = ("resnet50",)  # the sidebar's default preset, which Home opens on
SHIPPED_SIZE: Final = (224, 224)  # their default input size (ImageNet stems)
_DIR: Final = Path(__file__).resolve().parents[1] / "assets" / "traces"


def shipped_path(name: str) -> Path:
    return _DIR / f"{name}.json"


def shipped_trace(spec: ResNetSpec, input_size: tuple[int, int] | None) -> TraceReport | None:
    """The shipped report of ``spec`` at ``input_size`` (None: the default), or None where none is shipped."""
    if input_size is not None and tuple(input_size) != SHIPPED_SIZE:
        return None
    name = next((n for n in SHIPPED if spec == preset(n)), None)
    if name is None:
        return None
    return report_from_dict(json.loads(shipped_path(name).read_text(encoding="utf-8")))

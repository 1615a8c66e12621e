"""ResNet visualizer: build any ResNet and its plain twin, trace its shapes, train and look inside it.

The public names below are loaded on first use (PEP 562), so `import resnet_viz` (and the web app's first
paint, which imports `resnet_viz.ui`) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import InputError, ResourceError, SpecError, UserError

if TYPE_CHECKING:
    from .nets.build import build, pick_device
    from .nets.resnet import ResNet
    from .nets.spec import PRESETS, ResNetSpec, cifar_spec, imagenet_spec, preset
    from .nets.trace import TraceReport, trace

__all__ = [
    "PRESETS",
    "InputError",
    "ResNet",
    "ResNetSpec",
    "ResourceError",
    "SpecError",
    "TraceReport",
    "UserError",
    "build",
    "cifar_spec",
    "imagenet_spec",
    "pick_device",
    "preset",
    "trace",
]

# Where each lazily loaded public name lives.
_LAZY: dict[str, str] = {
    "PRESETS": ".nets.spec",
    "ResNetSpec": ".nets.spec",
    "cifar_spec": ".nets.spec",
    "imagenet_spec": ".nets.spec",
    "preset": ".nets.spec",
    "ResNet": ".nets.resnet",
    "build": ".nets.build",
    "pick_device": ".nets.build",
    "TraceReport": ".nets.trace",
    "trace": ".nets.trace",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

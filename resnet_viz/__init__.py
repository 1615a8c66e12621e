"""ResNet visualizer: build any ResNet and its plain twin, trace its shapes, train and look inside it."""

from .build import ResNet, build, pick_device
from .errors import InputError, ResourceError, SpecError, UserError
from .spec import PRESETS, ResNetSpec, cifar_spec, imagenet_spec, preset
from .trace import TraceReport, trace

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

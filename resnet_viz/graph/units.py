"""Human units for counts and bytes, and tensor shapes as text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from ..units import human  # the one formatter of counts, shared with the nets' tables and the pages

__all__ = ["LAYER_FILL", "SHORT_OPS", "block_text", "human", "human_bytes", "op_text", "shape_text"]


def shape_text(shape: Sequence[int]) -> str:
    """(256, 56, 56) -> "256×56×56"."""
    return "×".join(map(str, shape))


def human_bytes(n: int) -> str:
    """802816 -> "784 KiB"."""
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n} B"


# Short names for ops listed several to a line (the stem's and head's nodes).
SHORT_OPS: Final = {
    "Conv2d": "conv",
    "BatchNorm2d": "BN",
    "MaxPool2d": "max-pool",
    "AdaptiveAvgPool2d": "avg-pool",
    "Linear": "fc",
    # timm's parts (nets/layers, attention, antialias)
    "StdConv2d": "std-conv",
    "GroupNorm": "GN",
    "EvoNorm2dS0": "EvoNorm-S0",
    "FilterResponseNormTlu2d": "FRN",
    "SqueezeExcite": "SE",
    "EfficientChannelAttention": "ECA",
    "BlurPool2d": "blur-pool",
    "AvgPool2d": "avg-pool",
    "ConstantPad2d": "pad",
}

# A layer's fill by its kind: convs blue, norms green, activations yellow, the classifier violet, attention pink,
# anti-aliasing pools teal; the rest grey.
_CONV, _NORM, _ATTN, _AA = "#dbe8fb", "#e3f4e6", "#fbe0ec", "#d7f2ef"
LAYER_FILL: Final = {
    "Conv2d": _CONV,
    "StdConv2d": _CONV,
    "BatchNorm2d": _NORM,
    "GroupNorm": _NORM,
    "EvoNorm2dS0": _NORM,
    "FilterResponseNormTlu2d": _NORM,
    "ReLU": "#fff3c4",
    "Linear": "#e9dcf7",
    "SqueezeExcite": _ATTN,
    "EfficientChannelAttention": _ATTN,
    "BlurPool2d": _AA,
}


def op_text(type_: str, kernel: tuple[int, int] | None, stride: tuple[int, int] | None, *, short: bool = False) -> str:
    """A layer as its op: "Conv2d 3×3 /2", or "conv 3×3 /2" with ``short``."""
    name = SHORT_OPS.get(type_, type_) if short else type_
    if kernel is None:
        return name
    k = shape_text(kernel) if kernel[0] != kernel[1] else f"{kernel[0]}×{kernel[0]}"
    s = f" /{stride[0]}" if stride and stride[0] > 1 else ""
    return f"{name} {k}{s}"


_PARTS: Final = ("SqueezeExcite", "EfficientChannelAttention", "BlurPool2d")  # named on a closed block


def block_text(block_type: str, layer_types: Iterable[str]) -> str:
    """A closed block as its type and the parts it adds: "Bottleneck · SE", "BasicBlock · blur-pool"."""
    parts = [SHORT_OPS[t] for t in dict.fromkeys(layer_types) if t in _PARTS]
    return " · ".join([block_type, *parts])

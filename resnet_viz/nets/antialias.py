"""Anti-aliased downsampling (Zhang 2019, "Making Convolutional Networks Shift-Invariant Again"), as timm composes it:
a strided conv runs at stride 1, then a blur pool (or a 2×2 average pool) strides. Neither holds weights."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import Part
from .spec import AntiAlias

__all__ = ["BlurPool2d", "anti_alias"]


class BlurPool2d(Part):
    """timm's BlurPool2d: reflect-pad 1, a depthwise 3×3 binomial filter ([1, 2, 1] ⊗ [1, 2, 1] / 16), stride 2.

    The filter is made where it is used (no buffer), so a net built on the meta device and then given a file's
    weights needs nothing else.
    """

    def __init__(self, channels: int, stride: int = 2, size: int = 3) -> None:
        super().__init__()
        self.channels, self.size = channels, size
        self.kernel_size, self.stride = (size, size), (stride, stride)
        self.padding = ((stride - 1 + size - 1) // 2,) * 2  # timm's get_padding

    def forward(self, x: Tensor) -> Tensor:
        row = torch.tensor([math.comb(self.size - 1, k) for k in range(self.size)], dtype=x.dtype, device=x.device)
        row = row / row.sum()
        filt = (row[:, None] * row[None, :]).expand(self.channels, 1, self.size, self.size)  # (C, 1, k, k)
        p = self.padding[0]
        x = F.pad(x, (p, p, p, p), mode="reflect")
        return F.conv2d(x, filt, stride=self.stride, groups=self.channels)  # (N, C, H/2, W/2)

    def macs(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return math.prod(output_shape) * self.size * self.size  # a depthwise conv

    def extra_repr(self) -> str:
        return f"{self.channels}, size={self.size}, stride={self.stride[0]}"


def anti_alias(kind: AntiAlias, channels: int, stride: int) -> nn.Module:
    """What follows a conv made stride 1: timm's create_aa (nn.AvgPool2d(2) for "avg"), Identity where none."""
    if kind == "none" or stride == 1:
        return nn.Identity()
    if kind == "avg":
        return nn.AvgPool2d(stride)  # kernel 2, stride 2, no padding (timm calls nn.AvgPool2d(stride))
    return BlurPool2d(channels, stride)

"""The layers every block is made of: convolutions (plain or weight-standardised) and normalisations (BN, GN,
EvoNorm-S0, FRN), each with timm's parameter names and shapes so its files load unchanged.

Meta tensors (the tracer builds on the meta device) have no values to initialise; skipping the init there makes
building ResNet-1202 for a trace about twice as fast. Elsewhere these are torch's own layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .spec import Norm

__all__ = [
    "BatchNorm2d",
    "Conv2d",
    "EvoNorm2dS0",
    "FilterResponseNormTlu2d",
    "GroupNorm",
    "Linear",
    "Part",
    "StdConv2d",
    "act",
    "conv",
    "conv1x1",
    "conv3x3",
    "norm",
]

GROUPS = 32  # timm's GroupNorm, GroupNormAct and EvoNorm2dS0 default (Wu & He 2018: 32 groups)


class Part(nn.Module):
    """A layer the tracer and the graph show as one node, inner modules and all (SE's two 1×1 convs, a blur pool's
    fixed filter): it says its own multiply-accumulates for one image."""

    def macs(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        raise NotImplementedError


class Conv2d(nn.Conv2d):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class StdConv2d(Conv2d):
    """A conv whose weight is standardised per output channel before use (Qiao et al. 2019), as BiT's (timm's
    ``StdConv2d(eps=1e-8)``): the standardisation is the batch norm of the weight seen as one sample."""

    eps = 1e-8

    def forward(self, x: Tensor) -> Tensor:
        w = F.batch_norm(
            self.weight.reshape(1, self.out_channels, -1), None, None, training=True, momentum=0.0, eps=self.eps
        ).reshape_as(self.weight)  # (out, in / groups, k, k), zero mean and unit variance per output channel
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class BatchNorm2d(nn.BatchNorm2d):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class GroupNorm(nn.GroupNorm):
    def __init__(self, channels: int) -> None:
        super().__init__(GROUPS, channels)

    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class Linear(nn.Linear):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class _Affine(nn.Module):
    """Per-channel scale ``weight`` and shift ``bias`` (shape (C,), as timm keeps them), and one more vector."""

    extra: str = ""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_parameter(
            self.extra, nn.Parameter(torch.ones(channels) if self.extra == "v" else torch.zeros(channels))
        )

    def _vec(self, name: str) -> Tensor:
        return getattr(self, name).view(1, -1, 1, 1)  # (1, C, 1, 1)

    def extra_repr(self) -> str:
        return str(self.channels)


class EvoNorm2dS0(_Affine):
    """EvoNorm-S0 (Liu et al. 2020), its non-linearity included: x·σ(v·x) / group std, then scale and shift."""

    extra = "v"
    eps = 1e-5

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        std = x.reshape(n, GROUPS, c // GROUPS, h, w).var(dim=(2, 3, 4), unbiased=False, keepdim=True)
        std = (std + self.eps).sqrt().expand(n, GROUPS, c // GROUPS, h, w).reshape(n, c, h, w)
        x = x * (x * self._vec("v")).sigmoid() / std
        return x * self._vec("weight") + self._vec("bias")


class FilterResponseNormTlu2d(_Affine):
    """Filter response normalisation with its thresholded linear unit (Singh & Krishnan 2020), as timm's."""

    extra = "tau"
    eps = 1e-5

    def forward(self, x: Tensor) -> Tensor:
        x = x * (x.square().mean(dim=(2, 3), keepdim=True) + self.eps).rsqrt()  # (N, C, H, W) over its RMS
        x = x * self._vec("weight") + self._vec("bias")
        return torch.maximum(x, self._vec("tau"))


def conv(
    in_planes: int,
    out_planes: int,
    kernel: int,
    stride: int = 1,
    groups: int = 1,
    *,
    bias: bool = False,
    std: bool = False,
) -> nn.Conv2d:
    """A k×k convolution padded as timm's get_padding ((stride - 1 + k - 1) // 2), weight-standardised with ``std``."""
    cls = StdConv2d if std else Conv2d
    return cls(in_planes, out_planes, kernel, stride=stride, padding=(stride - 1 + kernel - 1) // 2, groups=groups,
               bias=bias)  # fmt: skip


def conv3x3(
    in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, bias: bool = False, std: bool = False
) -> nn.Conv2d:
    """3x3 convolution with padding 1."""
    return (StdConv2d if std else Conv2d)(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups, bias=bias)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1, bias: bool = False, std: bool = False) -> nn.Conv2d:
    """1x1 convolution."""
    return (StdConv2d if std else Conv2d)(in_planes, out_planes, 1, stride=stride, bias=bias)


_NORMS: dict[Norm, type[nn.Module]] = {
    "batch": BatchNorm2d,
    "group": GroupNorm,
    "evonorm_s0": EvoNorm2dS0,
    "frn": FilterResponseNormTlu2d,
}


def norm(channels: int, on: bool, kind: Norm = "batch") -> nn.Module:
    """The spec's normalisation, or Identity when normalisation is off (convs then carry a bias)."""
    return _NORMS[kind](channels) if on else nn.Identity()


def act(kind: Norm = "batch", on: bool = True) -> nn.Module:
    """The ReLU after a norm; EvoNorm-S0 and FRN-TLU hold their own non-linearity, so theirs is Identity."""
    return nn.Identity() if on and kind in ("evonorm_s0", "frn") else nn.ReLU()

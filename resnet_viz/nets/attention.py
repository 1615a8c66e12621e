"""Channel attention per block, as timm builds it: squeeze-and-excitation and efficient channel attention.

Names and shapes follow timm's ``SEModule`` (``se.fc1``, ``se.fc2``, 1×1 convs with bias) and ``EcaModule``
(``se.conv``, a bias-free 1-D conv), so timm's files load unchanged. Each is one node of the graph (a ``Part``).
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from .layers import Conv2d, Part
from .spec import Attention

__all__ = ["EfficientChannelAttention", "SqueezeExcite", "attention", "eca_kernel", "make_divisible", "se_width"]


def make_divisible(v: float, divisor: int = 8, round_limit: float = 0.0) -> int:
    """timm's rounding of a width to a multiple of ``divisor`` (nearest, at least ``divisor``; with round_limit 0.9
    never more than 10 % down)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < round_limit * v else new_v


def se_width(channels: int, ratio: float) -> int:
    """SE's reduced width: timm's SEModule rounds channels * ratio to a multiple of 8 (round_limit 0)."""
    return make_divisible(channels * ratio, 8, round_limit=0.0)


def eca_kernel(channels: int, gamma: float = 2, beta: float = 1) -> int:
    """ECA's 1-D kernel from the channels (Wang et al. 2020, eq. 12): |log2(C) + b| / γ, to the next odd, at least 3."""
    t = int(abs(math.log(channels, 2) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


class SqueezeExcite(Part):
    """Hu et al. 2018: global average, 1×1 conv down, ReLU, 1×1 conv up, sigmoid; the channels scaled by it."""

    def __init__(self, channels: int, ratio: float) -> None:
        super().__init__()
        rd = se_width(channels, ratio)
        self.fc1 = Conv2d(channels, rd, 1, bias=True)
        self.act = nn.ReLU()
        self.fc2 = Conv2d(rd, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
        s = self.fc2(self.act(self.fc1(s)))  # (N, C, 1, 1)
        return x * s.sigmoid()  # (N, C, H, W)

    def macs(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return 2 * self.fc1.in_channels * self.fc1.out_channels  # the two 1x1 convs on one position each


class EfficientChannelAttention(Part):
    """Wang et al. 2020: global average, a 1-D conv across neighbouring channels (no bias), sigmoid, scale."""

    def __init__(self, channels: int, kernel_from: int | None = None) -> None:
        super().__init__()
        k = eca_kernel(kernel_from or channels)  # a pruned net keeps the kernel of the net it was pruned from
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        n, c = x.shape[:2]
        y = x.mean((2, 3)).view(n, 1, c)  # (N, 1, C): the channels as a sequence
        y = self.conv(y)  # (N, 1, C)
        return x * y.sigmoid().view(n, c, 1, 1)  # (N, C, H, W)

    def macs(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> int:
        return input_shape[0] * self.conv.kernel_size[0]


def attention(kind: Attention, channels: int, ratio: float, *, nominal: int | None = None) -> nn.Module | None:
    """The block's attention, or None (no ``se`` key, as timm's ``create_attn`` of nothing); ``nominal``: a pruned
    block's channels before pruning, which set ECA's kernel."""
    if kind == "se":
        return SqueezeExcite(channels, ratio)
    if kind == "eca":
        return EfficientChannelAttention(channels, nominal)
    return None

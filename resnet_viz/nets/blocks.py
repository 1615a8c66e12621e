"""Residual blocks (basic, bottleneck, pre-activation) and the shortcut options A / B / C.

Parameter names follow torchvision's ``models/resnet.py`` (conv1, bn1, ..., downsample.0/.1), so its
state_dicts load unchanged. Parameter-free parts (each ReLU, the residual add, the option-A pad) are
modules of their own so the tracer and the graph see every operation; they add no state_dict keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .spec import Downsample, Shortcut, Variant

__all__ = [
    "BasicBlock",
    "Block",
    "BlockConfig",
    "Bottleneck",
    "PadShortcut",
    "PreActBasicBlock",
    "PreActBottleneck",
    "ResidualAdd",
    "block_class",
    "conv1x1",
    "conv3x3",
    "norm",
    "zero_last",
]


@dataclass(frozen=True)
class BlockConfig:
    """What every block of one net shares."""

    variant: Variant = "v1.5"
    shortcut: Shortcut = "B"
    downsample: Downsample = "conv"
    groups: int = 1
    width_per_group: int = 64
    batch_norm: bool = True
    residual: bool = True  # False builds the plain twin's block: no shortcut, no add


# Meta tensors (the tracer builds on the meta device) have no values to initialise; skipping the init
# there makes building ResNet-1202 for a trace about twice as fast. Elsewhere these are torch's own layers.
class Conv2d(nn.Conv2d):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class BatchNorm2d(nn.BatchNorm2d):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class Linear(nn.Linear):
    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, bias: bool = False) -> nn.Conv2d:
    """3x3 convolution with padding 1."""
    return Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups, bias=bias)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    """1x1 convolution."""
    return Conv2d(in_planes, out_planes, 1, stride=stride, bias=bias)


def norm(channels: int, on: bool) -> nn.Module:
    """BatchNorm2d, or Identity when batch norm is off (convs then carry a bias)."""
    return BatchNorm2d(channels) if on else nn.Identity()


class PadShortcut(nn.Module):
    """Option A (He et al. 2015 §3.3): identity, strided, with the extra channels zero-padded. No parameters."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, C_in, ceil(H/s), ceil(W/s))
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))  # (N, C_out, ., .)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class ResidualAdd(nn.Module):
    """y = F(x) + shortcut(x), as a module so hooks and graphs see it."""

    def forward(self, out: Tensor, identity: Tensor) -> Tensor:
        return out + identity


def make_shortcut(cfg: BlockConfig, inplanes: int, outplanes: int, stride: int) -> nn.Module | None:
    """None means the identity; the plain twin has no shortcut at all (the caller skips it)."""
    changes = stride != 1 or inplanes != outplanes
    if cfg.shortcut == "A":
        return PadShortcut(inplanes, outplanes, stride) if changes else None
    if cfg.shortcut == "B" and not changes:
        return None
    bias = not cfg.batch_norm
    layers: list[nn.Module] = []
    if cfg.downsample == "avg":  # ResNet-D (He et al. 2019): pool 2x2 first, so the 1x1 conv reads every input
        # timm's downsample_avg: ceil_mode keeps odd sizes as the main path has them; Identity keeps the names
        pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride != 1 else nn.Identity()
        layers, stride = [pool], 1
    layers.append(conv1x1(inplanes, outplanes, stride, bias=bias))
    if cfg.variant != "preact":  # He et al. 2016: the projection reads the pre-activated input, no BN after
        layers.append(norm(outplanes, cfg.batch_norm))
    return nn.Sequential(*layers)


class Block(nn.Module):
    """Shared shortcut handling; subclasses define the residual branch."""

    expansion: ClassVar[int] = 1
    downsample: nn.Module | None
    add: ResidualAdd | None

    def _init_shortcut(self, cfg: BlockConfig, inplanes: int, outplanes: int, stride: int) -> None:
        self.stride = stride
        self.downsample = make_shortcut(cfg, inplanes, outplanes, stride) if cfg.residual else None
        self.add = ResidualAdd() if cfg.residual else None

    def _merge(self, out: Tensor, x: Tensor) -> Tensor:
        if self.add is None:  # plain twin
            return out
        identity = self.downsample(x) if self.downsample is not None else x
        return self.add(out, identity)

    def last_weight(self) -> Tensor:
        """The weight that ``zero_init_residual`` zeroes: the branch's last BN, else its last conv."""
        raise NotImplementedError


class BasicBlock(Block):
    """conv3x3-BN-ReLU-conv3x3-BN, add, ReLU."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        bias = not cfg.batch_norm
        self.conv1 = conv3x3(inplanes, planes, stride, bias=bias)
        self.bn1 = norm(planes, cfg.batch_norm)
        self.relu1 = nn.ReLU()
        self.conv2 = conv3x3(planes, planes, bias=bias)
        self.bn2 = norm(planes, cfg.batch_norm)
        self._init_shortcut(cfg, inplanes, planes, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))  # (N, planes, H/s, W/s)
        out = self.bn2(self.conv2(out))
        return self.relu2(self._merge(out, x))

    def last_weight(self) -> Tensor:
        return self.bn2.weight if isinstance(self.bn2, nn.BatchNorm2d) else self.conv2.weight


class Bottleneck(Block):
    """1x1 reduce, 3x3 (grouped), 1x1 expand x4; v1 strides the first 1x1, v1.5 the 3x3."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        bias = not cfg.batch_norm
        width = int(planes * (cfg.width_per_group / 64.0)) * cfg.groups
        s1, s3 = (stride, 1) if cfg.variant == "v1" else (1, stride)
        self.conv1 = conv1x1(inplanes, width, s1, bias=bias)
        self.bn1 = norm(width, cfg.batch_norm)
        self.relu1 = nn.ReLU()
        self.conv2 = conv3x3(width, width, s3, cfg.groups, bias=bias)
        self.bn2 = norm(width, cfg.batch_norm)
        self.relu2 = nn.ReLU()
        self.conv3 = conv1x1(width, planes * self.expansion, bias=bias)
        self.bn3 = norm(planes * self.expansion, cfg.batch_norm)
        self._init_shortcut(cfg, inplanes, planes * self.expansion, stride)
        self.relu3 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))  # (N, width, ., .)
        out = self.relu2(self.bn2(self.conv2(out)))  # (N, width, H/s, W/s)
        out = self.bn3(self.conv3(out))  # (N, 4*planes, H/s, W/s)
        return self.relu3(self._merge(out, x))

    def last_weight(self) -> Tensor:
        return self.bn3.weight if isinstance(self.bn3, nn.BatchNorm2d) else self.conv3.weight


class PreActBasicBlock(Block):
    """He et al. 2016: BN-ReLU-conv3x3, BN-ReLU-conv3x3, add; nothing after the add."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        bias = not cfg.batch_norm
        self.bn1 = norm(inplanes, cfg.batch_norm)
        self.relu1 = nn.ReLU()
        self.conv1 = conv3x3(inplanes, planes, stride, bias=bias)
        self.bn2 = norm(planes, cfg.batch_norm)
        self.relu2 = nn.ReLU()
        self.conv2 = conv3x3(planes, planes, bias=bias)
        self._init_shortcut(cfg, inplanes, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(pre))))
        return self._merge(out, pre if isinstance(self.downsample, nn.Sequential) else x)

    def last_weight(self) -> Tensor:
        return self.conv2.weight


class PreActBottleneck(Block):
    """He et al. 2016: BN-ReLU-1x1, BN-ReLU-3x3 (stride), BN-ReLU-1x1 x4, add."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        bias = not cfg.batch_norm
        width = int(planes * (cfg.width_per_group / 64.0)) * cfg.groups
        self.bn1 = norm(inplanes, cfg.batch_norm)
        self.relu1 = nn.ReLU()
        self.conv1 = conv1x1(inplanes, width, bias=bias)
        self.bn2 = norm(width, cfg.batch_norm)
        self.relu2 = nn.ReLU()
        self.conv2 = conv3x3(width, width, stride, cfg.groups, bias=bias)
        self.bn3 = norm(width, cfg.batch_norm)
        self.relu3 = nn.ReLU()
        self.conv3 = conv1x1(width, planes * self.expansion, bias=bias)
        self._init_shortcut(cfg, inplanes, planes * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(pre)))
        out = self.relu3(self.bn3(self.conv2(out)))
        out = self.conv3(out)
        return self._merge(out, pre if isinstance(self.downsample, nn.Sequential) else x)

    def last_weight(self) -> Tensor:
        return self.conv3.weight


def block_class(block: str, variant: Variant) -> type[Block]:
    table: dict[tuple[str, bool], type[Block]] = {
        ("basic", False): BasicBlock,
        ("bottleneck", False): Bottleneck,
        ("basic", True): PreActBasicBlock,
        ("bottleneck", True): PreActBottleneck,
    }
    return table[(block, variant == "preact")]


def zero_last(block: Block) -> None:
    with torch.no_grad():
        block.last_weight().zero_()

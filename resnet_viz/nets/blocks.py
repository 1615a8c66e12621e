"""Residual blocks (basic, bottleneck, pre-activation) and the shortcut options A / B / C, with timm's parts.

Parameter names follow torchvision's ``models/resnet.py`` (conv1, bn1, ..., downsample.0/.1), so its
state_dicts load unchanged, and timm's where timm adds a part (``se``, ``aa``), so its files do too. Parameter-free
parts (each ReLU, the residual add, the option-A pad, anti-aliasing) are modules of their own so the tracer and the
graph see every operation; they add no state_dict keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .antialias import anti_alias
from .attention import attention
from .layers import BatchNorm2d, Conv2d, Linear, act, conv, conv1x1, conv3x3, norm
from .spec import AntiAlias, Attention, Downsample, Norm, Shortcut, Variant

__all__ = [
    "BasicBlock",
    "BatchNorm2d",
    "Block",
    "BlockConfig",
    "Bottleneck",
    "Conv2d",
    "Linear",
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
    norm: Norm = "batch"
    weight_std: bool = False
    attention: Attention = "none"
    attention_ratio: float = 1 / 16
    anti_alias: AntiAlias = "none"
    projection_kernel: int = 1
    reduce_first: int = 1

    def norm_layer(self, channels: int) -> nn.Module:
        return norm(channels, self.batch_norm, self.norm)

    def act(self) -> nn.Module:
        return act(self.norm, self.batch_norm)

    def conv3x3(self, cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
        return conv3x3(cin, cout, stride, groups, bias=not self.batch_norm, std=self.weight_std)

    def conv1x1(self, cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
        return conv1x1(cin, cout, stride, bias=not self.batch_norm, std=self.weight_std)

    def aa(self, channels: int, stride: int) -> tuple[int, nn.Module]:
        """(the strided conv's own stride, what follows it): anti-aliasing moves the stride to a pool after the conv."""
        if self.anti_alias == "none" or stride == 1:
            return stride, nn.Identity()
        return 1, anti_alias(self.anti_alias, channels, stride)


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
    k = cfg.projection_kernel if stride != 1 else 1  # timm's downsample_conv: a 1x1 wherever it does not stride
    layers.append(conv(inplanes, outplanes, k, stride, bias=bias, std=cfg.weight_std))
    if cfg.variant != "preact":  # He et al. 2016: the projection reads the pre-activated input, no BN after
        layers.append(cfg.norm_layer(outplanes))
    return nn.Sequential(*layers)


class Block(nn.Module):
    """Shared shortcut handling; subclasses define the residual branch."""

    expansion: ClassVar[int] = 1
    downsample: nn.Module | None
    add: ResidualAdd | None
    se: nn.Module | None

    def _init_shortcut(self, cfg: BlockConfig, inplanes: int, outplanes: int, stride: int) -> None:
        self.stride = stride
        self.downsample = make_shortcut(cfg, inplanes, outplanes, stride) if cfg.residual else None
        self.add = ResidualAdd() if cfg.residual else None

    def _attend(self, out: Tensor) -> Tensor:
        return self.se(out) if self.se is not None else out

    def _merge(self, out: Tensor, x: Tensor) -> Tensor:
        if self.add is None:  # plain twin
            return out
        identity = self.downsample(x) if self.downsample is not None else x
        return self.add(out, identity)

    def last_weight(self) -> Tensor:
        """The weight that ``zero_init_residual`` zeroes: the branch's last norm, else its last conv."""
        raise NotImplementedError


def _scale_or(norm_layer: nn.Module, conv_layer: nn.Conv2d) -> Tensor:
    weight = getattr(norm_layer, "weight", None)
    return weight if isinstance(weight, Tensor) else conv_layer.weight


class BasicBlock(Block):
    """conv3x3-BN-ReLU-[aa]-conv3x3-BN-[SE], add, ReLU (timm's order)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        first = planes // cfg.reduce_first
        s1, aa = cfg.aa(first, stride)
        self.conv1 = cfg.conv3x3(inplanes, first, s1)
        self.bn1 = cfg.norm_layer(first)
        self.relu1 = cfg.act()
        self.aa = aa
        self.conv2 = cfg.conv3x3(first, planes)
        self.bn2 = cfg.norm_layer(planes)
        self.se = attention(cfg.attention, planes, cfg.attention_ratio)
        self._init_shortcut(cfg, inplanes, planes, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.aa(self.relu1(self.bn1(self.conv1(x))))  # (N, planes, H/s, W/s)
        out = self._attend(self.bn2(self.conv2(out)))
        return self.relu2(self._merge(out, x))

    def last_weight(self) -> Tensor:
        return _scale_or(self.bn2, self.conv2)


class Bottleneck(Block):
    """1x1 reduce, 3x3 (grouped), [aa], 1x1 expand x4, [SE]; v1 strides the first 1x1, v1.5 the 3x3."""

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int, cfg: BlockConfig, channels: tuple[int, int, int] | None = None
    ) -> None:
        super().__init__()
        width = int(planes * (cfg.width_per_group / 64.0)) * cfg.groups
        first, out = width // cfg.reduce_first, planes * self.expansion
        if channels is not None:  # a pruned block: its own widths
            first, width, out = channels
        s1, s3 = (stride, 1) if cfg.variant == "v1" else (1, stride)
        s3, aa = cfg.aa(width, s3)
        self.conv1 = cfg.conv1x1(inplanes, first, s1)
        self.bn1 = cfg.norm_layer(first)
        self.relu1 = cfg.act()
        self.conv2 = cfg.conv3x3(first, width, s3, cfg.groups)
        self.bn2 = cfg.norm_layer(width)
        self.relu2 = cfg.act()
        self.aa = aa
        self.conv3 = cfg.conv1x1(width, out)
        self.bn3 = cfg.norm_layer(out)
        self.se = attention(cfg.attention, out, cfg.attention_ratio, nominal=planes * self.expansion)
        self._init_shortcut(cfg, inplanes, out, stride)
        self.relu3 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))  # (N, width, ., .)
        out = self.aa(self.relu2(self.bn2(self.conv2(out))))  # (N, width, H/s, W/s)
        out = self._attend(self.bn3(self.conv3(out)))  # (N, 4*planes, H/s, W/s)
        return self.relu3(self._merge(out, x))

    def last_weight(self) -> Tensor:
        return _scale_or(self.bn3, self.conv3)


class PreActBasicBlock(Block):
    """He et al. 2016: BN-ReLU-conv3x3, BN-ReLU-conv3x3, add; nothing after the add."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        s1, aa = cfg.aa(planes, stride)
        self.bn1 = cfg.norm_layer(inplanes)
        self.relu1 = cfg.act()
        self.conv1 = cfg.conv3x3(inplanes, planes, s1)
        self.aa = aa
        self.bn2 = cfg.norm_layer(planes)
        self.relu2 = cfg.act()
        self.conv2 = cfg.conv3x3(planes, planes)
        self.se = attention(cfg.attention, planes, cfg.attention_ratio)
        self._init_shortcut(cfg, inplanes, planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.aa(self.conv1(pre)))))
        return self._merge(self._attend(out), pre if isinstance(self.downsample, nn.Sequential) else x)

    def last_weight(self) -> Tensor:
        return self.conv2.weight


class PreActBottleneck(Block):
    """He et al. 2016: BN-ReLU-1x1, BN-ReLU-3x3 (stride), BN-ReLU-1x1 x4, add."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, cfg: BlockConfig) -> None:
        super().__init__()
        width = int(planes * (cfg.width_per_group / 64.0)) * cfg.groups
        s2, aa = cfg.aa(width, stride)
        self.bn1 = cfg.norm_layer(inplanes)
        self.relu1 = cfg.act()
        self.conv1 = cfg.conv1x1(inplanes, width)
        self.bn2 = cfg.norm_layer(width)
        self.relu2 = cfg.act()
        self.conv2 = cfg.conv3x3(width, width, s2, cfg.groups)
        self.aa = aa
        self.bn3 = cfg.norm_layer(width)
        self.relu3 = cfg.act()
        self.conv3 = cfg.conv1x1(width, planes * self.expansion)
        self.se = attention(cfg.attention, planes * self.expansion, cfg.attention_ratio)
        self._init_shortcut(cfg, inplanes, planes * self.expansion, stride)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(pre)))
        out = self.relu3(self.bn3(self.aa(self.conv2(out))))
        out = self._attend(self.conv3(out))
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

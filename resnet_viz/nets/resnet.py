"""The ResNet module (stem, stages of blocks, head) for any spec, and seeded construction; names match torchvision."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from .blocks import Block, BlockConfig, Conv2d, Linear, block_class, conv3x3, norm, zero_last
from .spec import ResNetSpec

__all__ = ["ResNet", "deep_stem", "seeded"]

_SEED_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Torch's global generators seeded with ``seed`` for the block; one block at a time in this process, and the
    CPU generator's state restored afterwards.

    Layer initialisation draws from the global generators, which every thread of a process shares: a lab worker
    runs several tasks in threads, and two of them building nets at once would interleave their draws, so that a
    run would no longer start from its seed's weights.
    """
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class ResNet(nn.Module):
    """Stem, stages ``layer1..layerN``, head; names match torchvision's ResNet."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        bn, bias = spec.batch_norm, not spec.batch_norm
        c = spec.stem_channels
        if spec.stem == "imagenet":  # 7x7/2 conv + 3x3/2 max-pool: /4 before the first stage
            self.conv1: nn.Module = Conv2d(spec.in_channels, c, 7, stride=2, padding=3, bias=bias)
        elif spec.stem == "deep":  # ResNet-C (He et al. 2019): three 3x3 convs in place of the 7x7
            self.conv1 = deep_stem(spec.in_channels, c, bn)
        else:  # CIFAR (He et al. 2015 §4.2): one 3x3 conv, no pooling
            self.conv1 = conv3x3(spec.in_channels, c, bias=bias)
        # Pre-activation CIFAR nets (He et al. 2016) leave BN-ReLU to the first block.
        stem_act = not (spec.variant == "preact" and spec.stem == "cifar")
        self.bn1 = norm(c, bn) if stem_act else nn.Identity()
        self.relu = nn.ReLU() if stem_act else nn.Identity()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if spec.stem != "cifar" else nn.Identity()

        cfg = BlockConfig(
            variant=spec.variant,
            shortcut=spec.shortcut,
            downsample=spec.downsample,
            groups=spec.groups,
            width_per_group=spec.width_per_group,
            batch_norm=bn,
            residual=not spec.plain,
        )
        block = block_class(spec.block, spec.variant)
        self.stage_names: list[str] = []
        for i, (n, planes, stride) in enumerate(zip(spec.layers, spec.stage_widths, spec.stage_strides), 1):
            blocks = []
            for j in range(n):
                blocks.append(block(c, planes, stride if j == 0 else 1, cfg))
                c = planes * block.expansion
            name = f"layer{i}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        if spec.variant == "preact":  # the last block's output still needs its BN-ReLU
            self.post_bn: nn.Module = norm(c, bn)
            self.post_relu: nn.Module = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        # headless (num_classes 0): the pooled features come out, and the state_dict has no fc keys
        self.fc: nn.Module = Linear(c, spec.num_classes) if spec.num_classes else nn.Identity()
        self.out_channels = c
        self._init_weights()

    def _init_weights(self) -> None:
        if next(self.parameters()).is_meta:  # shapes only: initialising storage-less tensors would just cost time
            return
        # As torchvision: He (Kaiming) normal, fan_out, for convs; BN scale 1, shift 0.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.spec.zero_init_residual:  # Goyal et al. 2017: each block starts as the identity
            for m in self.modules():
                if isinstance(m, Block):
                    zero_last(m)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, n) for n in self.stage_names]

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, C0, H/4, W/4) ImageNet stem
        for stage in self.stages():
            x = stage(x)
        if self.spec.variant == "preact":
            x = self.post_relu(self.post_bn(x))
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self.forward_features(x)  # (N, C, h, w)
        x = torch.flatten(self.avgpool(x), 1)  # (N, C)
        return self.fc(x)  # (N, num_classes), or (N, C) headless


def deep_stem(in_channels: int, out_channels: int, bn: bool) -> nn.Sequential:
    """The ResNet-C stem as timm builds it: conv3x3/2, conv3x3, conv3x3 (C/2, C/2, C), BN-ReLU between.

    Module names (``conv1.0``, ``conv1.1``, ``conv1.3``, ``conv1.4``, ``conv1.6``) match timm's, so its
    ``resnet*c`` / ``resnet*d`` state_dicts load unchanged; the stem's last BN-ReLU is ``bn1`` / ``relu``.
    """
    mid = out_channels // 2
    return nn.Sequential(
        conv3x3(in_channels, mid, stride=2, bias=not bn),
        norm(mid, bn),
        nn.ReLU(),
        conv3x3(mid, mid, bias=not bn),
        norm(mid, bn),
        nn.ReLU(),
        conv3x3(mid, out_channels, bias=not bn),
    )

"""The ResNet module (stem, stages of blocks, head) for any spec, and seeded construction; names match torchvision."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
from torch import Tensor, nn

from .antialias import BlurPool2d
from .blocks import Block, BlockConfig, Linear, block_class, zero_last
from .layers import act, conv, conv3x3, norm
from .spec import ResNetSpec

__all__ = ["ResNet", "deep_stem", "seeded", "stem_pool"]

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
        bn, bias, ws = spec.batch_norm, not spec.batch_norm, spec.weight_std
        c = spec.stem_channels
        if spec.stem == "imagenet":  # 7x7/2 conv + 3x3/2 max-pool: /4 before the first stage
            self.conv1: nn.Module = conv(spec.in_channels, c, 7, 2, bias=bias, std=ws)
        elif spec.stem == "deep":  # ResNet-C (He et al. 2019): three 3x3 convs in place of the 7x7
            self.conv1 = deep_stem(spec, spec.in_channels, c)
        else:  # CIFAR (He et al. 2015 §4.2): one 3x3 conv, no pooling
            self.conv1 = conv3x3(spec.in_channels, c, bias=bias, std=ws)
        # Pre-activation CIFAR nets (He et al. 2016) and timm's v2 nets leave norm and ReLU to the first block.
        stem_act = spec.stem_norm and not (spec.variant == "preact" and spec.stem == "cifar")
        self.bn1 = norm(c, bn, spec.norm) if stem_act else nn.Identity()
        self.relu = act(spec.norm, bn) if stem_act else nn.Identity()
        self.maxpool = stem_pool(spec, c)

        cfg = BlockConfig(
            variant=spec.variant,
            shortcut=spec.shortcut,
            downsample=spec.downsample,
            groups=spec.groups,
            width_per_group=spec.width_per_group,
            batch_norm=bn,
            residual=not spec.plain,
            norm=spec.norm,
            weight_std=ws,
            attention=spec.attention,
            attention_ratio=spec.attention_ratio,
            anti_alias=spec.anti_alias,
            projection_kernel=spec.projection_kernel,
            reduce_first=spec.reduce_first,
        )
        block = block_class(spec.block, spec.variant)
        self.stage_names: list[str] = []
        for i, (n, planes, stride) in enumerate(zip(spec.layers, spec.stage_widths, spec.stage_strides), 1):
            blocks = []
            for j in range(n):
                pruned = spec.block_channels(sum(spec.layers[: i - 1]) + j)
                if pruned is None:
                    blocks.append(block(c, planes, stride if j == 0 else 1, cfg))
                    c = planes * block.expansion
                else:  # timm's *_pruned: each block its own widths
                    blocks.append(block(c, planes, stride if j == 0 else 1, cfg, pruned))  # type: ignore[call-arg]
                    c = pruned[2]
            name = f"layer{i}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        if spec.variant == "preact":  # the last block's output still needs its BN-ReLU
            self.post_bn: nn.Module = norm(c, bn, spec.norm)
            self.post_relu: nn.Module = act(spec.norm, bn)
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


def deep_stem(spec: ResNetSpec, in_channels: int, out_channels: int) -> nn.Sequential:
    """The ResNet-C stem as timm builds it: conv3x3/2, conv3x3, conv3x3 (``stem_inner``, then C), norm-ReLU between.

    Module names (``conv1.0``, ``conv1.1``, ``conv1.3``, ``conv1.4``, ``conv1.6``) match timm's, so its
    ``resnet*c`` / ``resnet*d`` / ``*t`` / ``*s`` state_dicts load unchanged; the stem's last norm-ReLU is ``bn1`` /
    ``relu``. timm's tiered stem ("t") is (24, 32, 64), its wide one ("s") (64, 64, 128).
    """
    bn, bias, ws = spec.batch_norm, not spec.batch_norm, spec.weight_std
    a, b = spec.stem_inner
    return nn.Sequential(
        conv3x3(in_channels, a, stride=2, bias=bias, std=ws),
        norm(a, bn, spec.norm),
        act(spec.norm, bn),
        conv3x3(a, b, bias=bias, std=ws),
        norm(b, bn, spec.norm),
        act(spec.norm, bn),
        conv3x3(b, out_channels, bias=bias, std=ws),
    )


def stem_pool(spec: ResNetSpec, c: int) -> nn.Module:
    """What halves the stem's output (timm's ``maxpool``, its name kept for its weights' sake)."""
    if spec.stem == "cifar":
        return nn.Identity()
    bn = spec.batch_norm
    if spec.stem_pool == "conv":  # ResNet-RS (Bello et al. 2021): a 3x3/2 conv, norm, ReLU in the max-pool's place
        aa = spec.anti_alias != "none"
        layers: list[nn.Module] = [conv3x3(c, c, stride=1 if aa else 2, bias=not bn, std=spec.weight_std)]
        if aa:
            layers.append(nn.AvgPool2d(2) if spec.anti_alias == "avg" else BlurPool2d(c, 2))
        return nn.Sequential(*layers, norm(c, bn, spec.norm), act(spec.norm, bn))
    if spec.stem_pool == "fixed":  # BiT: zero-pad, then an unpadded 3x3/2 max-pool (TF's SAME, approximated)
        return nn.Sequential(nn.ConstantPad2d(1, 0.0), nn.MaxPool2d(3, stride=2, padding=0))
    if spec.anti_alias == "avg":  # timm: a 2x2 average pool in the max-pool's place
        return nn.AvgPool2d(2)
    if spec.anti_alias == "blur":  # Zhang 2019: max-pool densely (stride 1), then blur-pool by 2
        return nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), BlurPool2d(c, 2))
    return nn.MaxPool2d(3, stride=2, padding=1)

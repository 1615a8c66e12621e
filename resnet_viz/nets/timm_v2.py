"""timm's ResNetV2 names (``stem.conv``, ``stages.S.blocks.J``, ``norm``, ``head.fc``) as a dialect: a table that maps
each onto the app's (torchvision's) names, so one module and one graph serve both layouts.

Every rename is one-to-one; the only reshape is the head, a 1×1 conv in timm (``head.fc``, (classes, C, 1, 1)) and a
linear layer here ((classes, C)), which compute the same. A projection's conv moves to index 1 after an average pool
(ResNet-D), which leaves no weights: timm's v2 nets pool exactly where their stem is deep (``resnetv2_50d``, ``50t``,
``18d``...), so that is the reading (``avg_down``), and a file that differs is the one choice the weights cannot say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from torch import Tensor

__all__ = ["from_timm_v2", "is_timm_v2", "to_timm_v2"]

# (timm's pattern, the app's name); {s} is the stage index, made 1-based; {d} the projection conv's index
_RULES: Final = (
    (r"stem\.conv\.(.+)", "conv1.{0}"),
    (r"stem\.conv1\.(.+)", "conv1.0.{0}"),
    (r"stem\.norm1\.(.+)", "conv1.1.{0}"),
    (r"stem\.conv2\.(.+)", "conv1.3.{0}"),
    (r"stem\.norm2\.(.+)", "conv1.4.{0}"),
    (r"stem\.conv3\.(.+)", "conv1.6.{0}"),
    (r"stages\.(\d+)\.blocks\.(\d+)\.conv(\d)\.(.+)", "layer{s}.{1}.conv{2}.{3}"),
    (r"stages\.(\d+)\.blocks\.(\d+)\.norm(\d)\.(.+)", "layer{s}.{1}.bn{2}.{3}"),
    (r"stages\.(\d+)\.blocks\.(\d+)\.downsample\.conv\.(.+)", "layer{s}.{1}.downsample.{d}.{2}"),
    (r"norm\.(.+)", "post_bn.{0}"),
    (r"head\.fc\.(.+)", "fc.{0}"),
)
_COMPILED: Final = tuple((re.compile(p), to) for p, to in _RULES)


def is_timm_v2(keys: Mapping[str, object]) -> bool:
    """timm's ResNetV2 layout: a ``stem.`` and ``stages.`` of blocks."""
    return any(k.startswith("stem.") for k in keys) and any(k.startswith("stages.") for k in keys)


def _rename(key: str, avg: bool) -> str | None:
    for pattern, to in _COMPILED:
        if (m := pattern.fullmatch(key)) is not None:
            g = m.groups()
            s = int(g[0]) + 1 if to.startswith("layer") else 0
            return to.format(*g, s=s, d=1 if avg else 0)
    return None


def from_timm_v2(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The file's tensors under the app's names; a key the table does not know is kept as it is (the grammar then
    names it)."""
    avg = "stem.conv1.weight" in tensors  # timm's deep-stemmed v2 nets pool before their projections (above)
    out: dict[str, Tensor] = {}
    for key, value in tensors.items():
        name = _rename(key, avg) or key
        if name == "fc.weight" and value.dim() == 4:
            value = value.flatten(1)  # (classes, C, 1, 1) -> (classes, C): the same map
        out[name] = value
    return out


def to_timm_v2(name: str) -> str:
    """The app's name back in timm's (for sentences about a v2 file): layer2.0.bn1.weight -> stages.1.blocks.0.norm1."""
    rules = (
        (r"conv1\.(weight|bias)", "stem.conv.{0}"),
        (r"conv1\.0\.(.+)", "stem.conv1.{0}"),
        (r"conv1\.1\.(.+)", "stem.norm1.{0}"),
        (r"conv1\.3\.(.+)", "stem.conv2.{0}"),
        (r"conv1\.4\.(.+)", "stem.norm2.{0}"),
        (r"conv1\.6\.(.+)", "stem.conv3.{0}"),
        (r"layer(\d+)\.(\d+)\.conv(\d)\.(.+)", "stages.{s}.blocks.{1}.conv{2}.{3}"),
        (r"layer(\d+)\.(\d+)\.bn(\d)\.(.+)", "stages.{s}.blocks.{1}.norm{2}.{3}"),
        (r"layer(\d+)\.(\d+)\.downsample\.\d\.(.+)", "stages.{s}.blocks.{1}.downsample.conv.{2}"),
        (r"post_bn\.(.+)", "norm.{0}"),
        (r"fc\.(.+)", "head.fc.{0}"),
    )
    for pattern, to in rules:
        if (m := re.fullmatch(pattern, name)) is not None:
            g = m.groups()
            return to.format(*g, s=int(g[0]) - 1 if to.startswith("stages") else 0)
    return name

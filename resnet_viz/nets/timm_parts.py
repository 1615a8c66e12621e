"""What a state_dict of timm's ResNet family says of its parts, read off key names and shapes: its normalisation, its
attention (and SE's reduced width), and the parts of timm's wider family this app does not build, each named."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from ..errors import InputError
from .attention import se_width
from .spec import Norm

__all__ = ["UNSUPPORTED", "attention_of", "norm_of", "pruned_channels", "refuse_named_parts", "refuse_unsupported"]

Shapes = Mapping[str, tuple[int, ...]]

# Parts of timm's wider family that this app does not build, named by a key only they have (timm's resnest.py,
# sknet.py, cbam.py, byobnet's attention pool); the code names the part in the sentence.
UNSUPPORTED: Final = (
    # ResNeSt's split attention by its own layers (fc1, fc2, bn0, rsoftmax): `conv2.conv` alone is timm's ConvNormAct,
    # which SK and CSP nets use too
    (re.compile(r"\.conv2\.(fc1|fc2|bn0|rsoftmax)\."), "ckpt_part_split_attention"),
    (re.compile(r"\.conv2\.paths\.|\.conv2\.attn\."), "ckpt_part_selective_kernel"),
    (re.compile(r"\.se\.(channel|spatial)\."), "ckpt_part_cbam"),
    (re.compile(r"\.se\.(fc|bn|conv2|gather|gate)\."), "ckpt_part_other_attention"),
    (re.compile(r"(^|\.)attnpool\.|(^|\.)attn_pool\."), "ckpt_part_attention_pool"),
)
# SE reduced widths as timm's nets use them: channels / 16 (SE-ResNet), / 4 (ResNet-RS), / 8
_SE_RATIOS: Final = (1 / 16, 0.25, 1 / 8)


def norm_of(shapes: Shapes) -> Norm:
    """BN keeps running statistics; GroupNorm only a scale and shift; EvoNorm-S0 adds ``v``, FRN ``tau``."""
    block_norms = [k for k in shapes if re.match(r"^layer\d+\.\d+\.bn\d\.", k)]
    if any(k.endswith(".v") for k in block_norms):
        return "evonorm_s0"
    if any(k.endswith(".tau") for k in block_norms):
        return "frn"
    return "batch" if any(k.endswith(".running_var") for k in block_norms) else "group"


def attention_of(shapes: Shapes) -> tuple[Literal["none", "se", "eca"], float]:
    """(kind, SE's ratio): ``se.fc1`` is SE, whose reduced width says the ratio; a 1-D ``se.conv`` is ECA."""
    se = {k: v for k, v in shapes.items() if k.endswith(".se.fc1.weight")}
    if se:
        for ratio in _SE_RATIOS:
            if all(v[0] == se_width(v[1], ratio) for v in se.values()):
                return "se", ratio
        key, v = next(iter(se.items()))
        raise InputError("ckpt_se_width", key=key, rd=v[0], channels=v[1])
    return ("eca", 1 / 16) if any(k.endswith(".se.conv.weight") for k in shapes) else ("none", 1 / 16)


def refuse_named_parts(shapes: Shapes) -> None:
    """Name a part of timm's wider family that this app does not build, before any key is called no ResNet's."""
    for key in shapes:
        for pattern, code in UNSUPPORTED:
            if pattern.search(key):
                raise InputError(code, key=key)


def refuse_unsupported(shapes: Shapes, layers: list[int]) -> None:
    """Name what a file of timm's family holds that this app does not build, rather than a shape that did not fit."""
    thirds = {s for s in range(1, len(layers) + 1) if f"layer{s}.0.conv3.weight" in shapes}
    if thirds and len(thirds) != len(layers):  # timm's test_resnet: basic and bottleneck blocks in one net
        raise InputError("ckpt_part_mixed_blocks", key=f"layer{min(thirds)}.0.conv3.weight")


def pruned_channels(shapes: Shapes, layers: list[int]) -> tuple[tuple[int, int, int], ...] | None:
    """A pruned bottleneck net's (first 1x1, 3x3, last 1x1) widths per block (timm's *_pruned), where the blocks of a
    stage differ; None where every stage's blocks are alike (an unpruned net)."""
    out: list[tuple[int, int, int]] = []
    pruned = False
    for s, n in enumerate(layers, 1):
        stage = [tuple(shapes.get(f"layer{s}.{j}.conv{k}.weight", (0,))[0] for k in (1, 2, 3)) for j in range(n)]
        pruned = pruned or len(set(stage)) > 1
        out += stage  # type: ignore[arg-type]
    return tuple(out) if pruned else None

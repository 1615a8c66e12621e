"""The ResNetSpec a checkpoint was saved from, read off its key names and tensor shapes, and checked by building it.

Names say the parts (a ``conv3`` makes a bottleneck, ``conv1.0`` a deep stem, ``post_bn`` a pre-activation net, a
4-D ``downsample.1`` an average-pooled projection), shapes say the sizes (blocks per stage, widths, groups, the
stem's kernel, the classes). Only the stride's place (v1 or v1.5) leaves no trace in the weights, so it is a choice.
The spec read off is then built on the meta device and compared key by key and shape by shape, as
``load_state_dict(strict=True)`` would: a file that does not fit exactly is refused with the first key that did not.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import torch
from torch import Tensor

from ..errors import InputError
from ..i18n import DEFAULT_LANG, Lang, t
from .build import build
from .checkpoint import Checkpoint
from .dialects import refuse_unmapped_part
from .resnet import ResNet
from .spec import PRESETS, AntiAlias, BlockType, ResNetSpec, Shortcut, Stem, preset
from .timm_parts import attention_of, norm_of, pruned_channels, refuse_named_parts, refuse_unsupported
from .timm_v2 import from_timm_v2, is_timm_v2

__all__ = ["Inferred", "display_name", "infer", "infer_spec", "load_weights", "nearest_preset"]

Shapes = Mapping[str, tuple[int, ...]]
StrideAt = Literal["v1", "v1.5"]  # what the weights cannot say: v1 strides the first 1x1, v1.5 the 3x3

# a norm's tensors: BN's, GroupNorm's (weight, bias), EvoNorm-S0's v, FRN's tau
_BN: Final = r"(weight|bias|running_mean|running_var|num_batches_tracked|v|tau)"
# Every key a ResNet of this app (torchvision's and timm's names) can hold; any other key shows it is not one.
_GRAMMAR: Final = re.compile(
    rf"^conv1\.(weight|bias)$|^conv1\.[0-6]\.{_BN}$|^bn1\.{_BN}$|^post_bn\.{_BN}$|^fc\.(weight|bias)$"
    rf"|^maxpool\.[0-3]\.{_BN}$"
    rf"|^layer[1-9]\.\d+\.((conv|bn)[1-3]|downsample\.[0-3])\.{_BN}$"
    r"|^layer[1-9]\.\d+\.se\.(fc1|fc2)\.(weight|bias)$|^layer[1-9]\.\d+\.se\.conv\.weight$"
)
_BLOCK: Final = re.compile(r"^layer(\d+)\.(\d+)\.")


@dataclass(frozen=True)
class Inferred:
    """What a checkpoint holds: the spec read off it, the preset it is laid out as (if any), and where it came from."""

    spec: ResNetSpec
    layout: str | None  # the preset of the same layout, classes and input channels aside; None for a custom one
    nearest: str  # the preset to compare it with: its layout's, else the structurally nearest
    source: Checkpoint  # its tensors under the app's names (a dialect's renamed)
    dialect: str | None = None  # "timm_v2" for timm's ResNetV2 names; None for the app's (torchvision's, timm's v1)
    anti_alias_from: Literal["choice", "arch"] | None = None  # who said the anti-aliasing: the reader, the file's arch

    def line(self, lang: Lang = DEFAULT_LANG) -> str:
        """One line: "ResNet-34 layout, 37 classes, shortcut B, from a training checkpoint (key `state_dict`, ...)"."""
        s, src, sep = self.spec, self.source, t("ckpt.sep", lang)
        if self.layout is not None:
            layout = t("ckpt.layout_preset", lang, name=display_name(self.layout))
        else:
            layout = t("ckpt.layout_custom", lang, block=t(f"block.{s.block}", lang), layers=list(s.layers))
            layout += "".join(sep + t(f"ckpt.trait_{k}", lang, **v) for k, v in _traits(s).items())
        n = s.num_classes
        classes = t("ckpt.headless", lang) if n == 0 else t("ckpt.classes_one" if n == 1 else "ckpt.classes", lang, n=n)
        extra = sep + s.variant if s.block == "bottleneck" and s.variant != "preact" else ""
        shortcut = t("ckpt.shortcut_none", lang) if s.plain else t("ckpt.shortcut", lang, shortcut=s.shortcut)
        if s.anti_alias != "none" or self.anti_alias_from == "arch":  # not in the weights: said where it came from
            said_by = "arch" if self.anti_alias_from == "arch" else "choice"
            extra += sep + t(f"ckpt.aa_{s.anti_alias}_{said_by}", lang, arch=src.arch)
        if self.dialect is not None:
            layout += sep + t(f"ckpt.dialect_{self.dialect}", lang)
        details = [t(f"ckpt.dialect_{src.dialect}", lang)] if src.dialect != "torchvision" else []
        details += [t("ckpt.detail_key", lang, key=src.key)] if src.key else []
        details += [t("ckpt.detail_prefix", lang, prefix=src.prefix)] if src.prefix else []
        source = t(f"ckpt.source_{src.form}", lang)
        if details:
            source += t("ckpt.details", lang, details=sep.join(details))
        return t("ckpt.line", lang, layout=layout, classes=classes, shortcut=shortcut, extra=extra, source=source)


def _traits(s: ResNetSpec) -> dict[str, dict[str, object]]:
    """What sets a custom layout apart, for its line (a preset's name says all of these)."""
    out: dict[str, dict[str, object]] = {f"stem_{s.stem}": {}}
    if s.groups != 1 or s.width_per_group != 64:
        out["groups"] = {"groups": s.groups, "width": s.width_per_group}
    if s.variant == "preact":
        out["preact"] = {}
    if s.downsample == "avg":
        out["avg"] = {}
    if not s.batch_norm:
        out["no_bn"] = {}
    elif s.norm != "batch":
        out[f"norm_{s.norm}"] = {}
    if s.attention != "none":
        out[f"attention_{s.attention}"] = {}
    if s.stem_pool == "conv":
        out["stem_conv_pool"] = {}
    if s.weight_std:
        out["weight_std"] = {}
    out["widths"] = {"widths": "-".join(map(str, s.stage_widths))}
    return out


def display_name(name: str) -> str:
    """resnet34 -> ResNet-34, resnet50d -> ResNet-50-D, resnext50_32x4d -> ResNeXt-50 32×4d, wide_resnet50_2 ->
    Wide ResNet-50-2, preact_resnet164 -> PreAct ResNet-164."""
    rules = (
        (r"resnet(\d+)([cdst]?)", lambda m: f"ResNet-{m[1]}" + (f"-{m[2].upper()}" if m[2] else "")),
        (r"resnext(\d+)_(\d+)x(\d+)d", lambda m: f"ResNeXt-{m[1]} {m[2]}×{m[3]}d"),
        (r"wide_resnet(\d+)_(\d+)", lambda m: f"Wide ResNet-{m[1]}-{m[2]}"),
        (r"preact_resnet(\d+)", lambda m: f"PreAct ResNet-{m[1]}"),
    )
    for pattern, say in rules:
        if (m := re.fullmatch(pattern, name)) is not None:
            return say(m)
    return name


def _need(shapes: Shapes, key: str, dims: int = 4) -> tuple[int, ...]:
    """The shape of ``key``, which must be there with ``dims`` dimensions (4 for a convolution's weight)."""
    if key not in shapes:
        raise InputError("ckpt_missing_key", key=key)
    if len(shapes[key]) != dims:
        raise InputError("ckpt_rank", key=key, shape=_shape(shapes[key]), dims=dims)
    return shapes[key]


def _blocks(shapes: Shapes) -> list[int]:
    """Blocks per stage, from the ``layerS.J.`` keys; stages and blocks must be numbered without gaps."""
    found: dict[int, set[int]] = {}
    for key in shapes:
        if (m := _BLOCK.match(key)) is not None:
            found.setdefault(int(m[1]), set()).add(int(m[2]))
    if not found:  # a stem and a classifier, but no blocks
        raise InputError("ckpt_missing_key", key="layer1.0.conv1.weight")
    for s in range(1, max(found) + 1):
        if s not in found:
            raise InputError("ckpt_gap", missing=f"layer{s}")
        for j in range(max(found[s]) + 1):
            if j not in found[s]:
                raise InputError("ckpt_gap", missing=f"layer{s}.{j}")
    return [len(found[s]) for s in sorted(found)]


def _stem(shapes: Shapes) -> tuple[Stem, int, int]:
    """(stem, output channels, input channels)."""
    if "conv1.0.weight" in shapes:  # ResNet-C/D: conv1.0, conv1.3, conv1.6
        return "deep", _need(shapes, "conv1.6.weight")[0], _need(shapes, "conv1.0.weight")[1]
    out, cin, k, _ = _need(shapes, "conv1.weight")
    if k not in (3, 7):
        raise InputError("ckpt_stem_kernel", key="conv1.weight", k=k)
    return ("imagenet" if k == 7 else "cifar"), out, cin


def _shortcut(shapes: Shapes, layers: list[int], changes: set[tuple[int, int]]) -> tuple[Shortcut, bool]:
    """(option, average-pooled): A has no projection weights, B has them where the shape changes, C everywhere."""
    with_proj = {(int(m[1]), int(m[2])) for k in shapes if (m := re.match(r"^layer(\d+)\.(\d+)\.downsample\.", k))}
    avg = any(k.endswith(".downsample.1.weight") and len(v) == 4 for k, v in shapes.items())
    every = {(s, j) for s, n in enumerate(layers, 1) for j in range(n)}
    if not with_proj and changes:
        return "A", avg
    if with_proj == every and every != changes:
        return "C", avg
    return "B", avg  # any other pattern is B's, and the fit check names the first block that breaks it


def infer_spec(
    shapes: Shapes, *, variant: StrideAt = "v1.5", anti_alias: AntiAlias = "none", timm_v2: bool = False
) -> ResNetSpec:
    """The spec whose state_dict has these keys and shapes (not yet checked against them: see ``infer``).

    ``variant`` and ``anti_alias`` are what weights cannot say. ``timm_v2``: the keys came from timm's ResNetV2 names,
    whose GroupNorm nets with a 7×7 stem are all BiT's (weight-standardised convs, a zero-padded stem pool), which
    weights cannot say either; that is the reading, as timm's registry pairs them.
    """
    if not shapes:
        raise InputError("ckpt_no_tensors")
    refuse_named_parts(shapes)  # a part of timm's wider family is named, before any key is called no ResNet's
    strange = [key for key in shapes if not _GRAMMAR.match(key)]
    if strange:
        refuse_unmapped_part(list(shapes))  # a ResNet but for one part: name the part, not "not a ResNet"
        raise InputError("ckpt_not_resnet", key=strange[0])
    layers = _blocks(shapes)
    refuse_unsupported(shapes, layers)
    block: BlockType = "bottleneck" if any(re.match(r"^layer\d+\.\d+\.conv3\.", k) for k in shapes) else "basic"
    batch_norm = any(re.match(r"^layer\d+\.\d+\.bn\d\.", k) for k in shapes)
    preact = batch_norm and any(k.startswith("post_bn.") for k in shapes)  # without BN the two orders look alike
    norm_kind = norm_of(shapes) if batch_norm else "batch"
    stem, stem_out, in_channels = _stem(shapes)
    stem_mid = None
    if stem == "deep":
        mid = (_need(shapes, "conv1.0.weight")[0], _need(shapes, "conv1.3.weight")[0])
        stem_mid = None if mid == (stem_out // 2, stem_out // 2) else mid
    expansion = 4 if block == "bottleneck" else 1
    channels = pruned_channels(shapes, layers) if block == "bottleneck" else None
    widths: list[int] = []
    for s in range(1, len(layers) + 1):
        if channels is not None:  # pruned: its own widths per block; the net it was pruned from, ImageNet's
            widths.append(64 * 2 ** (s - 1))
            continue
        key = f"layer{s}.0.conv{3 if block == 'bottleneck' else 2}.weight"
        out = _need(shapes, key)[0]
        if out % expansion:
            raise InputError("ckpt_expansion", key=key, channels=out)
        widths.append(out // expansion)
    # a block's first conv may be narrower than its second (timm's reduce_first: SENet-154 halves it)
    first, second = _need(shapes, "layer1.0.conv1.weight")[0], _need(shapes, "layer1.0.conv2.weight")[0]
    reduce_first = second // first if block == "bottleneck" and first and second % first == 0 and not channels else 1
    if block == "basic" and first and widths[0] % first == 0:
        reduce_first = widths[0] // first
    groups, per_group = 1, 64
    if block == "bottleneck":  # conv2 is (width, first / groups, 3, 3); width = planes * per_group / 64 * groups
        inner, fan_in = _need(shapes, "layer1.0.conv2.weight")[:2]
        groups = max(1, first // max(1, fan_in))
        per_group = 64 if channels else max(1, round(inner * 64 / (widths[0] * groups)))
    changes, c = set(), stem_out
    for s, planes in enumerate(widths, 1):
        if s > 1 or c != planes * expansion:
            changes.add((s, 0))
        c = planes * expansion
    shortcut, avg = _shortcut(shapes, layers, changes)
    kernels = {
        v[-1] for k, v in shapes.items() if re.match(r"^layer\d+\.0\.downsample\.\d\.weight$", k) and len(v) == 4
    }
    attention, ratio = attention_of(shapes)
    fc = _need(shapes, "fc.weight", 2) if "fc.weight" in shapes else None
    bit = timm_v2 and stem == "imagenet" and norm_kind == "group"
    return ResNetSpec(
        name="custom",
        stem=stem,
        block=block,
        layers=tuple(layers),
        widths=tuple(widths),
        stem_width=None if stem_out == widths[0] else stem_out,
        variant="preact" if preact else ("v1.5" if block == "basic" else variant),  # basic blocks have one place
        shortcut=shortcut,
        downsample="avg" if avg else "conv",
        groups=groups,
        width_per_group=per_group,
        batch_norm=batch_norm,
        num_classes=fc[0] if fc else 0,
        in_channels=in_channels,
        stem_mid=stem_mid,
        stem_pool="conv" if "maxpool.0.weight" in shapes else ("fixed" if bit else "max"),
        stem_norm=stem == "cifar" or not batch_norm or "bn1.weight" in shapes,
        attention=attention,
        attention_ratio=ratio,
        anti_alias=anti_alias,
        norm=norm_kind,
        weight_std=bit,
        projection_kernel=3 if 3 in kernels else 1,
        reduce_first=reduce_first,
        channels=channels,
    )


def _same_layout(spec: ResNetSpec, name: str) -> bool:
    """True when ``spec`` is preset ``name`` but for its classes, input channels and the stride's place."""
    p = preset(name)
    variant = p.variant if "preact" not in (p.variant, spec.variant) else spec.variant
    if spec.stage_widths != p.stage_widths or spec.stem_channels != p.stem_channels:
        return False
    same = {"widths": p.widths, "width_multiplier": p.width_multiplier, "stem_width": p.stem_width}
    return spec.replace(name=name, num_classes=p.num_classes, in_channels=p.in_channels, variant=variant, plain=False,
                        **same) == p  # fmt: skip


def nearest_preset(spec: ResNetSpec) -> str:
    """The preset most like ``spec``: same family of stem and block first, then the closest stage list."""

    def distance(name: str) -> tuple[int | bool, ...]:
        p = preset(name)
        counts = itertools.zip_longest(spec.layers, p.layers, fillvalue=0)
        return (
            (spec.stem == "cifar") != (p.stem == "cifar"),
            spec.block != p.block,
            spec.attention != p.attention,
            sum(abs(a - b) for a, b in counts),
            (spec.groups, spec.width_per_group) != (p.groups, p.width_per_group),
            spec.stem != p.stem,
            spec.downsample != p.downsample,
            (spec.variant == "preact") != (p.variant == "preact"),
            spec.stage_widths != p.stage_widths,
            spec.shortcut != p.shortcut,
            (spec.norm, spec.anti_alias, spec.stem_pool) != (p.norm, p.anti_alias, p.stem_pool),
            spec.stem_inner != p.stem_inner,
        )

    return min(PRESETS, key=distance)


def _fit(spec: ResNetSpec, shapes: Shapes) -> None:
    """What ``load_state_dict(strict=True)`` would say, found on a meta-device net (nothing allocated)."""
    own = {k: tuple(v.shape) for k, v in build(spec, device="meta").state_dict().items()}
    problems: list[tuple[str, dict[str, object]]] = []
    for key, want in own.items():
        if key not in shapes:
            if not key.endswith("num_batches_tracked"):  # older files lack the counter; load_weights adds it
                problems.append(("ckpt_fit_missing", {"key": key}))
        elif shapes[key] != want:
            problems.append(("ckpt_fit_shape", {"key": key, "got": _shape(shapes[key]), "want": _shape(want)}))
    problems += [("ckpt_fit_unexpected", {"key": k}) for k in shapes if k not in own]
    if problems:
        code, values = problems[0]
        raise InputError(code, count=len(problems), **values)


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) or "scalar"


def _anti_alias_of(checkpoint: Checkpoint) -> AntiAlias | None:
    """What the file's own ``arch`` says of anti-aliasing (timm's train.py saves it, "resnetblur50.bt_in1k"), if any."""
    name = (checkpoint.arch or "").split(".")[0]
    return preset(name).anti_alias if name in PRESETS else None


def infer(
    checkpoint: Checkpoint, *, variant: StrideAt = "v1.5", plain: bool = False, anti_alias: AntiAlias | None = None
) -> Inferred:
    """The spec of ``checkpoint``'s net, named after its preset when it has one's layout, checked to fit exactly.

    ``plain``: a file without shortcut weights whose shapes change holds option A's net or a plain one (the same
    keys); it is option A unless this says plain. A file in timm's ResNetV2 names is read through that dialect's
    table (``timm_v2``): the ``Inferred``'s source then holds the tensors under the app's names, which its net loads
    strictly. Anti-aliasing holds no weights: it is ``anti_alias`` where given (the reader's choice), else what the
    file's ``arch`` names, else none.
    """
    aa_source: Literal["choice", "arch"] | None = "choice" if anti_alias is not None else None
    if anti_alias is None and (from_arch := _anti_alias_of(checkpoint)) is not None:
        anti_alias, aa_source = from_arch, "arch"
    anti_alias = anti_alias or "none"
    dialect = None
    if is_timm_v2(checkpoint.tensors):
        checkpoint = dataclasses.replace(checkpoint, tensors=from_timm_v2(checkpoint.tensors))
        dialect = "timm_v2"
    shapes = checkpoint.shapes
    spec = infer_spec(shapes, variant=variant, anti_alias=anti_alias, timm_v2=dialect == "timm_v2")
    if plain and spec.shortcut == "A":
        spec = spec.replace(plain=True)
    _fit(spec, shapes)
    layout = next((name for name in PRESETS if _same_layout(spec, name)), None)
    if layout is not None:
        spec = spec.replace(name=layout)
    nearest = layout or nearest_preset(spec)
    return Inferred(spec, layout, nearest, checkpoint, dialect=dialect, anti_alias_from=aa_source)


def load_weights(inferred: Inferred, *, device: str | torch.device = "cpu") -> ResNet:
    """The net with the checkpoint's own weights (strictly loaded), in eval mode; nothing is initialised first.

    The net's tensors are the checkpoint's own (float32 files are not copied), so it costs no second copy.
    """
    model = build(inferred.spec, device="meta")
    sd: dict[str, Tensor] = {k: v.float() if v.is_floating_point() else v for k, v in inferred.source.tensors.items()}
    for key in model.state_dict():
        if key.endswith("num_batches_tracked") and key not in sd:
            sd[key] = torch.zeros((), dtype=torch.long)
    model.load_state_dict(sd, strict=True, assign=True)  # meta parameters are replaced by the file's tensors
    return model.to(device).eval()

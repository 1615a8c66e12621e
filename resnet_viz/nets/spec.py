"""Every ResNet the app can build, as data: a frozen spec, its validation, the presets and depth rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final, Literal, get_args

from ..errors import SpecError
from .timm_presets import TIMM_PRESETS

__all__ = [
    "IMAGENET_LAYERS",
    "MAX_DEPTH",
    "MAX_STAGES",
    "MAX_WIDTH",
    "PRESETS",
    "AntiAlias",
    "Attention",
    "BlockType",
    "Downsample",
    "Norm",
    "ResNetSpec",
    "Shortcut",
    "Stem",
    "StemPool",
    "Variant",
    "cifar_spec",
    "imagenet_spec",
    "nearest_depths",
    "preset",
    "spec_from",
]

Stem = Literal["imagenet", "cifar", "deep"]  # deep: ResNet-C/D's three 3x3 convs (He et al. 2019, Fig. 2b)
Downsample = Literal["conv", "avg"]  # how a projection shortcut strides: "avg" pools first (ResNet-D)
BlockType = Literal["basic", "bottleneck"]
Variant = Literal["v1", "v1.5", "preact"]
Shortcut = Literal["A", "B", "C"]
# What timm's ResNet family adds, as data (timm models/resnet.py, resnetv2.py):
# the stem's pool: a 3x3/2 max-pool; RS's 3x3/2 conv-BN-ReLU in its place; BiT's zero pad, then an unpadded max-pool
StemPool = Literal["max", "conv", "fixed"]
Attention = Literal["none", "se", "eca"]  # per block, after its last norm: Hu et al. 2018 (SE), Wang et al. 2020 (ECA)
# anti-aliasing (Zhang 2019): a strided 3x3 conv runs at stride 1, then a 2x2 average or a binomial blur pool strides
AntiAlias = Literal["none", "avg", "blur"]
Norm = Literal["batch", "group", "evonorm_s0", "frn"]  # BN; GroupNorm of 32 groups; EvoNorm-S0 and FRN-TLU (own act)

# Bounds keep a typo (depth 100000) from hanging the app; ResNet-1202 (He et al. 2015 §4.2) fits.
MAX_DEPTH: Final = 2000
MAX_WIDTH: Final = 8192
MAX_STAGES: Final = 8

EXPANSION: Final[dict[BlockType, int]] = {"basic": 1, "bottleneck": 4}
CONVS_PER_BLOCK: Final[dict[BlockType, int]] = {"basic": 2, "bottleneck": 3}

# He et al. 2015, Table 1: block counts per stage of the ImageNet nets.
IMAGENET_LAYERS: Final[dict[int, tuple[BlockType, tuple[int, ...]]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


@dataclass(frozen=True)
class ResNetSpec:
    """A residual network (or its plain twin), validated on construction."""

    name: str = "custom"
    stem: Stem = "imagenet"
    block: BlockType = "bottleneck"
    layers: tuple[int, ...] = (3, 4, 6, 3)  # blocks per stage
    widths: tuple[int, ...] = (64, 128, 256, 512)  # "planes" per stage; a bottleneck outputs 4x this
    stem_width: int | None = None  # None: widths[0] (64 for ImageNet, 16 for CIFAR)
    variant: Variant = "v1.5"  # v1: stride on the first 1x1 (He 2015); v1.5: on the 3x3 (torchvision)
    shortcut: Shortcut = "B"  # A: zero-pad identity, B: projection where the shape changes, C: always
    # conv: a strided 1x1 conv (He et al. 2015); avg: a 2x2 average pool, then a 1x1 conv (ResNet-D, He et al. 2019)
    downsample: Downsample = "conv"
    groups: int = 1  # ResNeXt cardinality (Xie et al. 2017)
    width_per_group: int = 64  # bottleneck inner width = planes * width_per_group / 64 * groups
    width_multiplier: int = 1  # Wide ResNet k (Zagoruyko & Komodakis 2016): scales every stage width
    batch_norm: bool = True
    zero_init_residual: bool = False
    num_classes: int = 1000  # 0: headless (no classifier; the pooled features come out), as timm's num_classes=0
    in_channels: int = 3
    plain: bool = False  # the plain twin: same layers, every shortcut removed
    # timm's parts (defaults: none of them, so torchvision's nets are as before)
    stem_mid: tuple[int, int] | None = None  # a deep stem's inner widths; None: half its width each ((24, 32): tiered)
    stem_pool: StemPool = "max"
    stem_norm: bool = True  # False: the stem ends at its conv, the first block normalises (timm's pre-activation v2)
    attention: Attention = "none"
    attention_ratio: float = 1 / 16  # SE's reduced width: channels * ratio, to a multiple of 8 (timm's SEModule)
    anti_alias: AntiAlias = "none"  # Zhang 2019: leaves no trace in the weights, so a file cannot say it
    norm: Norm = "batch"  # which normalisation, where batch_norm is on
    weight_std: bool = False  # weight-standardised convs (Qiao et al. 2019; BiT's StdConv2d, eps 1e-8)
    projection_kernel: int = 1  # a strided projection's kernel: 3 in SENet-154 (timm's down_kernel_size)
    reduce_first: int = 1  # a block's first conv has width / reduce_first channels: 2 in SENet-154
    # a pruned net's own widths, per bottleneck in order: (first 1x1's, 3x3's, last 1x1's outputs) (timm's *_pruned);
    # ``widths`` stay the net it was pruned from, which sets ECA's kernels
    channels: tuple[tuple[int, int, int], ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "widths", tuple(self.widths))
        if self.stem_mid is not None:
            object.__setattr__(self, "stem_mid", tuple(self.stem_mid))
        if self.channels is not None:
            object.__setattr__(self, "channels", tuple(tuple(c) for c in self.channels))
        _validate(self)

    # -- derived facts ---------------------------------------------------------------------------
    @property
    def expansion(self) -> int:
        return EXPANSION[self.block]

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Planes per stage after the width multiplier."""
        return tuple(w * self.width_multiplier for w in self.widths)

    @property
    def stem_channels(self) -> int:
        """The stem's output channels (a deep stem's inner convs have half as many, as timm's)."""
        return self.stem_width if self.stem_width is not None else self.widths[0]

    def block_channels(self, index: int) -> tuple[int, int, int] | None:
        """A pruned net's (first, inner, out) widths of its ``index``-th block overall; None for an unpruned net."""
        return self.channels[index] if self.channels is not None else None

    @property
    def stem_inner(self) -> tuple[int, int]:
        """A deep stem's first two convs' widths (timm's stem_chs)."""
        return self.stem_mid if self.stem_mid is not None else (self.stem_channels // 2,) * 2  # type: ignore[return-value]

    @property
    def stem_convs(self) -> int:
        """Convs on the stem's path: RS's stem pool is a conv too."""
        return (3 if self.stem == "deep" else 1) + (self.stem_pool == "conv" and self.stem != "cifar")

    @property
    def stage_strides(self) -> tuple[int, ...]:
        return (1,) + (2,) * (len(self.layers) - 1)

    @property
    def depth(self) -> int:
        """Weighted layers on the main path: the stem's convs, every block's convs, the classifier (if any).

        A deep stem counts three convs, so ResNet-50-D is 52 deep though it keeps its family name.
        """
        return self.stem_convs + CONVS_PER_BLOCK[self.block] * sum(self.layers) + (1 if self.num_classes else 0)

    @property
    def total_stride(self) -> int:
        stem = 1 if self.stem == "cifar" else 4  # ImageNet and deep stems: /2 conv, /2 max-pool
        return stem * 2 ** (len(self.layers) - 1)

    @property
    def title(self) -> str:
        """A display name that always carries the depth."""
        twin = "plain-" if self.plain else ""
        if self.name != "custom":
            return f"{twin}{self.name} (depth {self.depth})"
        return f"{twin}custom {self.block} {list(self.layers)} (depth {self.depth})"

    def replace(self, **changes: object) -> ResNetSpec:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def twin(self) -> ResNetSpec:
        """The other half of the pair: residual <-> plain."""
        return self.replace(plain=not self.plain)

    def to_dict(self) -> dict[str, object]:
        """The fields as JSON values; timm's parts only where set, so a spec without them (and the lab's run ids,
        hashed from this) reads as it did before they existed."""
        d = dataclasses.asdict(self)
        d["layers"], d["widths"] = list(self.layers), list(self.widths)
        d["stem_mid"] = list(self.stem_mid) if self.stem_mid is not None else None
        d["channels"] = [list(c) for c in self.channels] if self.channels is not None else None
        for f in _TIMM_FIELDS:
            if d[f.name] == f.default:
                del d[f.name]
        return d


_TIMM_FIELDS: Final = tuple(f for f in dataclasses.fields(ResNetSpec) if f.name in {
    "stem_mid", "stem_pool", "stem_norm", "attention", "attention_ratio", "anti_alias", "norm", "weight_std",
    "projection_kernel", "reduce_first", "channels"})  # fmt: skip


def _check_choice(field: str, value: object, options: tuple[object, ...]) -> None:
    if value not in options:
        raise SpecError("bad_choice", field=field, value=value, options=", ".join(map(str, options)))


def _validate(s: ResNetSpec) -> None:
    _check_choice("stem", s.stem, get_args(Stem))
    _check_choice("block", s.block, get_args(BlockType))
    _check_choice("variant", s.variant, get_args(Variant))
    _check_choice("shortcut", s.shortcut, get_args(Shortcut))
    _check_choice("downsample", s.downsample, get_args(Downsample))
    _check_choice("stem_pool", s.stem_pool, get_args(StemPool))
    _check_choice("attention", s.attention, get_args(Attention))
    _check_choice("anti_alias", s.anti_alias, get_args(AntiAlias))
    _check_choice("norm", s.norm, get_args(Norm))
    _check_choice("projection_kernel", s.projection_kernel, (1, 3))
    if not s.layers:
        raise SpecError("no_stages")
    if len(s.layers) > MAX_STAGES:
        raise SpecError("too_many_stages", stages=len(s.layers), limit=MAX_STAGES)
    if len(s.widths) != len(s.layers):
        raise SpecError("widths_mismatch", widths=len(s.widths), stages=len(s.layers))
    for i, n in enumerate(s.layers, start=1):
        if not isinstance(n, int) or n < 1:
            raise SpecError("stage_blocks", stage=i, value=n)
    for name, value in (
        ("width_multiplier", s.width_multiplier),
        ("groups", s.groups),
        ("width_per_group", s.width_per_group),
        ("in_channels", s.in_channels),
        ("reduce_first", s.reduce_first),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SpecError("positive", field=name, value=value)
    if not isinstance(s.num_classes, int) or isinstance(s.num_classes, bool) or s.num_classes < 0:
        raise SpecError("num_classes", value=s.num_classes)
    for w in (*s.widths, s.stem_channels):
        if not isinstance(w, int) or w < 1:
            raise SpecError("positive", field="width", value=w)
    if max(s.stage_widths) * s.expansion > MAX_WIDTH or s.stem_channels > MAX_WIDTH:
        raise SpecError("too_wide", limit=MAX_WIDTH)
    if s.in_channels > MAX_WIDTH or s.num_classes > 100_000:
        raise SpecError("too_wide", limit=MAX_WIDTH)
    if s.depth > MAX_DEPTH:
        raise SpecError("too_deep", depth=s.depth, limit=MAX_DEPTH)
    if s.block == "basic" and (s.groups != 1 or s.width_per_group != 64):
        raise SpecError("basic_groups")
    if s.block == "bottleneck":
        for planes in s.stage_widths:
            inner = int(planes * (s.width_per_group / 64.0)) * s.groups
            if inner < s.groups:
                raise SpecError("groups_width", groups=s.groups, width=inner)
    if s.shortcut == "A" and s.variant != "preact" and s.plain is False and _channels_shrink(s):
        raise SpecError("option_a_shrink")
    if s.shortcut == "A" and s.downsample == "avg":
        raise SpecError("avg_needs_projection")
    if s.stem == "deep" and s.stem_mid is None and s.stem_channels % 2:
        raise SpecError("deep_stem_odd", width=s.stem_channels)
    if s.stem_mid is not None and (len(s.stem_mid) != 2 or not all(isinstance(w, int) and w >= 1 for w in s.stem_mid)):
        raise SpecError("positive", field="stem_mid", value=s.stem_mid)
    if s.channels is not None:
        _check_channels(s)
    if not 0 < s.attention_ratio <= 1:
        raise SpecError("attention_ratio", value=s.attention_ratio)
    if s.norm in ("evonorm_s0", "frn") and s.variant != "preact":
        # their own non-linearity follows every norm, which a post-activation block's last norm must not have
        raise SpecError("norm_needs_preact", norm=s.norm)
    if s.norm in ("group", "evonorm_s0") and any(c % 32 for c in _normalised_widths(s)):
        raise SpecError("norm_groups", norm=s.norm)


def _check_channels(s: ResNetSpec) -> None:
    """A pruned net's widths: three positive ones per bottleneck, the same output within a stage (the adds need it)."""
    assert s.channels is not None
    if s.block != "bottleneck" or s.variant == "preact" or len(s.channels) != sum(s.layers):
        raise SpecError("channels_blocks", blocks=sum(s.layers), given=len(s.channels))
    i = 0
    for stage, n in enumerate(s.layers, 1):
        outs = {c[2] for c in s.channels[i : i + n]}
        if len(outs) != 1 or any(not isinstance(w, int) or w < 1 for c in s.channels[i : i + n] for w in c):
            raise SpecError("channels_stage", stage=stage)
        i += n


def _normalised_widths(s: ResNetSpec) -> set[int]:
    """Every channel count a norm sees (GroupNorm splits each into 32 groups)."""
    widths = {s.stem_channels, *s.stem_inner} if s.stem == "deep" else {s.stem_channels}
    for planes in s.stage_widths:
        inner = int(planes * (s.width_per_group / 64.0)) * s.groups if s.block == "bottleneck" else planes
        widths |= {inner // s.reduce_first, inner, planes * s.expansion}
    return widths


def _channels_shrink(s: ResNetSpec) -> bool:
    """Option A zero-pads channels, so it cannot map a wider input onto a narrower output."""
    c = s.stem_channels
    for planes in s.stage_widths:
        out = planes * s.expansion
        if out < c:
            return True
        c = out
    return False


def nearest_depths(depth: int, step: int) -> tuple[int, ...]:
    """The valid depths step*n+2 (n >= 1) just below and just above ``depth``."""
    low = step * ((depth - 2) // step) + 2
    return (low, low + step) if low >= step + 2 else (step + 2,)


def cifar_spec(depth: int, *, block: BlockType = "basic", **overrides: object) -> ResNetSpec:
    """He et al. 2015 §4.2 CIFAR nets: 3x3 stem, three stages of n blocks, widths 16/32/64."""
    step = 3 * CONVS_PER_BLOCK[block]  # 6n+2 (basic) or 9n+2 (bottleneck)
    rule = f"{step}n+2"
    if not isinstance(depth, int) or depth < step + 2:
        raise SpecError("depth_too_small", depth=depth, rule=rule, minimum=step + 2)
    if depth > MAX_DEPTH:
        raise SpecError("too_deep", depth=depth, limit=MAX_DEPTH)
    if (depth - 2) % step:
        low, high = nearest_depths(depth, step)
        raise SpecError("depth_rule", depth=depth, rule=rule, low=low, high=high)
    n = (depth - 2) // step
    base: dict[str, object] = {
        "name": f"resnet{depth}",
        "stem": "cifar",
        "block": block,
        "layers": (n, n, n),
        "widths": (16, 32, 64),
        "shortcut": "A" if block == "basic" else "B",
        "num_classes": 10,
    }
    base.update(overrides)
    return ResNetSpec(**base)  # type: ignore[arg-type]


def imagenet_spec(depth: int, **overrides: object) -> ResNetSpec:
    """He et al. 2015 Table 1 nets by depth (18, 34, 50, 101, 152)."""
    if depth not in IMAGENET_LAYERS:
        raise SpecError("imagenet_depth", depth=depth, options="18, 34, 50, 101, 152")
    block, layers = IMAGENET_LAYERS[depth]
    base: dict[str, object] = {"name": f"resnet{depth}", "block": block, "layers": layers}
    base.update(overrides)
    return ResNetSpec(**base)  # type: ignore[arg-type]


# Presets are dict literals (timm style): the fields that differ from ResNetSpec's defaults.
PRESETS: Final[dict[str, dict[str, object]]] = {
    "resnet18": {"block": "basic", "layers": (2, 2, 2, 2)},
    "resnet34": {"block": "basic", "layers": (3, 4, 6, 3)},
    "resnet50": {"layers": (3, 4, 6, 3)},
    "resnet101": {"layers": (3, 4, 23, 3)},
    "resnet152": {"layers": (3, 8, 36, 3)},
    # Xie et al. 2017: 32 groups of width 4 in stage 1.
    "resnext50_32x4d": {"layers": (3, 4, 6, 3), "groups": 32, "width_per_group": 4},
    "resnext101_32x8d": {"layers": (3, 4, 23, 3), "groups": 32, "width_per_group": 8},
    "resnext101_64x4d": {"layers": (3, 4, 23, 3), "groups": 64, "width_per_group": 4},
    # torchvision's wide_resnet50_2 doubles the bottleneck's inner width only.
    "wide_resnet50_2": {"layers": (3, 4, 6, 3), "width_per_group": 128},
    "wide_resnet101_2": {"layers": (3, 4, 23, 3), "width_per_group": 128},
    # He et al. 2019 ("Bag of Tricks"), as timm names them: ResNet-C has the deep stem (3x3 convs 32, 32, 64);
    # ResNet-D adds the average pool before each projection's 1x1 conv, which then strides by 1.
    **{f"resnet{d}c": {"block": b, "layers": n, "stem": "deep"} for d, (b, n) in IMAGENET_LAYERS.items() if d >= 50},
    **{
        f"resnet{d}d": {"block": b, "layers": n, "stem": "deep", "downsample": "avg"}
        for d, (b, n) in IMAGENET_LAYERS.items()
    },
    **{
        f"resnet{d}": {
            "stem": "cifar",
            "block": "basic",
            "layers": ((d - 2) // 6,) * 3,
            "widths": (16, 32, 64),
            "shortcut": "A",
            "num_classes": 10,
        }
        for d in (20, 32, 44, 56, 110, 1202)
    },
    # He et al. 2016 (Identity Mappings), CIFAR: pre-activation bottlenecks, 9n+2.
    **{
        f"preact_resnet{d}": {
            "stem": "cifar",
            "block": "bottleneck",
            "layers": ((d - 2) // 9,) * 3,
            "widths": (16, 32, 64),
            "variant": "preact",
            "shortcut": "B",
            "num_classes": 10,
        }
        for d in (164, 1001)
    },
    **TIMM_PRESETS,
}

TORCHVISION_PRESETS: Final = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
)


def preset(name: str, **overrides: object) -> ResNetSpec:
    """The preset ``name`` with ``overrides`` applied."""
    if name not in PRESETS:
        raise SpecError("unknown_arch", arch=name, options=", ".join(PRESETS))
    fields = {"name": name, **PRESETS[name], **overrides}
    return ResNetSpec(**fields)  # type: ignore[arg-type]


def spec_from(arch_or_spec: str | ResNetSpec, **overrides: object) -> ResNetSpec:
    if isinstance(arch_or_spec, ResNetSpec):
        return arch_or_spec.replace(**overrides) if overrides else arch_or_spec
    return preset(arch_or_spec, **overrides)

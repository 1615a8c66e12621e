"""timm's ResNet family (``timm/models/resnet.py`` and ``resnetv2.py``, timm 1.0) as presets: the spec fields in which
each of its registered models differs from ResNetSpec's defaults, under timm's own names.

Read off timm's ``model_args``: ``stem_type='deep'`` with ``stem_width=w`` is a deep stem of w, w, 2w channels;
``'deep_tiered'`` ("t") is 3w/4, w, 2w; ``avg_down`` pools before each projection (ResNet-D); ``attn_layer`` is the
blocks' attention; ``aa_layer`` their anti-aliasing; ``replace_stem_pool`` RS's conv in the max-pool's place.
The pruned ECA nets keep their own widths per block (``channels``, read off timm's pruning files, Aflalo et al. 2020);
not here: ``test_resnet`` (a different block in each stage).
"""

from __future__ import annotations

from typing import Final

__all__ = ["TIMM_PRESETS"]

_R50, _R101, _R152, _R200 = (3, 4, 6, 3), (3, 4, 23, 3), (3, 8, 36, 3), (3, 24, 36, 3)
_R26, _R269 = (2, 2, 2, 2), (3, 30, 48, 8)
# stems: timm's stem_width=32, stem_type='deep' (32, 32, 64); 'deep_tiered' (24, 32, 64); stem_width=64 'deep'
_D: Final[dict[str, object]] = {"stem": "deep", "stem_width": 64, "downsample": "avg"}  # ResNet-D: deep stem + avg
_T: Final[dict[str, object]] = {**_D, "stem_mid": (24, 32)}
_C: Final[dict[str, object]] = {"stem": "deep", "stem_width": 64}
_S: Final[dict[str, object]] = {"stem": "deep", "stem_width": 128}
_SE: Final[dict[str, object]] = {"attention": "se"}  # timm's SEModule: reduced width channels / 16, to a multiple of 8
_ECA: Final[dict[str, object]] = {"attention": "eca"}
_X32x4: Final[dict[str, object]] = {"groups": 32, "width_per_group": 4}
_X32x8: Final[dict[str, object]] = {"groups": 32, "width_per_group": 8}
_BASIC: Final[dict[str, object]] = {"block": "basic"}
# Bello et al. 2021 (ResNet-RS): deep stem, RS's stem conv in the max-pool's place, ResNet-D projections, SE of 1/4
_RS: Final[dict[str, object]] = {**_D, "stem_pool": "conv", "attention": "se", "attention_ratio": 0.25}
# timm's ResNetV2 (He et al. 2016, pre-activation): the stem ends at its conv; the last block's output is normalised
_V2: Final[dict[str, object]] = {"variant": "preact", "stem_norm": False}
# BiT (Kolesnikov et al. 2020): weight-standardised convs, GroupNorm of 32 groups, a zero-padded stem pool
_BIT: Final[dict[str, object]] = {**_V2, "weight_std": True, "norm": "group", "stem_pool": "fixed"}

# Knapsack-pruned (Aflalo et al. 2020), as timm's pruning files give them: (first 1x1, 3x3, last 1x1) outputs of
# each block, in order
# fmt: off
_PRUNED50: Final = (
    (47, 18, 19), (52, 22, 19), (64, 35, 19),
    (85, 37, 171), (107, 80, 171), (120, 85, 171), (125, 87, 171),
    (198, 126, 818), (255, 232, 818), (256, 233, 818), (253, 235, 818), (256, 225, 818), (256, 239, 818),
    (492, 237, 2022), (512, 500, 2022), (512, 490, 2022),
)
_PRUNED101: Final = (
    (45, 25, 26), (53, 20, 26), (60, 27, 26),
    (81, 24, 142), (93, 49, 142), (102, 54, 142), (122, 78, 142),
    (101, 25, 278), (239, 160, 278), (234, 156, 278), (250, 176, 278), (253, 191, 278), (251, 175, 278),
    (230, 128, 278), (244, 154, 278), (244, 159, 278), (238, 97, 278), (244, 149, 278), (253, 181, 278),
    (245, 119, 278), (255, 216, 278), (256, 201, 278), (253, 149, 278), (254, 141, 278), (256, 190, 278),
    (256, 217, 278), (255, 156, 278), (256, 155, 278), (256, 232, 278), (256, 214, 278),
    (499, 289, 2042), (512, 512, 2042), (512, 502, 2042),
)
# fmt: on

TIMM_PRESETS: Final[dict[str, dict[str, object]]] = {
    # -- resnet.py: plain ResNets and their stems
    "resnet10t": {**_BASIC, "layers": (1, 1, 1, 1), **_T},
    "resnet14t": {"layers": (1, 1, 1, 1), **_T},
    "resnet26": {"layers": _R26},
    "resnet26d": {"layers": _R26, **_D},
    "resnet26t": {"layers": _R26, **_T},
    "resnet50s": {"layers": _R50, **_S},
    "resnet50t": {"layers": _R50, **_T},
    "resnet101s": {"layers": _R101, **_S},
    "resnet152s": {"layers": _R152, **_S},
    "resnet200": {"layers": _R200},
    "resnet200d": {"layers": _R200, **_D},
    "resnet50_gn": {"layers": _R50, "norm": "group"},  # Wu & He 2018
    "resnext50d_32x4d": {"layers": _R50, **_X32x4, **_D},
    "resnext101_32x4d": {"layers": _R101, **_X32x4},
    "resnext101_32x16d": {"layers": _R101, "groups": 32, "width_per_group": 16},
    # -- ECA (Wang et al. 2020)
    "ecaresnet26t": {"layers": _R26, **_T, **_ECA},
    "ecaresnet50d": {"layers": _R50, **_D, **_ECA},
    "ecaresnet50t": {"layers": _R50, **_T, **_ECA},
    "ecaresnetlight": {"layers": (1, 1, 11, 3), "downsample": "avg", **_ECA},
    # Knapsack-pruned (Aflalo et al. 2020): each block its own widths (above)
    "ecaresnet50d_pruned": {"layers": _R50, **_D, **_ECA, "channels": _PRUNED50},
    "ecaresnet101d_pruned": {"layers": _R101, **_D, **_ECA, "channels": _PRUNED101},
    "ecaresnet101d": {"layers": _R101, **_D, **_ECA},
    "ecaresnet200d": {"layers": _R200, **_D, **_ECA},
    "ecaresnet269d": {"layers": _R269, **_D, **_ECA},
    "ecaresnext26t_32x4d": {"layers": _R26, **_X32x4, **_T, **_ECA},
    "ecaresnext50t_32x4d": {"layers": _R50, **_X32x4, **_T, **_ECA},
    # -- squeeze-and-excitation (Hu et al. 2018)
    "seresnet18": {**_BASIC, "layers": (2, 2, 2, 2), **_SE},
    "seresnet34": {**_BASIC, "layers": _R50, **_SE},
    "seresnet50": {"layers": _R50, **_SE},
    "seresnet50t": {"layers": _R50, **_T, **_SE},
    "seresnet101": {"layers": _R101, **_SE},
    "seresnet152": {"layers": _R152, **_SE},
    "seresnet152d": {"layers": _R152, **_D, **_SE},
    "seresnet200d": {"layers": _R200, **_D, **_SE},
    "seresnet269d": {"layers": _R269, **_D, **_SE},
    "seresnext26d_32x4d": {"layers": _R26, **_X32x4, **_D, **_SE},
    "seresnext26t_32x4d": {"layers": _R26, **_X32x4, **_T, **_SE},
    "seresnext50_32x4d": {"layers": _R50, **_X32x4, **_SE},
    "seresnext101_32x4d": {"layers": _R101, **_X32x4, **_SE},
    "seresnext101_32x8d": {"layers": _R101, **_X32x8, **_SE},
    "seresnext101d_32x8d": {"layers": _R101, **_X32x8, **_D, **_SE},
    "seresnext101_64x4d": {"layers": _R101, "groups": 64, "width_per_group": 4, **_SE},
    # SENet-154 (Hu et al. 2018) as Gluon built it: 3x3 strided projections, each block's first conv at half width
    "senet154": {
        "layers": _R152,
        "groups": 64,
        "width_per_group": 4,
        **_S,
        **_SE,
        "projection_kernel": 3,
        "reduce_first": 2,
    },
    # -- anti-aliased (Zhang 2019): blur pools, or timm's 2x2 average pools
    "resnetblur18": {**_BASIC, "layers": (2, 2, 2, 2), "anti_alias": "blur"},
    "resnetblur50": {"layers": _R50, "anti_alias": "blur"},
    "resnetblur50d": {"layers": _R50, **_D, "anti_alias": "blur"},
    "resnetblur101d": {"layers": _R101, **_D, "anti_alias": "blur"},
    "resnetaa34d": {**_BASIC, "layers": _R50, **_D, "anti_alias": "avg"},
    "resnetaa50": {"layers": _R50, "anti_alias": "avg"},
    "resnetaa50d": {"layers": _R50, **_D, "anti_alias": "avg"},
    "resnetaa101d": {"layers": _R101, **_D, "anti_alias": "avg"},
    "seresnetaa50d": {"layers": _R50, **_D, "anti_alias": "avg", **_SE},
    "seresnextaa101d_32x8d": {"layers": _R101, **_X32x8, **_D, "anti_alias": "avg", **_SE},
    "seresnextaa201d_32x8d": {"layers": (3, 24, 36, 4), **_X32x8, **_D, "stem_width": 128, "anti_alias": "avg", **_SE},
    # -- ResNet-RS (Bello et al. 2021)
    "resnetrs50": {"layers": _R50, **_RS},
    "resnetrs101": {"layers": _R101, **_RS},
    "resnetrs152": {"layers": _R152, **_RS},
    "resnetrs200": {"layers": _R200, **_RS},
    "resnetrs270": {"layers": (4, 29, 53, 4), **_RS},
    "resnetrs350": {"layers": (4, 36, 72, 4), **_RS},
    "resnetrs420": {"layers": (4, 44, 87, 4), **_RS},
    # -- resnetv2.py: pre-activation, timm's names (stem.conv, stages.S.blocks.J, norm, head.fc)
    "resnetv2_18": {**_V2, **_BASIC, "layers": (2, 2, 2, 2)},
    "resnetv2_18d": {**_V2, **_BASIC, "layers": (2, 2, 2, 2), **_D},
    "resnetv2_34": {**_V2, **_BASIC, "layers": _R50},
    "resnetv2_34d": {**_V2, **_BASIC, "layers": _R50, **_D},
    "resnetv2_50": {**_V2, "layers": _R50},
    "resnetv2_50d": {**_V2, "layers": _R50, **_D},
    "resnetv2_50t": {**_V2, "layers": _R50, **_T},
    "resnetv2_101": {**_V2, "layers": _R101},
    "resnetv2_101d": {**_V2, "layers": _R101, **_D},
    "resnetv2_152": {**_V2, "layers": _R152},
    "resnetv2_152d": {**_V2, "layers": _R152, **_D},
    "resnetv2_50d_gn": {**_V2, "layers": _R50, **_D, "norm": "group"},
    "resnetv2_50d_evos": {**_V2, "layers": _R50, **_D, "norm": "evonorm_s0"},  # Liu et al. 2020
    "resnetv2_50d_frn": {**_V2, "layers": _R50, **_D, "norm": "frn"},  # Singh & Krishnan 2020
    "resnetv2_50x1_bit": {**_BIT, "layers": _R50},
    "resnetv2_50x3_bit": {**_BIT, "layers": _R50, "width_multiplier": 3, "stem_width": 192},
    "resnetv2_101x1_bit": {**_BIT, "layers": _R101},
    "resnetv2_152x2_bit": {**_BIT, "layers": _R152, "width_multiplier": 2, "stem_width": 128},
}

"""The spec: presets, depth rules and one clear sentence per mistake."""

from __future__ import annotations

import re

import pytest

from resnet_viz.errors import InputError, SpecError
from resnet_viz.nets.choices import make_spec, parse_ints
from resnet_viz.nets.spec import PRESETS, ResNetSpec, cifar_spec, imagenet_spec, nearest_depths, preset

# Depth = convs on the main path + the classifier; the preset names carry the papers' depths. Not ResNet-RS-270 and
# -420, whose names round ((4, 29, 53, 4) blocks make 270 convs in the blocks alone), nor ecaresnetlight (no number).
_NAMED = re.compile(r"(?:resnext|resnetv2_|resnetrs|resnetblur|resnetaa|resnet|senet)(\d+)")
PAPER_DEPTHS = {
    name: int(m[1]) for name in PRESETS if (m := _NAMED.search(name)) and name not in ("resnetrs270", "resnetrs420")
}


@pytest.mark.parametrize("name", list(PAPER_DEPTHS))
def test_preset_depth_matches_its_name(name: str) -> None:
    # ResNet-C/D keep their family's name though the deep stem has three convs where the 7x7 stem had one, and
    # ResNet-RS though its stem strides with a conv where the max-pool was; SENet-154's name counts its stem's three
    p = preset(name)
    extra = (2 if p.stem == "deep" and name != "senet154" else 0) + (p.stem_pool == "conv")
    assert p.depth == PAPER_DEPTHS[name] + extra


def test_cifar_rule_and_nearest_depths() -> None:
    assert cifar_spec(56).layers == (9, 9, 9)
    assert cifar_spec(164, block="bottleneck").layers == (18, 18, 18)
    with pytest.raises(SpecError) as e:
        cifar_spec(75)
    assert str(e.value) == "Depth 75 does not fit 6n+2; try 74 or 80."
    assert e.value.code == "depth_rule" and e.value.values["low"] == 74 and e.value.values["high"] == 80
    with pytest.raises(SpecError, match="does not fit 9n\\+2; try 155 or 164"):
        cifar_spec(160, block="bottleneck")
    assert nearest_depths(75, 6) == (74, 80)
    assert nearest_depths(20, 6) == (20, 26)


def test_imagenet_depths() -> None:
    assert imagenet_spec(101).layers == (3, 4, 23, 3)
    with pytest.raises(SpecError, match="ImageNet depth 60 has no standard stage list"):
        imagenet_spec(60)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"layers": ()}, "no_stages"),
        ({"layers": (1,) * 9, "widths": (8,) * 9}, "too_many_stages"),
        ({"layers": (2, 2), "widths": (64,)}, "widths_mismatch"),
        ({"layers": (2, 0), "widths": (64, 128)}, "stage_blocks"),
        ({"groups": 0}, "positive"),
        ({"num_classes": -3}, "num_classes"),
        ({"shortcut": "A", "downsample": "avg"}, "avg_needs_projection"),
        ({"stem": "deep", "stem_width": 63}, "deep_stem_odd"),
        ({"widths": (64, 128, 256, 0)}, "positive"),
        ({"widths": (64, 128, 256, 4096)}, "too_wide"),
        ({"layers": (3, 4, 700, 3)}, "too_deep"),
        ({"block": "basic", "groups": 32}, "basic_groups"),
        ({"widths": (32, 64, 128, 256), "groups": 4, "width_per_group": 1}, "groups_width"),
        ({"variant": "v2"}, "bad_choice"),
        ({"shortcut": "D"}, "bad_choice"),
        ({"stem": "mnist"}, "bad_choice"),
        ({"block": "basic", "layers": (1, 1), "widths": (64, 32), "shortcut": "A"}, "option_a_shrink"),
    ],
)
def test_every_validation_error_has_its_sentence(fields: dict[str, object], code: str) -> None:
    with pytest.raises(SpecError) as e:
        ResNetSpec(**fields)  # type: ignore[arg-type]
    assert e.value.code == code
    message = str(e.value)
    assert message.endswith(".") and "\n" not in message and "{" not in message


def test_depth_bound_is_a_message_not_a_hang() -> None:
    with pytest.raises(SpecError, match="beyond the limit of 2000"):
        cifar_spec(6 * 2000 + 2)


def test_unknown_arch() -> None:
    with pytest.raises(SpecError, match="Unknown architecture 'resnet51'"):
        preset("resnet51")


def test_make_spec_routes() -> None:
    assert make_spec(arch="resnet50", variant="v1").variant == "v1"
    custom = make_spec(family="imagenet", block="bottleneck", layers="2,2")
    assert custom.widths == (64, 128) and custom.depth == 1 + 3 * 4 + 1
    cifar = make_spec(family="cifar", depth=110)
    assert cifar.layers == (18, 18, 18) and cifar.shortcut == "A" and cifar.num_classes == 10
    with pytest.raises(InputError, match="--arch and --depth cannot be used together"):
        make_spec(arch="resnet50", depth=50)
    with pytest.raises(InputError, match="whole numbers separated by commas"):
        parse_ints("3,four")


def test_twin_and_title() -> None:
    s = preset("resnet56")
    assert s.twin().plain and s.twin().twin() == s
    assert s.title == "resnet56 (depth 56)" and s.twin().title == "plain-resnet56 (depth 56)"

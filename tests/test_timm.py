"""ResNet-C and ResNet-D (He et al. 2019, "Bag of Tricks") against timm, the oracle: its ``resnet*c`` / ``resnet*d``
state_dicts load strictly into our presets with the same outputs, open as those presets from a file, and trace to
timm's parameter counts; MACs and the deep stem's receptive field by hand."""

from __future__ import annotations

import re

import pytest
import torch

from resnet_viz import build, trace
from resnet_viz.nets.checkpoint import Checkpoint
from resnet_viz.nets.infer import infer, load_weights
from resnet_viz.nets.spec import PRESETS, preset
from tests.test_checkpoint import randomized, same_outputs

timm = pytest.importorskip("timm")  # a test dependency (requirements-dev.txt); the app never imports it

TIMM_PRESETS = [name for name in PRESETS if re.fullmatch(r"resnet(18|34|50|101|152)[cd]", name)]


def test_the_c_and_d_presets_are_timms_at_the_papers_depths() -> None:
    depths = ("18", "34", "50", "101", "152")
    assert sorted(TIMM_PRESETS) == sorted(
        n for n in timm.list_models(["resnet*c", "resnet*d"]) if re.fullmatch(rf"resnet({'|'.join(depths)})[cd]", n)
    )


@pytest.mark.parametrize("name", TIMM_PRESETS)
def test_timm_names_shapes_and_params(name: str) -> None:
    with torch.device("meta"):  # shapes only: the deep ones cost seconds to initialise
        ref = timm.create_model(name, pretrained=False)
    sd = ref.state_dict()
    ours = build(name, device="meta").state_dict()
    assert [(k, v.shape) for k, v in ours.items()] == [(k, v.shape) for k, v in sd.items()]  # same order too
    inferred = infer(Checkpoint(f"{name}.pth", "state_dict", None, "", tensors=sd))
    assert inferred.spec == preset(name) and inferred.layout == name
    assert trace(name).totals.params == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("name", [n for n in TIMM_PRESETS if preset(n).depth <= 52])  # the deeper ones repeat blocks
def test_timm_weights_load_strictly_with_the_same_outputs(name: str) -> None:
    torch.manual_seed(0)
    ref = randomized(timm.create_model(name, pretrained=False, num_classes=21))
    inferred = infer(Checkpoint(f"{name}.pth", "state_dict", None, "", tensors=ref.state_dict()))
    assert inferred.spec == preset(name, num_classes=21)
    same_outputs(load_weights(inferred), ref, size=49)  # an odd size: the average pool's ceil_mode must match
    with torch.no_grad():
        feats = ref.forward_features(torch.zeros(1, 3, 49, 49))
    assert trace(name, input_size=49).stages[-1].output_shape == tuple(feats.shape[1:]) == (feats.shape[1], 2, 2)


def test_resnet50d_macs_and_receptive_field_by_hand() -> None:
    r = trace("resnet50d")
    # The deep stem at 224: 3x3/2 convs 3->32, 32->32, 32->64 at 112x112, against the 7x7/2 3->64 it replaces.
    deep = 112 * 112 * (32 * 3 * 9 + 32 * 32 * 9 + 64 * 32 * 9)  # 357,654,528
    seven = 112 * 112 * 64 * 3 * 49  # 118,013,952
    # ResNet-D's 1x1 projections run after the 2x2 pool, at the same output positions as the strided 1x1s they
    # replace, so their MACs are unchanged: resnet50's 4,089,184,256 plus the stem's difference.
    assert r.totals.macs == 4_089_184_256 + deep - seven == trace("resnet50c").totals.macs
    # Receptive field of the stem: 3 (3x3/2), +2*2, +2*2 = 11 (jump 2), then the 3x3/2 max-pool: +2*2 = 15 (jump 4).
    stem = next(s for s in r.stages if s.name == "stem")
    assert stem.rf == (15, 15) and stem.stride == (4, 4)
    pools = [x for x in r.layers if x.type == "AvgPool2d"]
    assert [x.name for x in pools] == ["layer2.0.downsample.0", "layer3.0.downsample.0", "layer4.0.downsample.0"]
    assert all(x.role == "shortcut" and x.kernel == (2, 2) and x.stride == (2, 2) for x in pools)
    assert r.depth == preset("resnet50d").depth == 52  # three stem convs + 48 in the blocks + the classifier

"""The meta-device tracer against torchvision's weight tables, real forward passes and hand computations."""

from __future__ import annotations

import resource

import pytest
import torch
import torchinfo
import torchvision
from torch.nn import functional as F

from resnet_viz import build, trace
from resnet_viz.errors import InputError
from resnet_viz.nets.spec import PRESETS, preset
from resnet_viz.nets.trace import _meta_shape

# torchvision's weight tables: "_ops" is GMACs of one 224x224 image (convs + classifier).
TORCHVISION_GMACS = {
    "resnet18": 1.814,
    "resnet34": 3.664,
    "resnet50": 4.089,
    "resnet101": 7.801,
    "resnet152": 11.514,
    "resnext50_32x4d": 4.23,
    "wide_resnet50_2": 11.398,
    "resnext101_32x8d": 16.414,
    "resnext101_64x4d": 15.46,
    "wide_resnet101_2": 22.753,
}


@pytest.mark.parametrize(("name", "gmacs"), TORCHVISION_GMACS.items())
def test_macs_and_params_match_torchvision_tables(name: str, gmacs: float) -> None:
    r = trace(name)
    assert round(r.totals.macs / 1e9, 3) == gmacs
    with torch.device("meta"):  # only the count is needed: no initialisation
        ref = getattr(torchvision.models, name)()
    assert r.totals.params == sum(p.numel() for p in ref.parameters())
    assert r.depth == int("".join(c for c in name.split("_")[-2 if name.startswith("wide") else 0] if c.isdigit()))


def test_resnet50_v1_saves_three_quarters_of_three_strided_1x1s() -> None:
    # v1 strides conv1 (1x1) of the first block in layer2..4, so each runs at a quarter of the positions.
    # layer2: 56*56*256*128; layer3: 28*28*512*256; layer4: 14*14*1024*512 = 102,760,448 MACs each at stride 1.
    saved = 3 * (102_760_448 - 102_760_448 // 4)
    assert trace("resnet50").totals.macs == 4_089_184_256
    assert trace("resnet50", input_size=224).totals.macs - saved == 3_857_973_248
    assert trace(preset("resnet50", variant="v1")).totals.macs == 3_857_973_248
    # Basic blocks have no 1x1 to move the stride to: v1 and v1.5 are the same net.
    assert trace(preset("resnet18", variant="v1")).totals.macs == trace("resnet18").totals.macs


def _conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


@pytest.mark.parametrize(("h", "w"), [(225, 300), (97, 33), (513, 511), (64, 1000)])
def test_stage_shapes_at_odd_sizes_by_hand(h: int, w: int) -> None:
    r = trace("resnet50", input_size=(h, w))
    hh, ww = _conv_out(h, 7, 2, 3), _conv_out(w, 7, 2, 3)  # conv1
    hh, ww = _conv_out(hh, 3, 2, 1), _conv_out(ww, 3, 2, 1)  # maxpool
    expected = [("stem", (64, hh, ww)), ("layer1", (256, hh, ww))]
    for i, c in enumerate((512, 1024, 2048), start=2):
        hh, ww = _conv_out(hh, 3, 2, 1), _conv_out(ww, 3, 2, 1)  # the strided 3x3 of v1.5
        expected.append((f"layer{i}", (c, hh, ww)))
    assert [(s.name, s.output_shape) for s in r.stages] == expected
    # and against a real forward pass of torchvision's model
    model = torchvision.models.resnet50().eval()
    x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        real = [tuple(x.shape[1:])]
        for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
            x = stage(x)
            real.append(tuple(x.shape[1:]))
    assert [s.output_shape for s in r.stages] == real


def test_layer_shapes_match_torchinfo() -> None:
    # torchinfo runs a real forward pass: an independent oracle for every leaf layer's output shape.
    stats = torchinfo.summary(torchvision.models.resnet18(), input_size=(1, 3, 65, 97), verbose=0, depth=10)
    ti = [(info.get_layer_name(False, False), tuple(info.output_size[1:])) for info in stats.summary_list
          if info.is_leaf_layer]  # fmt: skip
    ours = [(x.type, x.output_shape) for x in trace("resnet18", input_size=(65, 97)).layers
            if x.type not in ("ResidualAdd",)]  # fmt: skip
    # torchvision reuses one ReLU per block; ours has one per use. Compare the weighted and pooling layers.
    keep = ("Conv2d", "BatchNorm2d", "MaxPool2d", "AdaptiveAvgPool2d", "Linear")
    assert [s for s in ti if s[0] in keep] == [s for s in ours if s[0] in keep]


def test_receptive_field_resnet18_by_hand() -> None:
    # conv1 7x7/2: 7 (jump 2); maxpool 3/2: 11 (jump 4); layer1: four 3x3 convs: 43; layer2: 51 (jump 8), 67, 99;
    # layer3: 115 (jump 16), then three more: 211; layer4: 243 (jump 32), then three more: 435.
    r = trace("resnet18")
    assert [(s.name, s.rf[0], s.stride[0]) for s in r.stages] == [
        ("stem", 11, 4), ("layer1", 43, 4), ("layer2", 99, 8), ("layer3", 211, 16), ("layer4", 435, 32),
    ]  # fmt: skip
    assert r.layers[0].rf == (7, 7) and r.layers[0].jump == (2, 2)


def test_records_cover_every_block_and_shortcut_kind() -> None:
    r = trace("resnet20")
    assert len(r.blocks) == 9
    assert [b.shortcut for b in r.blocks] == ["identity"] * 3 + ["pad", "identity", "identity"] * 2
    assert [b.downsamples for b in r.blocks].count(True) == 2
    plain = trace(build("resnet20", device="meta").spec.twin())
    assert {b.shortcut for b in plain.blocks} == {"none"}
    assert sum(1 for x in trace("resnet50").layers if x.type == "ResidualAdd") == 16


def test_activation_bytes_and_depth() -> None:
    r = trace("resnet20")
    assert r.totals.activation_bytes == sum(4 * __import__("math").prod(x.output_shape) for x in r.layers)
    assert r.depth == 20


def test_huge_input_costs_no_memory() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = trace("resnet152", input_size=4096)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.stages[-1].output_shape == (2048, 128, 128)
    assert r.totals.activation_bytes > 30 * 2**30  # the activations it did not allocate
    assert grown_mib < 512


@pytest.mark.parametrize("size", [0, -5, 20000, (3, 4, 5)])
def test_bad_sizes(size: object) -> None:
    with pytest.raises(InputError, match="not valid"):
        trace("resnet18", input_size=size)  # type: ignore[arg-type]


def test_input_smaller_than_total_stride() -> None:
    with pytest.raises(InputError, match="smaller than the total stride 32"):
        trace("resnet50", input_size=16)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_and_its_plain_twin_trace(name: str) -> None:
    res, plain = trace(name), trace(preset(name, plain=True))
    assert res.depth == plain.depth == preset(name).depth
    assert [s.output_shape for s in res.stages] == [s.output_shape for s in plain.stages]
    assert not any(x.type in ("ResidualAdd", "PadShortcut") or x.role == "shortcut" for x in plain.layers)
    assert sum(1 for x in res.layers if x.type == "ResidualAdd") == sum(preset(name).layers)


@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (1, 64, 56, 56), (1, 3, 33, 31)])
def test_meta_shortcuts_match_torch(shape: tuple[int, ...]) -> None:
    """The tracer's shapes for conv, max pooling, adaptive pooling and linear on meta equal torch's on the CPU."""
    meta, cpu = torch.empty(shape, device="meta"), torch.zeros(shape)
    for k, s, p, d in [(3, 2, 1, 1), (1, 1, 0, 1), (7, 2, 3, 1), (3, 1, 1, 2), (2, 2, 0, 1)]:
        w = torch.zeros(5, shape[1], k, k)
        want = tuple(F.conv2d(cpu, w, None, s, p, d).shape)
        assert _meta_shape(F.conv2d, (meta, w, None, s, p, d, 1), {}) == want
        assert _meta_shape(F.conv2d, (meta, w), {"stride": s, "padding": p, "dilation": d}) == want
        assert _meta_shape(F.max_pool2d, (meta, k, s, k // 2, d), {}) == tuple(F.max_pool2d(cpu, k, s, k // 2, d).shape)
    assert _meta_shape(F.max_pool2d, (meta, 3), {"ceil_mode": True}) is None  # left to torch
    for size in (1, (2, 3), (None, 2)):
        assert _meta_shape(F.adaptive_avg_pool2d, (meta, size), {}) == tuple(F.adaptive_avg_pool2d(cpu, size).shape)
    assert _meta_shape(F.linear, (torch.empty(3, 4, device="meta"), torch.zeros(10, 4)), {}) == (3, 10)
    assert _meta_shape(F.linear, (torch.zeros(3, 4), torch.zeros(10, 4)), {}) is None  # only meta tensors

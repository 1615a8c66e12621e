"""DenseNet through the tracer, against torchvision's model and weight table and hand computations."""

from __future__ import annotations

import torch
import torchvision
from torchvision.models import DenseNet, DenseNet121_Weights

from resnet_viz.graph.draw import build_graph
from resnet_viz.nets.densenet import (
    DENSENET121,
    DenseConfig,
    channel_growth,
    dense_layer_params,
    growth_what_if,
    similar_resnet,
    stage_growth,
    trace_densenet,
)


def test_densenet121_params_macs_depth_match_torchvision() -> None:
    r = trace_densenet()
    assert r.totals.params == 7_978_856
    with torch.device("meta"):
        assert r.totals.params == sum(p.numel() for p in torchvision.models.densenet121().parameters())
    # torchvision's weight table: "_ops" is GMACs of one 224x224 image
    assert round(r.totals.macs / 1e9, 3) == DenseNet121_Weights.IMAGENET1K_V1.meta["_ops"] == 2.834
    assert r.depth == DENSENET121.depth == 121  # 1 + 2*(6+12+24+16) + 3 transitions + 1


def test_channels_grow_by_k_inside_each_dense_block() -> None:
    steps = channel_growth(trace_densenet())
    block1 = [s for s in steps if s.stage == "denseblock1"]
    assert [s.channels_in for s in block1] == [64, 96, 128, 160, 192, 224]
    assert block1[-1].channels_out == 64 + 6 * 32 == 256
    ends = {s.stage: (s.channels_in, s.channels_out) for s in steps}  # the last layer of each block
    assert ends == {
        "denseblock1": (224, 256),
        "denseblock2": (128 + 11 * 32, 128 + 12 * 32),
        "denseblock3": (256 + 23 * 32, 256 + 24 * 32),
        "denseblock4": (512 + 15 * 32, 512 + 16 * 32),
    }
    assert len(steps) == 58
    # each dense layer's parameters, by hand: BN(c) + 1x1 c->128 + BN(128) + 3x3 128->32
    assert all(s.params == dense_layer_params(s.channels_in, 32) for s in steps)
    assert dense_layer_params(64, 32) == 128 + 64 * 128 + 256 + 128 * 32 * 9 == 45_440


def test_transitions_halve_and_are_one_block_each() -> None:
    r = trace_densenet()
    assert stage_growth(r) == (
        ("denseblock1", 64, 256), ("transition1", 256, 128), ("denseblock2", 128, 512),
        ("transition2", 512, 256), ("denseblock3", 256, 1024), ("transition3", 1024, 512),
        ("denseblock4", 512, 1024),
    )  # fmt: skip
    trans = [b for b in r.blocks if b.type == "_Transition"]
    assert [(b.name, b.input_shape, b.output_shape) for b in trans] == [
        ("features.transition1", (256, 56, 56), (128, 28, 28)),
        ("features.transition2", (512, 28, 28), (256, 14, 14)),
        ("features.transition3", (1024, 14, 14), (512, 7, 7)),
    ]
    assert trans[0].params == 2 * 256 + 256 * 128 and trans[0].downsamples
    # a dense layer's block record reads the concatenation, not just the list's first tensor
    assert [b.input_shape[0] for b in r.blocks[:3]] == [64, 96, 128]
    assert "1 × _Transition" in build_graph(r, level="stage").source


def test_dense_block_macs_by_hand() -> None:
    # dense block 1 at 56x56: sum over its six layers of 1x1 c_i->128 and 3x3 128->32, c_i = 64 + 32 i
    by_hand = 56 * 56 * sum((64 + 32 * i) * 128 + 128 * 32 * 9 for i in range(6))
    stage = next(s for s in trace_densenet().stages if s.name == "denseblock1")
    assert stage.macs == by_hand == 1_040_449_536


def _channels_by_hand(k: int) -> int:
    c = 64
    for i, n in enumerate((6, 12, 24, 16)):
        c += n * k  # every dense layer appends k channels
        if i < 3:
            c //= 2  # each transition halves them (compression 0.5)
    return c


def test_growth_rate_what_if_against_torchvision_constructor() -> None:
    costs = growth_what_if((12, 32, 48))
    for k, cost in zip((12, 32, 48), costs):
        with torch.device("meta"):
            ref = DenseNet(growth_rate=k, block_config=(6, 12, 24, 16), num_init_features=64)
        assert cost.params == sum(p.numel() for p in ref.parameters())
        assert cost.out_channels == _channels_by_hand(k)
    assert costs[1].params == 7_978_856
    assert costs[0].params < costs[1].params < costs[2].params
    assert costs[0].macs < costs[1].macs < costs[2].macs


def test_similar_resnet_is_the_one_closest_in_macs() -> None:
    dense, resnet = similar_resnet(trace_densenet())
    # torchvision tables: resnet18 1.814, resnet34 3.664, resnet50 4.089 GMACs; DenseNet-121 2.834
    assert resnet.name == "resnet34" and resnet.params == 21_797_672 and resnet.depth == 34
    assert dense.params == 7_978_856 and round(resnet.params / dense.params, 1) == 2.7


def test_odd_input_sizes_match_a_real_forward_pass() -> None:
    r = trace_densenet(DenseConfig(growth_rate=12), input_size=(97, 131))
    model = DenseNet(growth_rate=12, block_config=(6, 12, 24, 16)).eval()
    shapes = []
    x = torch.zeros(1, 3, 97, 131)
    with torch.no_grad():
        for name, module in model.features.named_children():
            x = module(x)
            if name == "pool0" or name.startswith(("denseblock", "transition")):
                shapes.append(tuple(x.shape[1:]))
    assert [s.output_shape for s in r.stages] == shapes

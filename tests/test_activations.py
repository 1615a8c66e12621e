"""Per-node activation statistics, their cache and memory ceiling, and a node's maps (issue 26), against oracles
written here: a forward pass with hooks, torchvision-free hand computations, today's Grad-CAM, the meta trace."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from resnet_viz import build, trace
from resnet_viz.cli import main
from resnet_viz.errors import InputError, ResourceError
from resnet_viz.graph.model import hierarchy
from resnet_viz.graph.overlay import node_overlay
from resnet_viz.nets.choices import make_spec
from resnet_viz.nets.resnet import ResNet
from resnet_viz.nets.spec import ResNetSpec
from resnet_viz.vision.activations import ActivationStats, node_stats, shared_scale
from resnet_viz.vision.budget import (
    ACTIVATION_LIMIT_ENV,
    ACTIVATION_LIMIT_MIB,
    activation_limit,
    check_fits,
    footprint,
)
from resnet_viz.vision.gradcam import gradcam
from resnet_viz.vision.node_maps import node_activation, node_gradcam
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.stats_cache import StatsCache, picture_hash, state_dict_id, weights_id
from resnet_viz.vision.weights import WeightsInfo, twin_of


def no_hooks(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def _net(arch: str | ResNetSpec) -> ResNet:
    torch.manual_seed(0)
    model = build(arch, device="cpu")
    assert isinstance(model, ResNet)
    # Random BN statistics, so batch norm is not the identity and each layer's numbers differ from its input's.
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def resnet18() -> ResNet:
    return _net("resnet18")


@pytest.fixture(scope="module")
def resnet20() -> ResNet:
    return _net("resnet20")


def _picture(size: int, seed: int = 0) -> Tensor:
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _oracle(model: ResNet, x: Tensor) -> dict[str, tuple[tuple[int, ...], float, float, float | None]]:
    """Every graph node's (shape, mean, std, dead), by a hooked pass written here and numpy in float64."""
    outs: list[tuple[str, str, np.ndarray]] = []  # (name, type, output) in the order they ran
    stem_out: list[np.ndarray] = []
    handles = [model.stages()[0].register_forward_pre_hook(lambda _m, i: stem_out.append(i[0][0].numpy().copy()))]
    for name, m in model.named_modules():
        if name and not isinstance(m, nn.Identity):

            def hook(_m: nn.Module, _i: Any, o: Any, name: str = name, kind: str = type(m).__name__) -> None:
                outs.append((name, kind, o[0].detach().numpy().copy()))

            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            logits = model(x)[0].numpy()
    finally:
        for h in handles:
            h.remove()

    def numbers(a: np.ndarray, dead: float | None) -> tuple[tuple[int, ...], float, float, float | None]:
        a64 = a.astype(np.float64)
        return tuple(a.shape), float(a64.mean()), float(a64.std()), dead

    relus = [(n, float((a == 0).sum()) / a.size) for n, k, a in outs if k == "ReLU"]

    def last_relu(inside: Any) -> float | None:
        found = [d for n, d in relus if inside(n)]
        return found[-1] if found else None

    expect = {}
    leaves = {n for n, m in model.named_modules() if n and not any(True for _ in m.children())}
    for name, kind, a in outs:
        if name in leaves:
            expect[name] = numbers(a, float((a == 0).sum()) / a.size if kind == "ReLU" else None)
        elif name in model.stage_names or name.rsplit(".", 1)[0] in model.stage_names:  # a stage or a block
            expect[name] = numbers(a, last_relu(lambda n, p=name: n.startswith(p + ".")))
    stages = tuple(model.stage_names)
    expect["stem"] = numbers(stem_out[0], last_relu(lambda n: not n.startswith(stages) and n in ("relu", "conv1.2")))
    expect["head"] = numbers(logits, last_relu(lambda n: n.startswith("post_")))
    return expect


PREACT20 = make_spec(family="cifar", depth=20, variant="preact")  # no ReLU after the add: blocks take their last


@pytest.mark.parametrize(("arch", "size"), [("resnet18", 64), ("resnet20", 32), (PREACT20, 32)])
def test_statistics_equal_a_hooked_pass_written_here(arch: str | ResNetSpec, size: int) -> None:
    model = _net(arch)
    model.train()
    x = _picture(size)
    got = node_stats(model, x)
    assert no_hooks(model) and model.training  # hooks removed, the mode it came in with restored
    model.eval()
    expect = _oracle(model, x)
    graph = hierarchy(trace(arch, input_size=size))
    assert set(got.nodes) == {n.id for n in graph.nodes.values() if n.kind not in ("input", "output", "run")}
    assert set(got.nodes) == set(expect)
    for node, (shape, mean, std, dead) in expect.items():
        s = got[node]
        assert s.shape == shape, node
        # float32 reductions against numpy's float64: within 1e-6 of the values' size (|mean| + std)
        scale = abs(mean) + std
        assert abs(s.mean - mean) <= 1e-6 * scale and abs(s.std - std) <= 1e-6 * scale, node
        assert s.dead == dead, node  # a share of exact zeros: exactly equal
        assert s.kind == graph[node].kind
    assert np.array_equal(got.logits, expect_logits(model, x))


def expect_logits(model: ResNet, x: Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(x)[0].numpy()


def test_the_plain_twin_shares_the_ids_and_one_scale(resnet20: ResNet) -> None:
    twin = twin_of(resnet20)
    x = _picture(32)
    net, plain = node_stats(resnet20, x), node_stats(twin, x)
    graph = hierarchy(trace(resnet20.spec.twin(), input_size=32))
    assert set(plain.nodes) == {n.id for n in graph.nodes.values() if n.kind not in ("input", "output", "run")}
    # the twin lacks only the adds (and projections, option A pads here: none are modules with outputs of their own)
    assert set(net.nodes) - set(plain.nodes) == {n for n in net.nodes if n.endswith(".add") or ".downsample" in n}
    for stat in ("mean", "std"):
        both = [*net.values(stat).values(), *plain.values(stat).values()]  # type: ignore[arg-type]
        assert shared_scale([net, plain], stat) == (min(both), max(both))  # type: ignore[arg-type]
    assert shared_scale([net, plain], "dead") == (0.0, 1.0)
    assert net["layer1.0.conv1"] == plain["layer1.0.conv1"]  # the same weights and input up to the first add
    lo, hi = shared_scale([net, plain], "std")
    overlay = node_overlay(graph, plain.values("std"), key="std", label="std", lo=lo, hi=hi)
    runs = {n.id: n.children[-1] for n in graph.nodes.values() if n.kind == "run"}
    assert runs["layer1.0-2"] == "layer1.2" and overlay.range() == (lo, hi)
    assert dict(overlay.values) == {**plain.values("std"), **{r: plain[last].std for r, last in runs.items()}}


def _stem_model(bias: float, center: float) -> ResNet:
    """resnet20 whose stem conv reads only input channel 0 into output channel 0 (weight ``center`` at the kernel's
    centre), with batch norm at running mean 0, variance 1, scale 1 and shift ``bias``."""
    model = build("resnet20", device="cpu")
    assert isinstance(model, ResNet)
    with torch.no_grad():
        conv = model.conv1
        assert isinstance(conv, nn.Conv2d) and isinstance(model.bn1, nn.BatchNorm2d)
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = center
        model.bn1.running_mean.zero_()
        model.bn1.running_var.fill_(1.0)
        model.bn1.weight.fill_(1.0)
        model.bn1.bias.fill_(bias)
    return model.eval()


def test_a_relu_whose_input_is_negative_everywhere_is_all_dead() -> None:
    # conv gives 0 everywhere, BN shifts it to -1 / sqrt(1 + eps) < 0: the stem's ReLU input is negative everywhere
    stats = node_stats(_stem_model(bias=-1.0, center=0.0), _picture(32))
    assert stats["bn1"].mean == pytest.approx(-1.0, rel=1e-4) and stats["bn1"].std == 0.0
    assert stats["relu"].dead == 1.0 and stats["stem"].dead == 1.0
    assert stats["relu"].mean == 0.0 and stats["relu"].std == 0.0


def test_a_half_negative_channel_gives_the_hand_counted_share() -> None:
    # channel 0 is +1 on the left half and -1 on the right; the other 15 channels are exactly 0 (a ReLU's zero too):
    # (15 * 32 * 32 + 32 * 16) zeros of 16 * 32 * 32 = 31 / 32
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, :, :16], x[0, 0, :, 16:] = 1.0, -1.0
    stats = node_stats(_stem_model(bias=0.0, center=1.0), x)
    assert stats["relu"].dead == 31 / 32
    assert stats["conv1"].dead is None and stats["layer1.0"].dead == stats["layer1.0.relu2"].dead


def test_gradcam_at_layer4_is_todays_gradcam(resnet18: ResNet) -> None:
    x = _picture(64)
    for tap, cls in (("layer4", None), ("layer4", 7), ("layer3.1", 7), ("stem", None)):
        want = gradcam(resnet18, x, tap=tap, class_index=cls)
        got = node_gradcam(resnet18, x, node=tap, class_index=cls)
        assert got.tap == want.tap and got.class_index == want.class_index and got.score == want.score
        assert np.array_equal(got.cam, want.cam) and np.array_equal(got.weights, want.weights)
    assert no_hooks(resnet18)


def test_gradcam_at_a_conv_matches_its_closed_form(resnet18: ResNet) -> None:
    x = _picture(64)
    kept: list[Tensor] = []
    handle = resnet18.get_submodule("layer3.0.conv2").register_forward_hook(lambda _m, _i, o: kept.append(o))
    try:
        logits = resnet18(x.clone().requires_grad_(True))
        kept[0].retain_grad()
        logits[0, 3].backward()
    finally:
        handle.remove()
        resnet18.zero_grad(set_to_none=True)
    a, g = kept[0].detach()[0].numpy().astype(np.float64), kept[0].grad[0].numpy().astype(np.float64)  # type: ignore[index]
    want = np.maximum((g.mean(axis=(1, 2))[:, None, None] * a).sum(0), 0.0)  # Selvaraju et al. 2017, eq. 1-2
    got = node_gradcam(resnet18, x, node="layer3.0.conv2", class_index=3)
    assert got.cam.shape == (4, 4)
    np.testing.assert_allclose(got.cam, want, rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in resnet18.parameters())


def test_a_nodes_grid_is_its_output_at_any_node(resnet18: ResNet) -> None:
    x = _picture(64)
    outs: dict[str, np.ndarray] = {}
    names = ("layer3.1.conv2", "layer1.1", "layer2", "layer1.0.add", "maxpool")
    handles = [
        resnet18.get_submodule(n).register_forward_hook(lambda _m, _i, o, n=n: outs.__setitem__(n, o[0].numpy()))
        for n in names
    ]
    try:
        with torch.no_grad():
            resnet18(x)
    finally:
        for h in handles:
            h.remove()
    for n in names:
        rec = node_activation(resnet18, x, node=n)
        assert rec.name == n and np.array_equal(rec.values, outs[n])
        assert rec.top(3) == tuple(int(i) for i in np.argsort(-outs[n].mean(axis=(1, 2)), kind="stable")[:3])
    assert node_activation(resnet18, x, node="layer3.1.conv2").kind == "layer"
    assert np.array_equal(node_activation(resnet18, x, node="stem").values, outs["maxpool"])
    assert np.array_equal(node_activation(resnet18, x, node="layer1.0-1").values, outs["layer1.1"])  # a folded run
    assert no_hooks(resnet18)


@pytest.mark.parametrize(("node", "code"), [("layer9.conv1", "node_unknown"), ("layer1.0.downsample", "node_unknown"),
                                            ("head", "node_not_spatial"), ("fc", "node_not_spatial")])  # fmt: skip
def test_a_node_without_maps_is_one_sentence(resnet18: ResNet, node: str, code: str) -> None:
    for fn in (node_activation, node_gradcam):
        with pytest.raises(InputError) as e:
            fn(resnet18, _picture(32), node=node)
        assert e.value.code == code
        for lang in ("en", "zh"):
            assert "\n" not in e.value.message(lang) and e.value.message(lang).endswith(("。", "."))
    assert no_hooks(resnet18)


@pytest.fixture
def meta_resnet152() -> Iterator[tuple[ResNet, list[int]]]:
    model = build("resnet152", device="meta")  # shapes only: nothing allocated
    assert isinstance(model, ResNet)
    calls: list[int] = []
    handle = model.register_forward_pre_hook(lambda _m, _i: calls.append(1))
    yield model, calls
    handle.remove()


def test_beyond_the_ceiling_is_one_sentence_and_nothing_runs(meta_resnet152: tuple[ResNet, list[int]]) -> None:
    model, calls = meta_resnet152
    x = torch.empty(1, 3, 448, 448, device="meta")
    fp = footprint(model.spec, (448, 448))
    report = trace("resnet152", input_size=448)
    assert fp.kept == 3 * 448 * 448 * 4 + report.totals.activation_bytes + 2 * fp.largest
    assert fp.largest == max(r.activation_bytes for r in report.layers) == 256 * 112 * 112 * 4
    with pytest.raises(ResourceError) as e:
        node_stats(model, x, limit=64 * 2**20)
    assert e.value.code == "activations_too_big" and e.value.values["need"] == f"{fp.streamed / 2**20:.0f} MiB"
    assert e.value.message("en") == (
        f"{model.spec.title} at 448×448 pixels would hold about {fp.streamed / 2**20:.0f} MiB of activations for one "
        "picture, more than the limit of 64 MiB; choose a smaller net or input size."
    )
    zh = e.value.message("zh")
    assert zh.count("。") == 1 and zh.endswith("。") and "64 MiB" in zh and "\n" not in zh
    for fn in (node_activation, node_gradcam):  # Grad-CAM keeps every activation: 1.2 GiB over the default 1 GiB
        with pytest.raises(ResourceError):
            fn(model, x, node="layer4", limit=ACTIVATION_LIMIT_MIB * 2**20 if fn is node_gradcam else 64 * 2**20)
    assert calls == [] and no_hooks(model.stages()[0]) and not model._forward_hooks  # only the counter is left
    assert check_fits(model.spec, (448, 448), kept=False, limit=ACTIVATION_LIMIT_MIB * 2**20) == fp  # stats: fits


def test_the_ceiling_has_an_environment_override(monkeypatch: pytest.MonkeyPatch, resnet20: ResNet) -> None:
    monkeypatch.delenv(ACTIVATION_LIMIT_ENV, raising=False)
    assert activation_limit() == ACTIVATION_LIMIT_MIB * 2**20
    monkeypatch.setenv(ACTIVATION_LIMIT_ENV, "0.25")
    assert activation_limit() == 2**18
    with pytest.raises(ResourceError):  # resnet20 at 32 streams ~0.65 MiB
        node_stats(resnet20, _picture(32))
    monkeypatch.setenv(ACTIVATION_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match=ACTIVATION_LIMIT_ENV):
        activation_limit()


def _counted(model: ResNet) -> list[int]:
    calls: list[int] = []
    model.register_forward_pre_hook(lambda _m, _i: calls.append(1))
    return calls


def test_the_cache_runs_each_net_weights_and_picture_once() -> None:
    model = _net("resnet20")
    twin = twin_of(model)
    calls, twin_calls = _counted(model), _counted(twin)
    cache = StatsCache(max_entries=3)
    wid = state_dict_id(model)
    a, b = _picture(32, 0), _picture(32, 1)
    first = cache.stats(model, a, weights=wid)
    assert cache.stats(model, a.clone(), weights=wid) is first and calls == [1]  # same content, another tensor
    cache.stats(model, b, weights=wid)
    assert calls == [1, 1]
    cache.stats(twin, a, weights=wid)  # the twin's spec is its own key
    assert twin_calls == [1] and len(cache) == 3
    assert cache.stats(model, a, weights=wid) is first  # now the most recently used; (model, b) the least
    cache.stats(model, a, weights="another")  # a fourth key evicts (model, b)
    assert cache.stats(model, a, weights=wid) is first and len(calls) == 3
    cache.stats(model, b, weights=wid)
    assert len(calls) == 4 and len(cache) == 3


def test_the_same_key_at_once_is_computed_once() -> None:
    model = _net("resnet20")
    calls = _counted(model)
    started, go = threading.Event(), threading.Event()

    def hold(_m: nn.Module, _i: Any) -> None:  # the first caller stays inside its forward pass until told
        started.set()
        go.wait(5)

    model.register_forward_pre_hook(hold)
    cache, x = StatsCache(), _picture(32)
    got: list[ActivationStats] = []
    first = threading.Thread(target=lambda: got.append(cache.stats(model, x, weights="w")))
    first.start()
    started.wait(5)  # the first caller is inside the forward pass now
    second = threading.Thread(target=lambda: got.append(cache.stats(model, x, weights="w")))
    second.start()
    go.set()
    first.join(10)
    second.join(10)
    assert calls == [1] and len(got) == 2 and got[0] is got[1]


def test_weights_ids() -> None:
    model = _net("resnet20")
    assert weights_id(WeightsInfo("imagenet", detail="ResNet50_Weights.IMAGENET1K_V2"), model) == (
        "imagenet:ResNet50_Weights.IMAGENET1K_V2"
    )
    assert weights_id(WeightsInfo("lab", detail="0123abcd"), model) == "lab:0123abcd"
    same = _net("resnet20")
    assert weights_id(WeightsInfo("random"), model) == weights_id(WeightsInfo("file", detail="x.pth"), same)
    with torch.no_grad():
        same.fc.bias[0] += 1.0  # type: ignore[index]
    assert state_dict_id(model) != state_dict_id(same)
    x = _picture(32)
    assert picture_hash(x) == picture_hash(x.clone()) != picture_hash(x[..., :16, :16])


def test_cli_stats_json(tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_VIZ_OFFLINE", "1")
    img = tmp_path / "cat.jpg"
    img.write_bytes(sample_bytes("cat"))
    argv = ["features", "--arch", "resnet20", "--image", str(img), "--input-size", "32", "--weights", "random"]
    assert main([*argv, "--stats", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    graph = hierarchy(trace("resnet20", input_size=32))
    assert got["arch"] == "resnet20" and got["input_shape"] == [3, 32, 32] and "prediction" not in got
    assert {n["node"] for n in got["nodes"]} == {
        n.id for n in graph.nodes.values() if n.kind not in ("input", "output", "run")
    }
    relu = next(n for n in got["nodes"] if n["node"] == "layer2.0.relu1")
    assert relu["type"] == "ReLU" and 0 <= relu["dead"] <= 1 and relu["shape"] == [32, 16, 16]
    assert all(math.isfinite(n["std"]) for n in got["nodes"])
    with pytest.raises(SystemExit) as e:
        main([*argv, "--stats", "--out-dir", str(tmp_path)])
    assert e.value.code == 2
    assert capsys.readouterr().err == "error: --stats and --out-dir cannot be used together.\n"
    monkeypatch.setenv(ACTIVATION_LIMIT_ENV, "0.1")
    with pytest.raises(SystemExit) as e:
        main([*argv, "--stats", "--json"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: resnet20") and err.count("\n") == 1

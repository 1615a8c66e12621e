"""The lab's insights against hand computations: directions, landscapes, lesions, ERFs, responses, shattering."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_viz import build, cifar_spec
from resnet_viz.i18n import LANGS, t
from resnet_viz.lab.data import synthetic
from resnet_viz.lab.insights import (
    HELD_OUT_SEED,
    ToyNet,
    autocorrelation,
    effective_receptive_field,
    effective_receptive_fields,
    evaluate,
    filter_normalized_direction,
    grid_axis,
    held_out,
    hessian_extremes,
    layer_responses,
    lesion_study,
    lesioned,
    loss_landscape,
    neighbour_gradients,
    response_layers,
    response_std,
    shattered_gradients,
)
from resnet_viz.plots import insights as plots

TINY = cifar_spec(14, widths=(4, 8, 16))  # two basic blocks per stage, option A: six blocks, two downsample


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny tensors: one thread is faster, and kinder to a shared machine; the setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def nets() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    residual = build(TINY, device="cpu").eval()
    torch.manual_seed(0)
    return {"residual": residual, "plain": build(TINY.twin(), device="cpu").eval()}


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return held_out(16)


def _round_trip(record: object) -> object:
    return type(record).from_json(json.loads(json.dumps(record.to_json())))  # type: ignore[attr-defined]


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


# -- held-out data -------------------------------------------------------------------------------------------


def test_held_out_is_a_draw_no_training_seed_makes() -> None:
    # torch's CPU generator keeps a seed's low 32 bits: 2**32 + s is s. The held-out seed avoids 0..2**31-1 there.
    assert torch.equal(synthetic(4, seed=2**32 + 5).images, synthetic(4, seed=5).images)
    assert HELD_OUT_SEED % 2**32 > 2**31 - 1
    x, y = held_out(6)
    assert x.shape == (6, 3, 32, 32) and y.shape == (6,)
    assert torch.equal(held_out(3)[0], x[:3])  # smaller requests are prefixes
    for seed in (0, 2**31 - 1):
        train = synthetic(2048, seed=seed).images  # (2048, 3, 32, 32)
        assert float((train[:, None] - x[None]).abs().mean(dim=(2, 3, 4)).min()) > 0.5  # no image is shared


# -- landscape -----------------------------------------------------------------------------------------------


def test_filter_normalized_direction_by_hand() -> None:
    weight = torch.stack([torch.full((2, 3, 3), float(i + 1)) for i in range(3)])  # (3, 2, 3, 3), ‖θ[i]‖ = (i+1)√18
    weight[2] = 0.0  # a dead filter gets no direction
    bias, bn = torch.ones(3), torch.full((3,), 2.0)
    d_weight, d_bias, d_bn = filter_normalized_direction([weight, bias, bn], generator=torch.Generator().manual_seed(7))
    raw = torch.randn((3, 2, 3, 3), generator=torch.Generator().manual_seed(7))  # the same draw, by hand
    for i, norm in enumerate([math.sqrt(18), 2 * math.sqrt(18)]):
        assert float(d_weight[i].norm()) == pytest.approx(norm, rel=1e-6)
        assert torch.allclose(d_weight[i], raw[i] / raw[i].norm() * norm, rtol=1e-6)
    assert torch.equal(d_weight[2], torch.zeros(2, 3, 3))
    assert torch.equal(d_bias, torch.zeros(3)) and torch.equal(d_bn, torch.zeros(3))


def test_grid_axis_has_exact_ends_and_centre() -> None:
    assert grid_axis(21)[0] == -1.0 and grid_axis(21)[10] == 0.0 and grid_axis(21)[20] == 1.0
    assert grid_axis(4) == (-1.0, -1 / 3, 1 / 3, 1.0)
    with pytest.raises(ValueError):
        grid_axis(1)


def test_landscape_centre_is_the_plain_evaluation_and_weights_come_back(nets, data) -> None:
    x, y = data
    before = {n: _state(m) for n, m in nets.items()}
    nets["residual"].train()  # the mode comes back too
    seen: list[float] = []
    record = loss_landscape(nets, x, y, grid=3, seed=4, hessian_images=4, power_iters=2, progress=seen.append)
    assert nets["residual"].training and not nets["plain"].training
    nets["residual"].eval()
    for s in record.nets:
        model = nets[s.net]
        plain = evaluate(model, x, y)
        assert s.centre_loss == plain.loss and s.grid_loss[1][1] == plain.loss and s.slice_loss[1] == plain.loss
        assert s.slice_loss == s.grid_loss[1]  # the 1-D slice is the β = 0 row
        assert all(torch.equal(v, before[s.net][k]) for k, v in model.state_dict().items())
        # a corner by hand: θ - δ + η with the same seed's directions (δ first, then η), on a copy
        twin = copy.deepcopy(model)
        g = torch.Generator().manual_seed(4)
        params = list(twin.parameters())
        delta = filter_normalized_direction(params, generator=g)
        eta = filter_normalized_direction(params, generator=g)
        with torch.no_grad():
            for p, d, e in zip(params, delta, eta):
                p.add_(-1.0 * d + 1.0 * e)
        assert s.grid_loss[2][0] == pytest.approx(evaluate(twin, x, y).loss, rel=1e-6)  # row β = 1, column α = -1
        assert s.grid_loss[0][0] != s.centre_loss
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert _round_trip(record) == record
    even = loss_landscape({"plain": nets["plain"]}, x[:4], y[:4], grid=2, hessian_images=2, power_iters=1)
    assert even.alphas == (-1.0, 1.0) and even.nets[0].upward_share is None
    assert even.nets[0].centre_loss == evaluate(nets["plain"], x[:4], y[:4]).loss


def test_hessian_extremes_match_the_full_hessian() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 3))  # 67 parameters
    x, y = torch.randn(10, 3, 2, 2), torch.randint(0, 3, (10,))
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat0 = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss(flat: torch.Tensor) -> torch.Tensor:
        chunks, i = {}, 0
        for n, s in zip(names, shapes):
            chunks[n], i = flat[i : i + s.numel()].view(s), i + s.numel()
        return F.cross_entropy(torch.func.functional_call(model, chunks, (x,)), y)

    eig = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat0).double())
    c = hessian_extremes(model, x, y, iterations=300, batch_size=4)
    assert c.eig_max == pytest.approx(float(eig[-1]), rel=1e-4)
    assert c.eig_min == pytest.approx(float(eig[0]), abs=1e-3 * float(eig[-1]))
    assert float(eig[0]) < 0  # indefinite: the shifted iteration had something to find
    assert c.ratio == pytest.approx(abs(c.eig_min) / c.eig_max)


# -- lesions -------------------------------------------------------------------------------------------------


def test_lesion_of_a_zeroed_branch_changes_nothing_and_shapes_are_marked(nets, data) -> None:
    x, y = data
    model = copy.deepcopy(nets["residual"])
    with torch.no_grad():  # layer1.1's branch now outputs exactly 0: deleting it must change nothing
        model.layer1[1].bn2.weight.zero_()
        model.layer1[1].bn2.bias.zero_()
    seen: list[float] = []
    record = lesion_study({"residual": model, "plain": nets["plain"]}, x, y, draws=2, progress=seen.append)
    res, plain = record.nets
    assert [b.name for b in res.blocks] == [f"layer{s}.{j}" for s in (1, 2, 3) for j in (0, 1)]
    zeroed = res.blocks[1]
    assert zeroed.loss == pytest.approx(res.baseline.loss, abs=1e-6) and zeroed.accuracy == res.baseline.accuracy
    assert res.blocks[0].loss != pytest.approx(res.baseline.loss, abs=1e-6)  # a live block does change it
    assert [b.downsamples for b in res.blocks] == [False, False, True, False, True, False]
    assert all(b.skippable for b in res.blocks)
    assert [b.skippable for b in plain.blocks] == [True, True, False, True, False, True]
    assert [b.accuracy is None for b in plain.blocks] == [False, False, True, False, True, False]
    assert [r.k for r in res.random_k] == [1, 2, 3, 4, 5, 6] and [r.k for r in plain.random_k] == [1, 2, 3, 4]
    assert [r.draws for r in res.random_k] == [2, 2, 2, 2, 2, 1]  # k = 6: only one set exists
    with lesioned(model, [b.name for b in res.blocks]):
        assert res.random_k[-1].error == 1.0 - evaluate(model, x, y).accuracy
    assert evaluate(model, x, y) == res.baseline  # the hooks are gone
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert _round_trip(record) == record


def test_lesioned_blocks_compute_what_a_hand_built_net_does(nets, data) -> None:
    x = data[0][:4]
    for net, deleted in (("residual", "layer2.0"), ("residual", "layer1.1"), ("plain", "layer1.1")):
        m = nets[net]
        with torch.no_grad():
            h = m.relu(m.bn1(m.conv1(x)))
            for name, block in ((f"layer{s}.{j}", m.get_submodule(f"layer{s}")[j]) for s in (1, 2, 3) for j in (0, 1)):
                if name != deleted:
                    h = block(h)
                elif block.downsample is not None:  # option A: the zero-pad shortcut, then the block's ReLU
                    h = torch.relu(block.downsample(h))
            by_hand = m.fc(torch.flatten(m.avgpool(h), 1))
            with lesioned(m, [deleted]):
                assert torch.equal(m(x), by_hand)


# -- effective receptive field -------------------------------------------------------------------------------


def test_erf_of_one_3x3_conv_is_its_support() -> None:
    conv = nn.Conv2d(3, 1, 3, padding=1, bias=False)
    w = torch.ones(1, 3, 3, 3)
    w[0, :, 1, 1] = 10.0  # Σ_c |w| = 30 at the centre, 3 elsewhere: the centre holds 30 / 54 of the mass
    w[0, 0, 0, 0] = -4.0  # |-4| + 1 + 1 = 6 at the top-left corner
    with torch.no_grad():
        conv.weight.copy_(w)
    r = effective_receptive_field(conv, torch.randn(3, 3, 32, 32), margin=4)
    assert (r.stage, r.rf, r.jump, r.size) == ("output", 3, 1, 11)
    heat = torch.tensor(r.heat)
    expected = torch.zeros(11, 11)
    expected[4:7, 4:7] = w[0].abs().sum(0) / w[0].abs().sum()  # (3, 3): the gradient does not depend on x
    assert torch.allclose(heat.float(), expected, atol=1e-7)
    assert ((heat != 0) == (expected != 0)).all()  # non-zero exactly on the centred 3×3 window
    assert (r.side50, r.side95) == (1, 3)  # 30/57 ≥ 50% in the centre pixel; 95% needs the whole window
    assert _round_trip(r) == r


def test_erf_of_a_resnet_stays_inside_the_theoretical_field(nets, data) -> None:
    records = effective_receptive_fields(nets, data[0][:2], margin=3)
    for r in records:
        assert (r.stage, r.rf, r.jump) == ("layer3", 53, 4)  # stem 3, + 4 convs·2, + (2 + 3·4), + (4 + 3·8)
        heat = torch.tensor(r.heat, dtype=torch.float64)
        inside = torch.zeros_like(heat, dtype=torch.bool)
        inside[3:-3, 3:-3] = True  # the rf×rf centred square
        assert float(heat[~inside].abs().sum()) == 0.0
        assert float(heat[3, 3:-3].sum() + heat[-4, 3:-3].sum()) > 0  # the gradient reaches the field's edge
        assert 1 <= r.side50 <= r.side95 <= r.rf
        assert abs(float(heat.sum()) - 1.0) < 1e-9


# -- layer responses -----------------------------------------------------------------------------------------


def test_response_std_equals_a_hand_forward(nets, data) -> None:
    x = data[0][:6]
    m = nets["residual"]
    by_hand: dict[str, float] = {}
    with torch.no_grad():
        h = m.bn1(m.conv1(x))
        by_hand["conv1"] = float(h.std())
        h = m.relu(h)
        for s in (1, 2, 3):
            for j, b in enumerate(m.get_submodule(f"layer{s}")):
                a = b.bn1(b.conv1(h))
                c = b.bn2(b.conv2(b.relu1(a)))
                by_hand[f"layer{s}.{j}.conv1"], by_hand[f"layer{s}.{j}.conv2"] = float(a.std()), float(c.std())
                h = b.relu2(c + (b.downsample(h) if b.downsample is not None else h))
    got = response_std(m, x, batch_size=4)  # two batches: the running sums must combine exactly
    assert list(got) == list(by_hand)
    assert list(got.values()) == pytest.approx(list(by_hand.values()), rel=1e-6)
    record = layer_responses(nets, x)
    assert record.nets[0].sorted_std == tuple(sorted(record.nets[0].std, reverse=True))
    assert _round_trip(record) == record


def test_response_layers_follow_the_tensors() -> None:
    no_bn = build(cifar_spec(8, widths=(2, 2, 2), batch_norm=False), device="cpu")
    assert set(response_layers(no_bn, torch.zeros(1, 3, 32, 32)).values()) == {
        "conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "layer2.0.conv2", "layer3.0.conv1",
        "layer3.0.conv2",
    }  # fmt: skip
    preact = build(cifar_spec(11, block="bottleneck", variant="preact", widths=(2, 2, 2)), device="cpu")
    pairs = response_layers(preact, torch.zeros(1, 3, 32, 32))
    assert pairs["conv1"] == "layer1.0.bn1"  # the stem conv feeds the first block's pre-activation BN
    assert pairs["layer1.0.conv2"] == "layer1.0.bn3"  # the bottleneck's 3×3, then its BN
    assert len(pairs) == 4  # the stem and one 3×3 per block; the 1×1 convs are not responses


# -- shattered gradients -------------------------------------------------------------------------------------


def test_autocorrelation_by_hand() -> None:
    assert autocorrelation([1.0, -1.0, 1.0, -1.0], max_lag=3) == (1.0, -0.75, 0.5, -0.25)
    assert autocorrelation([2.0, 2.0, 2.0], max_lag=1) == (1.0, 1.0)
    g = np.random.default_rng(0).normal(size=50)
    c = g - g.mean()
    numpy = np.correlate(c, c, mode="full")[49:] / (c @ c)
    assert autocorrelation(g.tolist(), max_lag=10) == pytest.approx(numpy[:11].tolist(), abs=1e-12)


def test_shallow_net_gradient_is_its_piecewise_constant_formula() -> None:
    record = shattered_gradients(seed=0)
    net = ToyNet("shallow", depth=1, batch_norm=False, seed=0)
    w, b, v = net.layers[0].weight[:, 0], net.layers[0].bias, net.out.weight[0]  # (200,) each
    xs = torch.tensor(record.xs)
    by_hand = ((w * v)[None] * ((xs[:, None] * w[None] + b[None]) > 0)).sum(1)  # Σ_j v_j w_j 1[w_j x + b_j > 0]
    shallow = torch.tensor(record.series[0].gradient)
    assert record.series[0].name == "shallow"
    assert torch.allclose(shallow, by_hand.detach(), atol=1e-5)
    kinks = int(((-b / w > -2) & (-b / w < 2)).sum())
    assert int((shallow.diff().abs() > 1e-6).sum()) <= kinks  # it only changes where a unit switches


def test_shattered_gradients_reproduce_the_papers_ordering() -> None:
    record = shattered_gradients(seed=0)  # its time is a benchmark's (python -m benchmarks insights), not a test's
    s = {x.name: x.autocorrelation for x in record.series}
    assert len(record.xs) == 256 and record.xs[0] == -2.0 and record.xs[-1] == 2.0
    # Statistical claims at fixed seed 0 (the ordering held for seeds 0-5 when written):
    assert max(abs(r) for r in s["white"][1:11]) < 0.2  # white noise: uncorrelated at every lag ≥ 1
    assert s["brown"][1] > 0.9  # brown noise: strongly correlated neighbours
    assert s["feedforward_bn"][1] < 0.2 < 0.5 < s["resnet_bn"][1]  # Balduzzi et al.: deep nets shatter, resnets less
    assert sum(s["feedforward_bn"][1:6]) < sum(s["resnet_bn"][1:6])
    assert _round_trip(record) == record


def test_neighbour_gradient_correlation_by_hand(nets, data) -> None:
    x, y = data[0][:3].double(), data[1][:3]
    nets = {k: copy.deepcopy(m).double() for k, m in nets.items()}  # float64: no ReLU flips from rounding
    record = neighbour_gradients(nets, x, y, distances=(0.01, 0.5), seed=2, batch_size=4)
    u = torch.randn(x.shape, generator=torch.Generator().manual_seed(2)).double()
    for n in record.nets:
        m = nets[n.net]
        corr = []
        for d in (0.01, 0.5):
            per = []
            for i in range(3):
                grads = []
                for xi in (x[i : i + 1], x[i : i + 1] + d * u[i : i + 1]):
                    xi = xi.clone().requires_grad_(True)
                    grads.append(torch.autograd.grad(F.cross_entropy(m(xi), y[i : i + 1]), xi)[0].flatten())
                per.append(float(np.corrcoef(grads[0].numpy(), grads[1].numpy())[0, 1]))
            corr.append(sum(per) / 3)
        assert n.correlation == pytest.approx(corr, abs=1e-9)
        assert n.correlation[0] > n.correlation[1]
    assert _round_trip(record) == record


# -- plots ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_figures_are_valid_plotly_and_translated(nets, data, lang) -> None:
    x, y = data[0][:4], data[1][:4]
    land = loss_landscape(nets, x, y, grid=3, hessian_images=2, power_iters=1)
    les = lesion_study(nets, x, y, draws=1, max_k=2)
    erfs = effective_receptive_fields(nets, x[:1], margin=2)
    figures = {
        "landscape_title": plots.landscape_figure(land, lang),
        "slice_title": plots.slice_figure(land, lang),
        "lesion_title": plots.lesion_figure(les, lang),
        "lesion_k_title": plots.lesion_k_figure(les, lang),
        "responses_title": plots.responses_figure(layer_responses(nets, x), lang),
        "shattered_title": plots.shattered_figure(shattered_gradients(points=32, width=8), lang),
        "autocorr_title": plots.autocorrelation_figure(shattered_gradients(points=32, width=8), lang),
        "neighbour_title": plots.neighbour_figure(neighbour_gradients(nets, x[:1], y[:1], distances=(0.1,)), lang),
    }
    for key, fig in figures.items():
        go.Figure(fig.to_dict())  # validates every property
        assert fig.layout.title.text == t(f"insights.{key}", lang)
    contour = figures["landscape_title"].data[0]  # drawn on a log scale, hovering the loss itself
    assert contour.z[1][2] == pytest.approx(math.log10(land.nets[0].grid_loss[1][2]))
    assert contour.customdata[1][2] == land.nets[0].grid_loss[1][2]
    erf = plots.erf_figure(erfs, lang)
    go.Figure(erf.to_dict())
    assert erf.layout.title.text == t("insights.erf_title", lang, stage="layer3")
    assert erf.layout.shapes[0].x1 - erf.layout.shapes[0].x0 == erfs[0].rf
    marked = [tr for tr in figures["lesion_title"].data if tr.type == "scatter"]
    assert [list(tr.x) for tr in marked] == [[3, 5]]  # the plain twin's shape-changing blocks
    assert marked[0].name == t("insights.impossible", lang, net=t("insights.net.plain", lang))

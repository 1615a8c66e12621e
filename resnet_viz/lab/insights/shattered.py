"""Shattered gradients: how correlated a net's input gradient is between nearby inputs (Balduzzi et al. 2017)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .evaluate import BATCH_SIZE, Progress, device_of, eval_mode, inputs_for, report
from .record import Record

__all__ = [
    "DISTANCES",
    "TOY_NETS",
    "GradientSeries",
    "LabShattering",
    "NeighbourGradients",
    "Shattered",
    "ToyNet",
    "autocorrelation",
    "input_gradient",
    "neighbour_gradients",
    "shattered_gradients",
]

Kind = Literal["shallow", "feedforward", "resnet"]
# Balduzzi et al. 2017 §2, Fig. 1 and 2, as we read them: scalar in, scalar out, 200 ReLU units per layer,
# at initialization; a 1-layer net, a 24-layer feed-forward net and a 50-block residual net, the deep ones
# with batch norm and (for comparison) without. (name, kind, hidden layers or blocks, batch norm)
TOY_NETS: Final[tuple[tuple[str, Kind, int, bool], ...]] = (
    ("shallow", "shallow", 1, False),
    ("feedforward", "feedforward", 24, False),
    ("feedforward_bn", "feedforward", 24, True),
    ("resnet", "resnet", 50, False),
    ("resnet_bn", "resnet", 50, True),
)
WIDTH: Final = 200
POINTS: Final = 256  # inputs evenly spaced over [-2, 2], as in the paper
MAX_LAG: Final = 64
# Per-pixel std of the noise that moves an image to its neighbour (images are normalised to std 1).
DISTANCES: Final = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
EPS: Final = 1e-5  # batch norm's epsilon, as torch.nn.BatchNorm1d


class ToyNet(nn.Module):
    """A scalar ReLU net of ``width`` units per layer: weights He-normal (std √(2/fan_in)), biases torch's
    default U(±1/√fan_in) (without biases every ReLU of a scalar-input net would switch at x = 0 only).

    ``shallow``/``feedforward``: ``depth`` × (linear, [BN], ReLU), then a linear read-out. ``resnet``: a linear
    lift, then ``depth`` blocks h ← h + W·ReLU([BN](h)) (one layer per block, pre-activation), then a read-out.
    Batch norm uses the statistics of the batch it is given, held constant (detached), so y_i depends on x_i
    alone and dy/dx is each point's own derivative; no affine part (γ = 1, β = 0 at initialization).
    """

    def __init__(self, kind: Kind, *, depth: int, batch_norm: bool, width: int = WIDTH, seed: int = 0) -> None:
        super().__init__()
        self.kind, self.batch_norm = kind, batch_norm
        g = torch.Generator().manual_seed(seed)
        sizes = [1] + [width] * depth if kind != "resnet" else [1, *([width] * (depth + 1))]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.out = nn.Linear(width, 1)
        with torch.no_grad():
            for lin in [*self.layers, self.out]:
                fan_in = lin.in_features
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                bound = 1.0 / math.sqrt(fan_in)
                lin.bias.copy_((torch.rand(lin.bias.shape, generator=g) * 2 - 1) * bound)

    def _norm(self, h: Tensor) -> Tensor:
        if not self.batch_norm:
            return h
        mean, var = h.mean(0).detach(), h.var(0, unbiased=False).detach()  # (width,) each
        return (h - mean) / torch.sqrt(var + EPS)

    def forward(self, x: Tensor) -> Tensor:
        h = x  # (N, 1)
        if self.kind == "resnet":
            h = self.layers[0](h)  # (N, width)
            for lin in self.layers[1:]:
                h = h + lin(torch.relu(self._norm(h)))  # (N, width)
        else:
            for lin in self.layers:
                h = torch.relu(self._norm(lin(h)))  # (N, width)
        y: Tensor = self.out(h)  # (N, 1)
        return y


@dataclass(frozen=True)
class GradientSeries(Record):
    """One curve of the figure: dy/dx at each input (or the noise itself) and its autocorrelation by lag."""

    name: str  # a TOY_NETS name, "brown" or "white"
    gradient: tuple[float, ...]
    autocorrelation: tuple[float, ...]  # lags 0..max_lag


@dataclass(frozen=True)
class Shattered(Record):
    xs: tuple[float, ...]
    width: int
    seed: int
    series: tuple[GradientSeries, ...]


@dataclass(frozen=True)
class NeighbourGradients(Record):
    """Mean over images of the correlation between ∇ₓL at an image x and at x + d·u (u ~ N(0, 1) per pixel)."""

    net: str
    distances: tuple[float, ...]
    correlation: tuple[float, ...]


@dataclass(frozen=True)
class LabShattering(Record):
    images: int
    seed: int
    nets: tuple[NeighbourGradients, ...]


def autocorrelation(series: Sequence[float] | Tensor, *, max_lag: int = MAX_LAG) -> tuple[float, ...]:
    """ρ(k) = Σᵢ (gᵢ - ḡ)(gᵢ₊ₖ - ḡ) / Σᵢ (gᵢ - ḡ)², k = 0..max_lag (the usual biased estimate; ρ(0) = 1).

    A constant series has no variance: it is taken as perfectly correlated (1 at every lag).
    """
    g = torch.as_tensor(series, dtype=torch.float64)
    g = g - g.mean()
    denom = float((g * g).sum())
    lags = range(min(max_lag, len(g) - 1) + 1)
    if denom == 0.0:
        return tuple(1.0 for _ in lags)
    return tuple(float((g[: len(g) - k] * g[k:]).sum()) / denom for k in lags)


def input_gradient(net: nn.Module, xs: Tensor) -> Tensor:
    """dy/dx of a scalar net at each input of ``xs`` (N,), one batch (its statistics feed batch norm)."""
    x = xs.detach().reshape(-1, 1).clone().requires_grad_(True)  # (N, 1)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(net(x).sum(), x)  # (N, 1): y_i depends on x_i only
    return grad.reshape(-1)


def shattered_gradients(
    *,
    points: int = POINTS,
    width: int = WIDTH,
    seed: int = 0,
    max_lag: int = MAX_LAG,
    progress: Progress | None = None,
) -> Shattered:
    """Balduzzi et al. 2017 Fig. 1/2: every toy net's gradient over [-2, 2], brown and white noise for scale.

    Each net is built from ``seed``; the white noise is N(0, 1) from ``seed`` and the brown noise its
    cumulative sum. Runs in a few tens of milliseconds on one CPU core.
    """
    xs = torch.linspace(-2.0, 2.0, points, dtype=torch.float64).float()  # (points,)
    series = []
    for i, (name, kind, depth, bn) in enumerate(TOY_NETS):
        grad = input_gradient(ToyNet(kind, depth=depth, batch_norm=bn, width=width, seed=seed), xs)
        series.append(GradientSeries(name, tuple(grad.tolist()), autocorrelation(grad, max_lag=max_lag)))
        report(progress, (i + 1) / (len(TOY_NETS) + 1))
    white = torch.randn(points, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    brown = white.cumsum(0)
    for name, s in (("brown", brown), ("white", white)):
        series.append(GradientSeries(name, tuple(s.tolist()), autocorrelation(s, max_lag=max_lag)))
    report(progress, 1.0)
    return Shattered(xs=tuple(xs.tolist()), width=width, seed=seed, series=tuple(series))


def _correlation(a: Tensor, b: Tensor) -> Tensor:
    """Pearson correlation of matching rows: a, b (B, D) -> (B,)."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)


def neighbour_gradients(
    models: Mapping[str, nn.Module],
    images: Tensor,
    labels: Tensor,
    *,
    distances: Sequence[float] = DISTANCES,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> LabShattering:
    """The lab's nets, the same measure in image space: corr(∇ₓL(x), ∇ₓL(x + d·u)) by distance d, eval mode.

    L is the cross-entropy of the image's own label; u is per-pixel N(0, 1) noise drawn from ``seed`` (the
    same for every net). Gradients that shatter decorrelate at small d; a smooth net stays near 1.
    """
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=g)  # (N, C, H, W), shared by the nets
    per = max(1, batch_size // (len(distances) + 1))  # images per pass: each brings its neighbours
    nets = []
    for i, (net, model) in enumerate(models.items()):
        dev = device_of(model)
        sums = torch.zeros(len(distances), dtype=torch.float64)
        with eval_mode(model), torch.enable_grad():
            for start in range(0, len(images), per):
                x = inputs_for(model, images[start : start + per])  # (B, C, H, W)
                u = inputs_for(model, noise[start : start + per])
                d = torch.tensor([0.0, *distances]).to(x)  # (D+1,)
                xs = (x[None] + d[:, None, None, None, None] * u[None]).flatten(0, 1)  # ((D+1)·B, C, H, W)
                xs.requires_grad_(True)
                y = labels[start : start + per].to(dev).repeat(len(d))  # ((D+1)·B,)
                (grad,) = torch.autograd.grad(F.cross_entropy(model(xs), y, reduction="sum"), xs)
                grad = grad.reshape(len(d), len(x), -1)  # (D+1, B, C·H·W): each row its own image's gradient
                corr = torch.stack([_correlation(grad[0], grad[k]) for k in range(1, len(d))])  # (D, B)
                sums += corr.sum(1).double().cpu()
                report(progress, (i + (start + len(x)) / len(images)) / len(models))
        mean = (sums / len(images)).tolist()
        nets.append(NeighbourGradients(net=net, distances=tuple(float(v) for v in distances), correlation=tuple(mean)))
    return LabShattering(images=len(images), seed=seed, nets=tuple(nets))

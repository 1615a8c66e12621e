"""Loss surfaces around trained weights along filter-normalized random directions (Li et al. 2018)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import torch
from torch import Tensor, nn

from .curvature import POWER_ITERS, hessian_extremes
from .evaluate import BATCH_SIZE, Progress, evaluate, report
from .record import Record

__all__ = [
    "GRID",
    "HESSIAN_IMAGES",
    "Landscape",
    "Surface",
    "filter_normalized_direction",
    "grid_axis",
    "loss_landscape",
    "upward_share",
]

GRID: Final = 21  # points per axis over [-1, 1]; Li et al. 2018 plot 51x51, 21x21 keeps a CPU job in minutes
HESSIAN_IMAGES: Final = 128  # the curvature is estimated on the first images only: each product is a double backward


@dataclass(frozen=True)
class Surface(Record):
    """One net's landscape around its weights θ, along its directions δ and η.

    ``grid_loss[i][j]`` is L(θ + alphas[j]·δ + betas[i]·η) (rows along β: plotly's ``z`` layout);
    ``slice_loss[j]`` is L(θ + alphas[j]·δ); ``centre_loss`` is the plain evaluation of θ.
    ``eig_ratio`` is |λ_min| / |λ_max| of the Hessian at θ (Li et al. 2018 §6): it looks at every direction of
    weight space at the centre only; near 0 the centre is (almost) convex.
    ``upward_share`` is the share of the grid's interior points where both second differences (along α and
    along β) are positive: how much of the drawn 2-D slice curves upward, at the grid's spacing, away from the
    centre too; None for a grid without interior points.
    """

    net: str
    centre_loss: float
    centre_accuracy: float
    slice_loss: tuple[float, ...]
    grid_loss: tuple[tuple[float, ...], ...]
    eig_max: float
    eig_min: float
    eig_ratio: float
    upward_share: float | None


@dataclass(frozen=True)
class Landscape(Record):
    """Both nets' surfaces on one grid; each net's directions come from a generator seeded with ``seed``."""

    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    images: int
    seed: int
    nets: tuple[Surface, ...]


def grid_axis(points: int) -> tuple[float, ...]:
    """``points`` evenly spaced values over [-1, 1]; exact ±1 at the ends and an exact 0 for an odd count."""
    if points < 2:
        raise ValueError(f"a grid axis needs at least 2 points, got {points}")
    return tuple((2 * i - (points - 1)) / (points - 1) for i in range(points))


def filter_normalized_direction(params: Sequence[Tensor], *, generator: torch.Generator) -> list[Tensor]:
    """A Gaussian direction with each filter scaled to its weights' norm (Li et al. 2018 §4).

    For every tensor of more than one dimension, d[i] *= ‖θ[i]‖ / ‖d[i]‖ for each output filter i (a row of a
    linear layer counts as a filter); biases and batch-norm parameters (1-D) get a zero direction, as in the
    paper. Draws from ``generator`` on the CPU in parameter order, so the result does not depend on the device.
    """
    out: list[Tensor] = []
    for p in params:
        if p.dim() <= 1:
            out.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=torch.float32).to(device=p.device, dtype=p.dtype)
        theta = p.detach().flatten(1).norm(dim=1)  # (filters,)
        size = d.flatten(1).norm(dim=1)  # (filters,)
        scale = torch.where(size > 0, theta / size, torch.zeros_like(size))  # (filters,)
        out.append(d * scale.view(-1, *([1] * (p.dim() - 1))))  # same shape as p
    return out


def upward_share(grid: Sequence[Sequence[float]]) -> float | None:
    """Share of interior points where f(i, j±1) - 2f(i, j) > 0 and f(i±1, j) - 2f(i, j) > 0 (both curve up)."""
    z = torch.tensor(grid, dtype=torch.float64)  # (rows, cols)
    if z.shape[0] < 3 or z.shape[1] < 3:
        return None
    along_cols = z[1:-1, 2:] - 2 * z[1:-1, 1:-1] + z[1:-1, :-2]  # (rows-2, cols-2): second difference along α
    along_rows = z[2:, 1:-1] - 2 * z[1:-1, 1:-1] + z[:-2, 1:-1]  # along β
    return float(((along_cols > 0) & (along_rows > 0)).double().mean())


def loss_landscape(
    models: Mapping[str, nn.Module],
    images: Tensor,
    labels: Tensor,
    *,
    grid: int = GRID,
    seed: int = 0,
    hessian_images: int = HESSIAN_IMAGES,
    power_iters: int = POWER_ITERS,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Landscape:
    """1-D slices, 2-D surfaces and curvature of every net (eval mode, BN running statistics untouched).

    The weights move in place during the call and are restored exactly before it returns (also on error),
    so the models must not be read by anyone else meanwhile. Grid points where α = β = 0 reuse the centre's
    plain evaluation, so the centre equals ``evaluate(model, images, labels)`` exactly.
    """
    axis = grid_axis(grid)
    surfaces = []
    for k, (net, model) in enumerate(models.items()):

        def part(f: float, k: int = k) -> None:
            report(progress, (k + f) / len(models))

        surfaces.append(_surface(net, model, images, labels, axis, seed, hessian_images, power_iters, batch_size, part))
    report(progress, 1.0)
    return Landscape(alphas=axis, betas=axis, images=len(labels), seed=seed, nets=tuple(surfaces))


def _surface(
    net: str,
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    axis: tuple[float, ...],
    seed: int,
    hessian_images: int,
    power_iters: int,
    batch_size: int,
    progress: Progress,
) -> Surface:
    params = list(model.parameters())
    g = torch.Generator().manual_seed(seed)  # the same seed for both nets: δ first, then η, in parameter order
    delta = filter_normalized_direction(params, generator=g)
    eta = filter_normalized_direction(params, generator=g)
    centre = evaluate(model, images, labels, batch_size=batch_size)
    points = [(a, b) for b in axis for a in axis] + [(a, 0.0) for a in axis]
    todo = list(dict.fromkeys(p for p in points if p != (0.0, 0.0)))  # unique, in order; the centre is known
    # Progress weight of the curvature, in grid points: a Hessian-vector product costs about 13 evaluations
    # of as many images (ResNet-56, one CPU thread), and 2·power_iters of them run on hessian_images images.
    curve_cost = 2 * power_iters * 13 * min(hessian_images, len(labels)) / len(labels)
    total = len(todo) + curve_cost
    loss = {(0.0, 0.0): centre.loss}
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for n, (a, b) in enumerate(todo, 1):
                for p, theta, d, e in zip(params, saved, delta, eta):
                    p.copy_(theta + a * d + b * e)
                loss[(a, b)] = evaluate(model, images, labels, batch_size=batch_size).loss
                progress(n / total)
    finally:
        with torch.no_grad():
            for p, theta in zip(params, saved):
                p.copy_(theta)
    table = tuple(tuple(loss[(a, b)] for a in axis) for b in axis)
    curvature = hessian_extremes(
        model,
        images[:hessian_images],
        labels[:hessian_images],
        iterations=power_iters,
        seed=seed,
        batch_size=batch_size,
        progress=lambda f: progress((len(todo) + f * curve_cost) / total),
    )
    return Surface(
        net=net,
        centre_loss=centre.loss,
        centre_accuracy=centre.accuracy,
        slice_loss=tuple(loss[(a, 0.0)] for a in axis),
        grid_loss=table,
        eig_max=curvature.eig_max,
        eig_min=curvature.eig_min,
        eig_ratio=curvature.ratio,
        upward_share=upward_share(table),
    )

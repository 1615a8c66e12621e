"""Loss surfaces around trained weights along filter-normalized random directions (Li et al. 2018)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import torch
from torch import Tensor, nn

from .curvature import POWER_ITERS, Curvature, hessian_extremes
from .evaluate import BATCH_SIZE, Progress, Score, evaluate, report
from .record import Record

__all__ = [
    "GRID",
    "HESSIAN_IMAGES",
    "Dims",
    "Landscape",
    "Point",
    "Surface",
    "curvature_cost",
    "filter_normalized_direction",
    "grid_axis",
    "landscape_points",
    "loss_landscape",
    "point_losses",
    "slice_upward_share",
    "surface_from",
    "upward_share",
]

Dims = Literal[1, 2]
Point = tuple[float, float]  # (α, β)
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
    A 1-D landscape (``dims`` 1) has no grid: ``grid_loss`` is empty and ``upward_share`` is the share of the
    slice's interior points where f(α - h) - 2f(α) + f(α + h) > 0 (:func:`slice_upward_share`).
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
    """Both nets' surfaces on one grid; each net's directions come from a generator seeded with ``seed``.

    ``betas`` is empty for a 1-D landscape (the slice β = 0 only).
    """

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


def slice_upward_share(values: Sequence[float]) -> float | None:
    """Share of a 1-D slice's interior points where f(j - 1) - 2f(j) + f(j + 1) > 0; None below 3 points."""
    f = torch.tensor(values, dtype=torch.float64)  # (points,)
    if len(f) < 3:
        return None
    return float(((f[2:] - 2 * f[1:-1] + f[:-2]) > 0).double().mean())


def landscape_points(axis: Sequence[float], *, dims: Dims = 2) -> list[Point]:
    """Every (α, β) a landscape evaluates besides the centre, once each, in order: the grid row by row along β
    (``dims`` 2), then the slice β = 0 (its points are already on an odd grid)."""
    grid = [(a, b) for b in axis for a in axis] if dims == 2 else []
    return list(dict.fromkeys(p for p in [*grid, *((a, 0.0) for a in axis)] if p != (0.0, 0.0)))


def curvature_cost(images: int, *, hessian_images: int = HESSIAN_IMAGES, power_iters: int = POWER_ITERS) -> float:
    """The curvature's cost in evaluations of ``images`` images: a Hessian-vector product costs about 13
    evaluations of as many images (ResNet-56, one CPU thread), and 2·power_iters of them run on the first
    ``hessian_images``."""
    return 2 * power_iters * 13 * min(hessian_images, images) / images


def point_losses(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    points: Sequence[Point],
    *,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> tuple[float, ...]:
    """L(θ + α·δ + β·η) at each point (α, β), δ and η drawn from ``seed`` as :func:`loss_landscape` draws them.

    Any subset of a landscape's points gives the values the whole computation gives, so workers can share it.
    The weights move in place and are restored exactly before returning (also on error).
    """
    params = list(model.parameters())
    g = torch.Generator().manual_seed(seed)  # the same seed for every net: δ first, then η, in parameter order
    delta = filter_normalized_direction(params, generator=g)
    eta = filter_normalized_direction(params, generator=g)
    out: list[float] = []
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for n, (a, b) in enumerate(points, 1):
                for p, theta, d, e in zip(params, saved, delta, eta):
                    p.copy_(theta + a * d + b * e)
                out.append(evaluate(model, images, labels, batch_size=batch_size).loss)
                report(progress, n / len(points))
    finally:
        with torch.no_grad():
            for p, theta in zip(params, saved):
                p.copy_(theta)
    return tuple(out)


def surface_from(
    net: str,
    axis: Sequence[float],
    *,
    centre: Score,
    losses: Mapping[Point, float],
    curvature: Curvature,
    dims: Dims = 2,
) -> Surface:
    """One net's surface from its centre's evaluation, the losses at :func:`landscape_points` and its curvature."""
    loss = {**losses, (0.0, 0.0): centre.loss}  # the centre is the plain evaluation, exactly
    table = tuple(tuple(loss[(a, b)] for a in axis) for b in axis) if dims == 2 else ()
    line = tuple(loss[(a, 0.0)] for a in axis)
    return Surface(
        net=net,
        centre_loss=centre.loss,
        centre_accuracy=centre.accuracy,
        slice_loss=line,
        grid_loss=table,
        eig_max=curvature.eig_max,
        eig_min=curvature.eig_min,
        eig_ratio=curvature.ratio,
        upward_share=upward_share(table) if dims == 2 else slice_upward_share(line),
    )


def loss_landscape(
    models: Mapping[str, nn.Module],
    images: Tensor,
    labels: Tensor,
    *,
    grid: int = GRID,
    dims: Dims = 2,
    seed: int = 0,
    hessian_images: int = HESSIAN_IMAGES,
    power_iters: int = POWER_ITERS,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Landscape:
    """1-D slices, 2-D surfaces (``dims`` 2) and curvature of every net (eval mode, BN running statistics untouched).

    The weights move in place during the call and are restored exactly before it returns (also on error),
    so the models must not be read by anyone else meanwhile. Grid points where α = β = 0 reuse the centre's
    plain evaluation, so the centre equals ``evaluate(model, images, labels)`` exactly.
    """
    axis = grid_axis(grid)
    surfaces = []
    for k, (net, model) in enumerate(models.items()):

        def part(f: float, k: int = k) -> None:
            report(progress, (k + f) / len(models))

        surfaces.append(
            _surface(net, model, images, labels, axis, dims, seed, hessian_images, power_iters, batch_size, part)
        )
    report(progress, 1.0)
    betas = axis if dims == 2 else ()
    return Landscape(alphas=axis, betas=betas, images=len(labels), seed=seed, nets=tuple(surfaces))


def _surface(
    net: str,
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    axis: tuple[float, ...],
    dims: Dims,
    seed: int,
    hessian_images: int,
    power_iters: int,
    batch_size: int,
    progress: Progress,
) -> Surface:
    centre = evaluate(model, images, labels, batch_size=batch_size)
    todo = landscape_points(axis, dims=dims)
    curve_cost = curvature_cost(len(labels), hessian_images=hessian_images, power_iters=power_iters)
    total = len(todo) + curve_cost  # progress in evaluations of all the images
    values = point_losses(
        model, images, labels, todo, seed=seed, batch_size=batch_size,
        progress=lambda f: progress(f * len(todo) / total),
    )  # fmt: skip
    curvature = hessian_extremes(
        model,
        images[:hessian_images],
        labels[:hessian_images],
        iterations=power_iters,
        seed=seed,
        batch_size=batch_size,
        progress=lambda f: progress((len(todo) + f * curve_cost) / total),
    )
    return surface_from(net, axis, centre=centre, losses=dict(zip(todo, values)), curvature=curvature, dims=dims)

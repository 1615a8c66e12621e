"""The Hessian's extreme eigenvalues at the trained weights, by power iteration on Hessian-vector products."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .evaluate import BATCH_SIZE, Progress, device_of, eval_mode, inputs_for
from .record import Record

__all__ = ["POWER_ITERS", "Curvature", "hessian_extremes", "hessian_vector_product"]

POWER_ITERS: Final = 20  # per eigenvalue; Li et al. 2018 §6 use a few dozen Hessian-vector products too

Vector = list[Tensor]  # one tensor per parameter, shaped like it


@dataclass(frozen=True)
class Curvature(Record):
    """Largest and smallest Hessian eigenvalue of the mean loss (Li et al. 2018 §6), and |λ_min| / |λ_max|.

    A ratio near 0 means the loss curves upward (or is flat) in every direction of weight space, not only
    in the two drawn; a large ratio means strong negative curvature somewhere: a non-convex point.
    Power iteration stops after ``iterations`` products, so |λ_min| is an estimate from below.
    """

    eig_max: float
    eig_min: float
    ratio: float
    iterations: int


def hessian_vector_product(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    vector: Sequence[Tensor],
    *,
    params: Sequence[Tensor],
    batch_size: int = BATCH_SIZE,
) -> Vector:
    """H·v of the mean cross-entropy over the images, w.r.t. ``params``, by double backward (Pearlmutter 1994)."""
    dev = device_of(model)
    n = len(labels)
    out = [torch.zeros_like(p) for p in params]
    for start in range(0, n, batch_size):
        x = inputs_for(model, images[start : start + batch_size])  # (B, C, H, W)
        y = labels[start : start + batch_size].to(dev)  # (B,)
        loss = F.cross_entropy(model(x), y, reduction="sum") / n  # this batch's share of the mean
        grads = torch.autograd.grad(loss, list(params), create_graph=True, allow_unused=True)
        dot = sum(((g * v).sum() for g, v in zip(grads, vector) if g is not None), torch.zeros((), device=dev))
        if not dot.requires_grad:  # a loss linear in every parameter: H = 0
            continue
        hv = torch.autograd.grad(dot, list(params), allow_unused=True)
        for acc, h in zip(out, hv):
            if h is not None:
                acc += h.detach()
    return out


def hessian_extremes(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    *,
    iterations: int = POWER_ITERS,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Curvature:
    """λ_max and λ_min of the loss Hessian at the model's weights (all parameters, eval mode).

    Power iteration finds the eigenvalue of largest magnitude, λ_a; power iteration on H - λ_a·I then finds
    the other end of the spectrum, λ_b = μ + λ_a (Li et al. 2018 §6). The start vector is seeded.
    """
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    g = torch.Generator().manual_seed(seed)
    start = [torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device) for p in params]
    done = 0

    def hvp(v: Vector) -> Vector:
        nonlocal done
        out = hessian_vector_product(model, images, labels, v, params=params, batch_size=batch_size)
        done += 1
        if progress is not None:
            progress(done / (2 * iterations))
        return out

    try:
        for p in params:
            p.requires_grad_(True)
        with eval_mode(model), torch.enable_grad():
            lam_a = _power(hvp, start, shift=0.0, iterations=iterations)
            mu = _power(hvp, start, shift=lam_a, iterations=iterations)
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
    lam_b = mu + lam_a
    hi, lo = max(lam_a, lam_b), min(lam_a, lam_b)
    ratio = abs(lo) / abs(hi) if hi != 0 else 0.0
    return Curvature(eig_max=hi, eig_min=lo, ratio=ratio, iterations=iterations)


def _power(hvp: Callable[[Vector], Vector], start: Vector, *, shift: float, iterations: int) -> float:
    """The dominant eigenvalue of H - shift·I, as the Rayleigh quotient of the last iterate."""
    v = _scaled(start, 1.0 / _norm(start))
    lam = 0.0
    for _ in range(iterations):
        w = [h - shift * x for h, x in zip(hvp(v), v)]
        lam = float(sum(float((a * b).sum()) for a, b in zip(v, w)))  # v·(H - shift I)v, |v| = 1
        size = _norm(w)
        if size == 0.0:
            break
        v = _scaled(w, 1.0 / size)
    return lam


def _norm(v: Vector) -> float:
    return float(sum(float((x.double() ** 2).sum()) for x in v)) ** 0.5


def _scaled(v: Vector, factor: float) -> Vector:
    return [x * factor for x in v]

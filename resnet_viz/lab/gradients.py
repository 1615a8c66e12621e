"""Per-layer gradient norms, computed in one fused reduction, and the instrumented training step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nets.build import build
from ..nets.resnet import seeded
from ..nets.spec import ResNetSpec

__all__ = [
    "LayerNorm",
    "Optimizer",
    "StepStats",
    "TrainStep",
    "fused_norms",
    "gradient_profile",
    "layer_weights",
    "make_optimizer",
]

Optimizer = Literal["sgd", "adam"]


@dataclass(frozen=True)
class LayerNorm:
    """The gradient norm of one weighted layer's weight; ``index`` counts from 1 at the stem (depth order)."""

    index: int
    name: str
    norm: float


@dataclass(frozen=True)
class StepStats:
    """One training step of one net: loss, batch accuracy and every layer's gradient norm (depth order)."""

    loss: float
    accuracy: float
    norms: tuple[float, ...]

    @property
    def finite(self) -> bool:
        return math.isfinite(self.loss)


def layer_weights(model: nn.Module) -> list[tuple[str, Tensor]]:
    """The weights of the main path's weighted layers (every conv and the classifier), in forward order.

    Projection shortcuts (``downsample``) are left out: they are not on the path that ``spec.depth``
    counts, and the plain twin has none, so both nets of a pair give the same list of layers.
    """
    out: list[tuple[str, Tensor]] = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d | nn.Linear) and ".downsample" not in f".{name}":
            out.append((name, m.weight))
    return out


def fused_norms(params: Sequence[Tensor]) -> Tensor:
    """The L2 norm of each parameter's gradient, as one 1-D tensor, in one fused kernel (no per-layer sync)."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    return torch.stack(torch._foreach_norm(grads))  # (L,)


def make_optimizer(params: list[nn.Parameter], kind: Optimizer, lr: float) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 and weight decay 1e-4 (He et al. 2015 §4.2), or Adam."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    return torch.optim.Adam(params, lr=lr)


class TrainStep:
    """One net, its optimizer and the weights it watches: ``step(x, y)`` trains once and reports StepStats.

    All numbers of a step leave the device in one transfer: loss, correct count and the fused norms are
    concatenated first, so instrumenting costs one reduction kernel and no extra synchronisation.
    """

    def __init__(
        self, model: nn.Module, *, optimizer: Optimizer = "sgd", lr: float = 0.1, warmup: int = 0, clip: float = 0.0
    ) -> None:
        self.model = model
        self.clip = clip  # the gradient norm over all parameters is clipped to this (0: never)
        self.named = layer_weights(model)
        self.names = [n for n, _ in self.named]
        self._weights = [p for _, p in self.named]
        self.optimizer = make_optimizer(list(model.parameters()), optimizer, lr)
        # He et al. 2015 §4.2 warm up deep nets at lr/10 first; here the rate ramps from lr/10 to lr.
        self.schedule = (
            torch.optim.lr_scheduler.LinearLR(self.optimizer, start_factor=0.1, total_iters=warmup) if warmup else None
        )

    def step(self, x: Tensor, y: Tensor) -> StepStats:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(x)  # (N, classes)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        norms = fused_norms(self._weights)  # (L,)
        correct = (logits.detach().argmax(1) == y).sum()
        packed = torch.cat([loss.detach().reshape(1), correct.reshape(1).to(norms.dtype), norms]).tolist()
        if math.isfinite(packed[0]):  # a non-finite loss must not poison the weights before we stop
            if self.clip:  # after the norms are read, so the plots show the gradients as computed
                nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
            self.optimizer.step()
            if self.schedule is not None:
                self.schedule.step()
        return StepStats(loss=packed[0], accuracy=packed[1] / len(y), norms=tuple(packed[2:]))


def gradient_profile(
    spec: ResNetSpec,
    *,
    batch: tuple[Tensor, Tensor],
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> list[LayerNorm]:
    """Every layer's gradient norm after one forward/backward of ``batch`` through ``spec`` at initialization.

    The net is built from ``seed``, so a residual spec and its ``twin()`` start from the same weights.
    """
    size = (int(batch[0].shape[-2]), int(batch[0].shape[-1]))
    with seeded(seed):
        model = build(spec, device=device, input_size=size, batch_size=len(batch[0]))
    model.train()
    x, y = batch[0].to(device), batch[1].to(device)
    F.cross_entropy(model(x), y).backward()
    named = layer_weights(model)
    values = fused_norms([p for _, p in named]).tolist()
    return [LayerNorm(index=i, name=n, norm=v) for i, ((n, _), v) in enumerate(zip(named, values), start=1)]

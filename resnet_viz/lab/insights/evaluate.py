"""Loss and accuracy of a model on held-out tensors in batches, in eval mode: the helpers every insight shares."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .record import Record

__all__ = ["BATCH_SIZE", "Progress", "Score", "device_of", "eval_mode", "evaluate", "inputs_for", "report"]

BATCH_SIZE: Final = 64  # images per pass: fastest on one CPU thread for ResNet-56 (1.7 s per 512 vs 3.3 s in one pass)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Score(Record):
    """Mean cross-entropy and top-1 accuracy over a set of images."""

    loss: float
    accuracy: float


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode inside (batch norm uses its running statistics); every module's mode restored."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters live (CPU for a model without any)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def inputs_for(model: nn.Module, images: Tensor) -> Tensor:
    """``images`` on the model's device, in its parameters' floating dtype."""
    p = next(model.parameters(), None)
    return images if p is None else images.to(device=p.device, dtype=p.dtype)


def evaluate(model: nn.Module, images: Tensor, labels: Tensor, *, batch_size: int = BATCH_SIZE) -> Score:
    """Mean cross-entropy and accuracy of ``model`` on ``images`` (N, C, H, W) and ``labels`` (N,), eval mode."""
    n = len(labels)
    if n == 0:
        raise ValueError("no images to evaluate on")
    dev = device_of(model)
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    with eval_mode(model), torch.no_grad():
        for start in range(0, n, batch_size):
            x = inputs_for(model, images[start : start + batch_size])  # (B, C, H, W)
            y = labels[start : start + batch_size].to(dev)  # (B,)
            logits = model(x)  # (B, classes)
            loss_sum += F.cross_entropy(logits.double(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
    return Score(loss=float(loss_sum) / n, accuracy=int(correct) / n)  # one transfer each, at the end


def report(progress: Progress | None, fraction: float) -> None:
    """Tell ``progress`` (when given) the fraction of the work done, clipped to [0, 1]."""
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)))

"""Deleting residual blocks at test time, one at a time and k at random (Veit et al. 2016)."""

from __future__ import annotations

import contextlib
import math
import random
import statistics
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Final

import torch
from torch import Tensor, nn

from ...nets.blocks import Block
from .evaluate import BATCH_SIZE, Progress, Score, eval_mode, evaluate, inputs_for, report
from .record import Record

__all__ = [
    "DRAWS",
    "BlockLesion",
    "KLesion",
    "Lesions",
    "NetLesions",
    "block_shapes",
    "lesion_study",
    "lesioned",
]

DRAWS: Final = 5  # random sets of k deleted blocks per k; Veit et al. 2016 Fig. 5 average over such draws


@dataclass(frozen=True)
class BlockLesion(Record):
    """The net with one block deleted. ``accuracy`` and ``loss`` are None where deleting it is impossible."""

    index: int  # 1-based, in forward order
    name: str  # "layer2.0"
    downsamples: bool  # the block's input and output shapes differ
    skippable: bool  # every residual block; a plain block only when its shapes agree (then y = x)
    accuracy: float | None
    loss: float | None


@dataclass(frozen=True)
class KLesion(Record):
    """Mean and spread of the error over ``draws`` distinct random sets of k deleted blocks."""

    k: int
    error: float
    error_std: float
    draws: int


@dataclass(frozen=True)
class NetLesions(Record):
    net: str
    baseline: Score
    blocks: tuple[BlockLesion, ...]
    random_k: tuple[KLesion, ...]


@dataclass(frozen=True)
class Lesions(Record):
    images: int
    seed: int
    nets: tuple[NetLesions, ...]


def _zero_branch(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Pre-hook on a block's ``add``: the residual branch's output F(x) replaced by zeros."""
    out, identity = args
    return (torch.zeros_like(out), identity)


def _skip(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> Tensor:
    """Forward hook on a plain block: its output replaced by its input, y = x."""
    return args[0]


@contextlib.contextmanager
def lesioned(model: nn.Module, names: Collection[str]) -> Iterator[nn.Module]:
    """Inside, the named blocks are deleted; the hooks are removed on the way out, the model unchanged.

    A residual block computes what it would with F(x) = 0: its final ReLU (post-activation blocks) of its
    shortcut — y = relu(x) = x for an identity block, since its input comes out of a ReLU, and relu(pad(x)) =
    pad(x) for option A; option B/C keeps the projection (conv-BN) and the block's ReLU, which belongs to the
    main path, not to the branch. A block without ``add`` (the plain twin's) is skipped: y = x, which only
    makes sense when its shapes agree (see :func:`block_shapes`).
    """
    modules = dict(model.named_modules())
    handles = []
    try:
        for name in names:
            block = modules[name]
            add = getattr(block, "add", None)
            if isinstance(block, Block) and add is not None:
                handles.append(add.register_forward_pre_hook(_zero_branch))
            else:
                handles.append(block.register_forward_hook(_skip))
        yield model
    finally:
        for h in handles:
            h.remove()


def block_shapes(model: nn.Module, sample: Tensor) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Input and output shape (without the batch) of every block, in forward order, from one image."""
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def recorder(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
            shapes[name] = (tuple(args[0].shape[1:]), tuple(output.shape[1:]))

        return hook

    handles = [m.register_forward_hook(recorder(n)) for n, m in model.named_modules() if isinstance(m, Block)]
    try:
        with eval_mode(model), torch.no_grad():
            model(inputs_for(model, sample[:1]))
    finally:
        for h in handles:
            h.remove()
    return shapes


def lesion_study(
    models: Mapping[str, nn.Module],
    images: Tensor,
    labels: Tensor,
    *,
    draws: int = DRAWS,
    max_k: int | None = None,
    seed: int = 0,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Lesions:
    """Every single-block deletion and random k-block deletions (k = 1 … ``max_k`` or all), for every net."""
    nets = []
    for i, (net, model) in enumerate(models.items()):

        def part(f: float, i: int = i) -> None:
            report(progress, (i + f) / len(models))

        nets.append(_study(net, model, images, labels, draws, max_k, seed, batch_size, part))
    report(progress, 1.0)
    return Lesions(images=len(labels), seed=seed, nets=tuple(nets))


def _subsets(n: int, k: int, draws: int, rng: random.Random) -> list[tuple[int, ...]]:
    """``draws`` distinct k-subsets of range(n) (all of them when there are no more)."""
    if math.comb(n, k) <= draws:
        return list(combinations(range(n), k))
    seen: dict[tuple[int, ...], None] = {}
    while len(seen) < draws:
        seen[tuple(sorted(rng.sample(range(n), k)))] = None
    return list(seen)


def _study(
    net: str,
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    draws: int,
    max_k: int | None,
    seed: int,
    batch_size: int,
    progress: Progress,
) -> NetLesions:
    shapes = block_shapes(model, images)
    names = list(shapes)
    residual = {n for n, m in model.named_modules() if isinstance(m, Block) and m.add is not None}
    skippable = [n in residual or shapes[n][0] == shapes[n][1] for n in names]
    candidates = [n for n, ok in zip(names, skippable) if ok]
    rng = random.Random(seed)
    top = len(candidates) if max_k is None else min(max_k, len(candidates))
    plan = {k: _subsets(len(candidates), k, draws, rng) for k in range(1, top + 1)}
    total = 1 + len(candidates) + sum(len(s) for s in plan.values())
    done = 0
    seen: dict[frozenset[str], Score] = {}  # a random draw may repeat a single deletion: evaluated once

    def score(deleted: Collection[str]) -> Score:
        nonlocal done
        key = frozenset(deleted)
        if key not in seen:
            with lesioned(model, deleted):
                seen[key] = evaluate(model, images, labels, batch_size=batch_size)
        done += 1
        progress(done / total)
        return seen[key]

    baseline = score(())
    blocks = []
    for i, (name, ok) in enumerate(zip(names, skippable), 1):
        s = score((name,)) if ok else None
        blocks.append(
            BlockLesion(
                index=i,
                name=name,
                downsamples=shapes[name][0] != shapes[name][1],
                skippable=ok,
                accuracy=s.accuracy if s else None,
                loss=s.loss if s else None,
            )
        )
    random_k = []
    for k, subsets in plan.items():
        errors = [1.0 - score([candidates[j] for j in subset]).accuracy for subset in subsets]
        spread = statistics.pstdev(errors) if len(errors) > 1 else 0.0
        random_k.append(KLesion(k=k, error=statistics.fmean(errors), error_std=spread, draws=len(errors)))
    return NetLesions(net=net, baseline=baseline, blocks=tuple(blocks), random_k=tuple(random_k))

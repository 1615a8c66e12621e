"""A net's recorded history as one record for plots, read from the store a few new steps at a time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

from .config import NetName
from .store import RunStore

__all__ = ["MAX_POINTS", "NetHistory", "SweepCurve", "read_history", "thinned"]

MAX_POINTS: Final = 1500  # a long run is drawn from every k-th step, so a redraw stays cheap


@dataclass(frozen=True)
class NetHistory:
    """Everything one net has reported so far; ``norms[i][layer]`` in depth order, at step ``1 + i * stride``."""

    net: NetName
    title: str
    layer_names: tuple[str, ...]
    loss: tuple[float, ...] = ()
    accuracy: tuple[float, ...] = ()
    norms: tuple[tuple[float, ...], ...] = ()
    stride: int = 1

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def step_numbers(self) -> list[int]:
        return list(range(1, self.steps * self.stride + 1, self.stride))


@dataclass(frozen=True)
class SweepCurve:
    """The training loss of one net of a depth sweep, step by step."""

    depth: int
    plain: bool
    title: str
    loss: tuple[float, ...]


def read_history(store: RunStore, rid: str, net: NetName, known: NetHistory | None = None) -> NetHistory:
    """``known`` extended by the steps recorded since; read afresh when the run went back to a checkpoint."""
    run = store.get(rid)
    rec = run.nets[net]
    if known is None or known.stride != 1 or known.steps > rec.step or known.layer_names != rec.layers:
        known = NetHistory(net, rec.title, rec.layers)
    rows = store.metrics(rid, net, after=known.steps)
    if not rows:
        return known
    return dataclasses.replace(
        known,
        loss=known.loss + tuple(r.loss for r in rows),
        accuracy=known.accuracy + tuple(r.accuracy for r in rows),
        norms=known.norms + tuple(r.norms for r in rows),
    )


def thinned(h: NetHistory, max_points: int = MAX_POINTS) -> NetHistory:
    """Every k-th step of a long history (k chosen so at most ``max_points`` remain)."""
    k = -(-h.steps // max_points)
    if k <= 1:
        return h
    return dataclasses.replace(h, loss=h.loss[::k], accuracy=h.accuracy[::k], norms=h.norms[::k], stride=k)

"""Overlays: one number per node (params, MACs, a lab run's gradient norm, a lesion's damage), to colour by.

An overlay is a plain record; its values are the numbers it was given, exactly. Colour follows a linear or a
log scale over a range that two overlays (a net and its plain twin) can share.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from .colors import color_at
from .model import Hierarchy
from .units import human

__all__ = ["TRACE_OVERLAYS", "Overlay", "layer_overlay", "node_overlay", "shared_range", "trace_overlay"]

Scale = Literal["linear", "log"]
TRACE_OVERLAYS: Final = ("params", "macs", "output", "rf")


@dataclass(frozen=True)
class Overlay:
    key: str  # "params", "grad_norm", ...
    label: str  # shown over the legend, translated
    values: Mapping[str, float]  # node id -> value
    scale: Scale = "linear"
    lo: float | None = None  # the colour range; None: this overlay's own
    hi: float | None = None
    digits: int = 3
    human_units: bool = False
    notes: Mapping[str, str] = field(default_factory=dict)

    def range(self) -> tuple[float, float]:
        if self.lo is not None and self.hi is not None:
            return self.lo, self.hi
        return shared_range([self])

    def fmt(self, v: float) -> str:
        if self.human_units:
            return human(round(v))
        return f"{v:.{self.digits}g}"

    def color(self, node_id: str) -> str | None:
        v = self.values.get(node_id)
        if v is None or not math.isfinite(v):
            return None
        lo, hi = self.range()
        if self.scale == "log":
            if v <= 0:
                return color_at(0.0)
            lo, hi, v = math.log10(max(lo, 1e-30)), math.log10(max(hi, 1e-30)), math.log10(v)
        return color_at(0.5 if hi == lo else (v - lo) / (hi - lo))

    def with_range(self, lo: float, hi: float) -> Overlay:
        return Overlay(self.key, self.label, self.values, self.scale, lo, hi, self.digits, self.human_units, self.notes)


def shared_range(overlays: Iterable[Overlay]) -> tuple[float, float]:
    """One colour range over several overlays (a net and its twin share a scale); positive only on a log scale."""
    vals = [v for o in overlays for v in o.values.values() if math.isfinite(v) and (o.scale == "linear" or v > 0)]
    if not vals:
        return 0.0, 1.0
    return min(vals), max(vals)


def trace_overlay(h: Hierarchy, key: str, label: str) -> Overlay:
    """params, MACs, output size (elements) or receptive field (pixels, the larger side) of every node."""
    values: dict[str, float] = {}
    for n in h.nodes.values():
        if n.kind in ("input", "output"):
            continue
        if key == "params":
            v = float(n.params)
        elif key == "macs":
            v = float(n.macs)
        elif key == "output":
            v = float(math.prod(n.output_shape))
        elif key == "rf":
            if n.rf is None:
                continue
            v = float(max(n.rf))
        else:
            raise ValueError(f"unknown trace overlay {key!r}")
        values[n.id] = v
    scale: Scale = "log" if key in ("params", "macs", "output") else "linear"
    positive = [v for v in values.values() if v > 0]
    return Overlay(key, label, values, scale, min(positive, default=0.0), max(positive, default=1.0), human_units=True)


def layer_overlay(
    h: Hierarchy,
    values: Mapping[str, float],
    *,
    key: str,
    label: str,
    scale: Scale = "log",
    digits: int = 3,
    groups: bool = True,
) -> Overlay:
    """Per-layer numbers (a lab run's gradient norms at one step, keyed by module path), exactly as given, and
    each group holding some of them: the root of the sum of their squares (the norm of the group's gradients
    when each value is its layer's gradient norm)."""
    out = {k: float(v) for k, v in values.items() if k in h}
    if not groups:  # numbers that do not add up (an error, a std): only where they were measured
        return Overlay(key, label, out, scale, digits=digits)
    sums: dict[str, float] = {}
    for k, v in out.items():
        for a in h.ancestors(k):
            sums[a] = sums.get(a, 0.0) + v * v
    rss = {a: math.sqrt(s) for a, s in sums.items() if a not in out}
    return Overlay(key, label, {**out, **rss}, scale, digits=digits)


def node_overlay(
    h: Hierarchy,
    values: Mapping[str, float],
    *,
    key: str,
    label: str,
    lo: float | None = None,
    hi: float | None = None,
    digits: int = 3,
) -> Overlay:
    """Numbers measured at every node (a picture's activation statistics, ``ActivationStats.values``), exactly as
    given, on a linear scale (a mean may be negative); a folded run of blocks shows its last block's number, as its
    output is that block's. ``lo`` / ``hi``: a range shared with the plain twin (``shared_scale``)."""
    out = {k: float(v) for k, v in values.items() if k in h}
    for n in h.nodes.values():
        if n.kind == "run" and n.children and n.children[-1] in out:
            out[n.id] = out[n.children[-1]]
    return Overlay(key, label, out, "linear", lo, hi, digits)

"""The memory one picture's pass through a net holds, estimated on the meta device, and the ceiling beyond it.

Two figures, from the tracer's records (nothing is allocated; ResNet-152 at 448 px costs a meta trace):

- ``streamed``: a pass whose hooks reduce each output at once (the statistics, a node's grid) holds, at worst, one
  segment (a block, the stem or the head) at a time: its input, kept for the shortcut, and every output inside it;
  plus the squared deviations and the zero mask of the largest output being reduced. An upper bound of the peak.
- ``kept``: a pass that must go backward (Grad-CAM) keeps every output for autograd, plus the input and a gradient
  of the largest output.

Both are float32, one picture. ResNet-50 at 224 px streams about 28 MiB and keeps about 150 MiB; ResNet-152 at
448 px keeps about 1.2 GiB, beyond the default ceiling of 1 GiB, so its Grad-CAM is refused while its statistics
(about 113 MiB streamed) are not. Sampled peaks are about half of these (docs/DESIGN.md).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Final

from ..errors import ResourceError
from ..nets.spec import ResNetSpec
from ..nets.trace import TraceReport, trace

__all__ = ["ACTIVATION_LIMIT_ENV", "ACTIVATION_LIMIT_MIB", "Footprint", "activation_limit", "check_fits", "footprint"]

# 1 GiB: ResNet-152 at 224 px keeps ~0.3 GiB for Grad-CAM, at 448 px ~1.2 GiB; a web process serving several
# sessions should not hold more than this for one picture. $RESNET_VIZ_ACTIVATION_MIB overrides it (in MiB).
ACTIVATION_LIMIT_MIB: Final = 1024
ACTIVATION_LIMIT_ENV: Final = "RESNET_VIZ_ACTIVATION_MIB"
_FLOAT32: Final = 4  # bytes per activation
_REDUCE_FACTOR: Final = 5 / 4  # reducing one output: its squared deviations (a float32 copy) and its zero mask


@dataclass(frozen=True)
class Footprint:
    """Activation memory of one picture's forward pass, in bytes, float32."""

    streamed: int  # hooks reduce each output at once: the peak of the bare pass, bounded from above
    kept: int  # every output kept for a backward pass (Grad-CAM)
    largest: int  # the largest single output


def activation_limit() -> int:
    """The ceiling in bytes: $RESNET_VIZ_ACTIVATION_MIB (MiB) if set, else ACTIVATION_LIMIT_MIB."""
    text = os.environ.get(ACTIVATION_LIMIT_ENV, "").strip()
    if not text:
        return ACTIVATION_LIMIT_MIB * 2**20
    try:
        mib = float(text)
    except ValueError:
        raise ValueError(f"${ACTIVATION_LIMIT_ENV} must be a number of MiB, not {text!r}") from None
    if not mib > 0 or not math.isfinite(mib):
        raise ValueError(f"${ACTIVATION_LIMIT_ENV} must be a positive number of MiB, not {text!r}")
    return int(mib * 2**20)


def footprint_of(report: TraceReport) -> Footprint:
    """The two figures of a traced net (see the module's docstring)."""
    segments: dict[str, int] = {}  # a block, the stem or the head -> its input and every output inside it
    for r in report.layers:
        seg = r.block or r.stage
        if seg not in segments:
            segments[seg] = math.prod(r.input_shape) * _FLOAT32
        segments[seg] += r.activation_bytes
    largest = max((r.activation_bytes for r in report.layers), default=0)
    picture = math.prod(report.input_shape) * _FLOAT32
    reduce = math.ceil(largest * _REDUCE_FACTOR)
    streamed = picture + max(segments.values(), default=0) + reduce
    kept = picture + report.totals.activation_bytes + 2 * largest  # the tap's output and its gradient, once more
    return Footprint(streamed=streamed, kept=kept, largest=largest)


@functools.lru_cache(maxsize=64)
def footprint(spec: ResNetSpec, size: tuple[int, int]) -> Footprint:
    """``footprint_of`` the meta trace of ``spec`` at ``size`` (H, W); remembered, as it depends on nothing else."""
    return footprint_of(trace(spec, input_size=size))


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_fits(spec: ResNetSpec, size: tuple[int, int], *, kept: bool, limit: int | None = None) -> Footprint:
    """The footprint of one picture of ``size`` through ``spec``, or a ``ResourceError`` when the pass would hold
    more than ``limit`` bytes (default ``activation_limit()``): ``kept`` for a pass that goes backward."""
    fp = footprint(spec, size)
    need = fp.kept if kept else fp.streamed
    cap = activation_limit() if limit is None else limit
    if need > cap:
        raise ResourceError(
            "activations_too_big", name=spec.title, h=size[0], w=size[1], need=_gib(need), limit=_gib(cap)
        )
    return fp

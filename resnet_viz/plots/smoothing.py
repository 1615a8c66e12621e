"""TensorBoard's "smoothing": an exponential moving average, debiased, of the points a curve draws.

TensorBoard's classic smoothing (tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts, ``classicSmoothing``)
starts the average at 0 and divides by ``1 - weight ** n`` after the n-th finite point, which removes the pull
towards 0 at the start; a constant series is returned as it is, and a non-finite point is kept and skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

__all__ = ["DEFAULT_SMOOTHING", "ema"]

DEFAULT_SMOOTHING: Final = 0.6  # TensorBoard's own default


def ema(values: Sequence[float], weight: float) -> list[float]:
    """The debiased exponential moving average of ``values``; ``weight`` in [0, 1] (0 = the raw values)."""
    weight = min(max(weight, 0.0), 1.0) if math.isfinite(weight) else 0.0
    if not values or all(v == values[0] for v in values):
        return list(values)  # TensorBoard #786: a constant series would otherwise drift by float rounding
    out: list[float] = []
    last, n = 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight**n) if weight < 1 else last)
    return out

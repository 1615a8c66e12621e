"""The overlay's colour scale: viridis, from dark (small) to yellow (large), readable in grey print too."""

from __future__ import annotations

from typing import Final

__all__ = ["VIRIDIS", "color_at", "ramp"]

# matplotlib's viridis at 0, 1/8, ..., 1 (van der Walt & Smith 2015)
VIRIDIS: Final = (
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
)


def ramp() -> tuple[str, ...]:
    return tuple(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in VIRIDIS)


def color_at(u: float) -> str:
    """The colour at ``u`` in [0, 1] (clamped), interpolated between viridis's stops."""
    u = min(max(u, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(u), len(VIRIDIS) - 2)
    f = u - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(a, b))
    return f"#{r:02x}{g:02x}{bl:02x}"

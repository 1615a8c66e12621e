"""Counts in human units (25557032 -> "25.6 M"), the one formatter the graph, the tables and the CLI share."""

from __future__ import annotations

from typing import Final

__all__ = ["UNITS", "exact", "human"]

# SI prefixes, largest first. MACs of a big net at a big input pass 10^12 (ResNet-152 at 4000×4000: ~3.7 T).
UNITS: Final = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(n: float) -> str:
    """Three significant digits and an SI prefix: 25557032 -> "25.6 M", 9536 -> "9.54 K", 512 -> "512".

    The prefix is the largest one whose rounded value is at least 1, so 999999 reads "1 M", never "1e+03 K".
    """
    for div, unit in UNITS:
        v = abs(n) / div
        text = f"{v:.3g}" if v < 999.5 else f"{v:,.0f}"  # only the largest prefix goes past 999
        if float(text.replace(",", "")) >= 1:
            return f"{'-' if n < 0 else ''}{text} {unit}"
    return f"{n:.3g}" if isinstance(n, float) else str(n)


def exact(n: int) -> str:
    """The exact count with thousands separators, for tooltips: 25557032 -> "25,557,032"."""
    return f"{n:,}"

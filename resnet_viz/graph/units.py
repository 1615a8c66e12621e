"""Human units for counts and bytes, and tensor shapes as text."""

from __future__ import annotations

from collections.abc import Sequence

from ..units import human  # the one formatter of counts, shared with the nets' tables and the pages

__all__ = ["human", "human_bytes", "shape_text"]


def shape_text(shape: Sequence[int]) -> str:
    """(256, 56, 56) -> "256×56×56"."""
    return "×".join(map(str, shape))


def human_bytes(n: int) -> str:
    """802816 -> "784 KiB"."""
    for div, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n} B"

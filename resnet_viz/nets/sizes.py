"""Input sizes: an int, a pair or None, checked and made an (H, W) pair; no torch, so the sidebar can use it."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InputError

__all__ = ["MAX_INPUT", "normalize_size"]

MAX_INPUT = 16384  # pixels per side; meta tensors make even this free, the bound stops typos
Pair = tuple[int, int]


def normalize_size(size: int | Iterable[int] | None, default: int) -> Pair:
    """(H, W) from an int, a pair or None; a size outside 1..MAX_INPUT is refused."""
    if size is None:
        h = w = default
    elif isinstance(size, int):
        h = w = size
    else:
        parts = tuple(size)
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise InputError("bad_size", size=parts, limit=MAX_INPUT)
        h, w = parts
    for v in (h, w):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INPUT:
            raise InputError("bad_size", size=v, limit=MAX_INPUT)
    return (h, w)

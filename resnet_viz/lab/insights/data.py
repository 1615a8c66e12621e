"""Held-out images for the insights: a synthetic draw that no training run of the lab ever sees."""

from __future__ import annotations

from typing import Final

from torch import Tensor

from ..data import synthetic

__all__ = ["HELD_OUT_POOL", "HELD_OUT_SEED", "held_out"]

# A run trains on ``synthetic(seed=run seed)`` (runner.py and the lab call load_dataset(..., seed=config.seed)),
# and the lab's seed field takes 0..2**31-1. torch's CPU generator keeps only a seed's low 32 bits (its
# mt19937 is seeded with ``seed & 0xFFFFFFFF``: seed 2**32 + s draws exactly what s draws), so the held-out
# seed must differ from every training seed in those low bits: 2**32 - 1 (0xFFFFFFFF) lies above 2**31 - 1.
HELD_OUT_SEED: Final = 2**32 - 1
# The held-out images are the first n of one draw this size: synthetic() normalises by its own draw's mean
# and std, and a draw the size of a training set (synthetic's default, 2048) is normalised as training was.
HELD_OUT_POOL: Final = 2048


def held_out(n: int = 512) -> tuple[Tensor, Tensor]:
    """Images (n, 3, 32, 32) and labels (n,) of the held-out draw; smaller requests are prefixes of larger ones."""
    if n < 1:
        raise ValueError(f"need at least one held-out image, got {n}")
    data = synthetic(max(n, HELD_OUT_POOL), seed=HELD_OUT_SEED)
    return data.images[:n], data.labels[:n]

"""The statistics a picture colours the graph by, named without importing torch: a page draws its controls (and
reads ``stat=`` from a link) before anything is computed, so it need not wait for torch to name them."""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["DEFAULT_STAT", "OVERLAY_PREFIX", "STATS", "Stat", "stat_of"]

Stat = Literal["mean", "std", "dead"]
STATS: Final[tuple[Stat, ...]] = get_args(Stat)
DEFAULT_STAT: Final[Stat] = "dead"  # the share of zeros after each ReLU: what differs most between layers
OVERLAY_PREFIX: Final = "act_"  # the graph's overlay names: act_mean, act_std, act_dead


def stat_of(overlay: str | None) -> Stat | None:
    """The statistic an overlay name shows (``act_dead`` -> ``dead``), None for any other overlay."""
    if overlay is None or not overlay.startswith(OVERLAY_PREFIX):
        return None
    name = overlay.removeprefix(OVERLAY_PREFIX)
    return next((s for s in STATS if s == name), None)

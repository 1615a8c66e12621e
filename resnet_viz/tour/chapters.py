"""The guided tour as data: its chapters, in order, each a record (key, view kind, number of questions).

A chapter's words live in ``locales/*/tour.toml`` under ``tour.<key>.*``; the numbers they quote come from
``tour.facts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["CHAPTERS", "Chapter", "ViewKind", "chapter_index"]

ViewKind = Literal[
    "depth_sweep",
    "blocks",
    "shortcuts",
    "gradients",
    "landscape",
    "lesion",
    "family",
    "features",
    "layer_picture",
    "dense",
]


@dataclass(frozen=True)
class Chapter:
    """One stop of the tour: ``key`` is its URL value (``?chapter=key``) and its prefix in the locale files."""

    key: str
    view: ViewKind
    questions: int  # the text has tour.<key>.q1 .. q<questions>


CHAPTERS: Final[tuple[Chapter, ...]] = (
    Chapter("degradation", "depth_sweep", 2),
    Chapter("block", "blocks", 2),
    Chapter("shortcuts", "shortcuts", 2),
    Chapter("gradients", "gradients", 2),
    Chapter("landscape", "landscape", 2),
    Chapter("ensembles", "lesion", 2),
    Chapter("family", "family", 2),
    Chapter("features", "features", 2),
    Chapter("layers", "layer_picture", 2),
    Chapter("dense", "dense", 2),
)


def chapter_index(key: str | None) -> int:
    """The position of the chapter ``key``; 0 (the first) for None or an unknown key."""
    for i, ch in enumerate(CHAPTERS):
        if ch.key == key:
            return i
    return 0

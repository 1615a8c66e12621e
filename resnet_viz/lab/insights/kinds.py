"""What each insight job of a lab run takes and gives: its settings (checked, defaults filled), their key, its record.

The page and the CLI pass settings through :func:`normalize`, so a bad value is the same sentence in both, and
the same request (defaults spelled out or not) always has the same :func:`settings_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from ..config import MAX_SEED, RunConfig
from ..store import StoreError
from .data import HELD_OUT_POOL
from .erf import ERF, Fill
from .landscape import GRID, Landscape
from .lesion import DRAWS, Lesions
from .record import Record
from .responses import Responses
from .shattered import LabShattering

__all__ = [
    "DEFAULTS",
    "FILLS",
    "FORMAT",
    "KINDS",
    "MAX_DRAWS",
    "MAX_GRID",
    "MAX_IMAGES",
    "RECORDS",
    "ERFStudy",
    "Kind",
    "normalize",
    "settings_key",
    "stages",
]

Kind = Literal["landscape", "lesion", "erf", "responses", "neighbours"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
FILLS: Final[tuple[Fill, ...]] = get_args(Fill)
# Bump when a computation or a record changes: results stored under the old keys are then not reused.
FORMAT: Final = 1
MAX_GRID: Final = 51  # Li et al. 2018 plot 51×51; beyond that a CPU job takes hours
MAX_IMAGES: Final = HELD_OUT_POOL  # the held-out draw is normalised as a training set of this size
MAX_DRAWS: Final = 50

# The page's and the CLI's defaults. Costs on ResNet-56 and plain-56, one CPU thread (benchmarks/bench_insights.py):
# the 21×21 landscape on 512 images is about 40 min for both nets, the lesion study about 9 min, the rest seconds.
DEFAULTS: Final[dict[Kind, dict[str, Any]]] = {
    "landscape": {"grid": GRID, "dims": 2, "images": 512, "seed": 0},
    "lesion": {"images": 512, "draws": DRAWS, "seed": 0},
    "erf": {"stage": None, "images": 32, "fill": "reflect"},  # stage None: the run's last stage
    "responses": {"images": 512},
    "neighbours": {"images": 32, "seed": 0},
}


@dataclass(frozen=True)
class ERFStudy(Record):
    """The erf job's record: each net's ERF of ``stage`` after training and at initialization (the run's seed)."""

    stage: str
    images: int
    fill: str
    trained: tuple[ERF, ...]
    init: tuple[ERF, ...]


RECORDS: Final[dict[Kind, type[Record]]] = {
    "landscape": Landscape,
    "lesion": Lesions,
    "erf": ERFStudy,
    "responses": Responses,
    "neighbours": LabShattering,
}


def stages(config: RunConfig) -> tuple[str, ...]:
    """The run's stage names, input side first (``layer1``, ``layer2``, ...)."""
    return tuple(f"layer{i}" for i in range(1, len(config.spec.layers) + 1))


def _whole(value: Any, code: str, low: int, high: int) -> int:
    """``value`` as a whole number in [low, high], else the StoreError ``code`` (a widget may hand over 21.0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreError(code, value=str(value)[:40], low=low, limit=high) from None
    if isinstance(value, bool) or not number.is_integer() or not low <= number <= high:
        raise StoreError(code, value=str(value)[:40], low=low, limit=high)
    return int(number)


def normalize(kind: Kind, settings: Mapping[str, Any], config: RunConfig) -> dict[str, Any]:
    """Every setting of ``kind``, defaults filled in, checked against the run; a bad value is one StoreError."""
    if kind not in KINDS:
        raise ValueError(f"unknown insight {kind!r}")
    unknown = set(settings) - set(DEFAULTS[kind])
    if unknown:
        raise ValueError(f"{kind} takes no setting {sorted(unknown)}")
    s = {**DEFAULTS[kind], **{k: v for k, v in settings.items() if v is not None}}
    out: dict[str, Any] = {"images": _whole(s["images"], "bad_images", 1, MAX_IMAGES)}
    if "seed" in s:
        out["seed"] = _whole(s["seed"], "bad_seed", 0, MAX_SEED)
    if kind == "landscape":
        out["grid"] = _whole(s["grid"], "bad_grid", 2, MAX_GRID)
        out["dims"] = _whole(s["dims"], "bad_dims", 1, 2)
    elif kind == "lesion":
        out["draws"] = _whole(s["draws"], "bad_draws", 1, MAX_DRAWS)
    elif kind == "erf":
        names = stages(config)
        stage = names[-1] if s["stage"] in (None, "") else str(s["stage"])
        if stage not in names:
            raise StoreError("unknown_stage", stage=stage[:40], net=config.title, options=", ".join(names))
        if s["fill"] not in FILLS:
            raise StoreError("bad_fill", fill=str(s["fill"])[:40], options=", ".join(FILLS))
        out["stage"], out["fill"] = stage, s["fill"]
    return dict(sorted(out.items()))


def settings_key(kind: Kind, settings: Mapping[str, Any]) -> str:
    """A short stable hash of the kind, its normalised settings and the results' FORMAT."""
    text = json.dumps({"kind": kind, "settings": dict(settings), "format": FORMAT}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

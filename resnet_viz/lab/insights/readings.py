"""What the insight records say in a few numbers: the summaries the page and the CLI put into sentences."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .erf import ERF
from .kinds import ERFStudy
from .landscape import Surface
from .lesion import Lesions
from .record import Record
from .responses import Responses

__all__ = [
    "Convexity",
    "ERFRow",
    "LesionSummary",
    "ResponsesReading",
    "convexity",
    "erf_rows",
    "lesion_summary",
    "responses_reading",
]


@dataclass(frozen=True)
class Convexity(Record):
    """Li et al. 2018 §6's two views of convexity: the Hessian at the centre, and the drawn slice's curvature."""

    net: str
    eig_ratio: float  # |λ_min| / |λ_max| at θ, every direction of weight space; near 0: (almost) convex there
    upward_share: float | None  # share of the drawn grid (or slice) curving upward; None without interior points

    @property
    def upward_share_text(self) -> str:
        return "n/a" if self.upward_share is None else f"{self.upward_share:.0%}"


def convexity(surface: Surface) -> Convexity:
    return Convexity(net=surface.net, eig_ratio=surface.eig_ratio, upward_share=surface.upward_share)


@dataclass(frozen=True)
class LesionSummary(Record):
    """One net's lesion study in three numbers (Veit et al. 2016): the error with nothing deleted, the mean error
    over every single-block deletion that is possible, and the worst of them (with its block)."""

    net: str
    baseline_error: float
    mean_single: float | None
    worst_single: float | None
    worst_block: str | None


def lesion_summary(record: Lesions) -> list[LesionSummary]:
    out = []
    for n in record.nets:
        singles = [(1.0 - b.accuracy, b.name) for b in n.blocks if b.accuracy is not None]
        worst = max(singles) if singles else None
        out.append(
            LesionSummary(
                net=n.net,
                baseline_error=1.0 - n.baseline.accuracy,
                mean_single=statistics.fmean(e for e, _ in singles) if singles else None,
                worst_single=worst[0] if worst else None,
                worst_block=worst[1] if worst else None,
            )
        )
    return out


@dataclass(frozen=True)
class ERFRow(Record):
    """One ERF in a table row: when (``trained`` or ``init``), the theoretical side and the 50% / 95% sides."""

    net: str
    when: str
    rf: int
    side50: int
    side95: int
    share50: float  # side50 / rf: how much of the theoretical field the central half of the mass fills
    share95: float


def erf_rows(study: ERFStudy) -> list[ERFRow]:
    def row(e: ERF, when: str) -> ERFRow:
        return ERFRow(e.net, when, e.rf, e.side50, e.side95, e.side50 / e.rf, e.side95 / e.rf)

    return [row(e, "init") for e in study.init] + [row(e, "trained") for e in study.trained]


@dataclass(frozen=True)
class ResponsesReading(Record):
    """He et al. 2015 §4.2 read Fig. 7 as "ResNets have generally smaller responses than their plain
    counterparts": the residual functions are closer to zero. ``shows`` holds when the residual net's mean
    response std is below the plain net's and it is smaller in more than half of the layers (matched by index)."""

    residual_mean: float
    plain_mean: float
    smaller: int  # layers where the residual net's std is below the plain net's
    layers: int  # layers compared
    shows: bool


def responses_reading(record: Responses) -> ResponsesReading:
    nets = {n.net: n for n in record.nets}
    res, plain = nets["residual"].std, nets["plain"].std
    layers = min(len(res), len(plain))
    smaller = sum(r < p for r, p in zip(res, plain))
    r_mean, p_mean = statistics.fmean(res), statistics.fmean(plain)
    return ResponsesReading(
        residual_mean=r_mean,
        plain_mean=p_mean,
        smaller=smaller,
        layers=layers,
        shows=r_mean < p_mean and 2 * smaller > layers,
    )

"""The lab's line: which active runs train now (at most ``MAX_RUNS`` at once), which wait, and what each page says.

Read from the store alone, so every replica and the CLI agree. Runs take their place by the time they were queued
(Start, or Start again after a stop). A run that has made no step for ``STALL_S`` while running (its worker died,
or the process that ran its engine ended) keeps its place but does not hold a slot, so it cannot block the line.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Final, Literal

from ..i18n import DEFAULT_LANG, Lang, t
from .store import ACTIVE, RunRecord, RunStore

__all__ = ["MAX_RUNS", "STALL_S", "Phase", "RunState", "admitted", "describe", "run_state", "waiting_line"]

# How many distinct runs train at once; their slices take turns on the workers. More would only share the same
# cores more thinly (each run slower, none sooner done); the rest wait in line.
MAX_RUNS: Final = int(os.environ.get("RESNET_VIZ_MAX_RUNS", "3"))
# A running run that has recorded no step for this long is stalled: with MAX_RUNS runs of two nets taking turns
# in slices of a few seconds, a healthy run records a step every few seconds.
STALL_S: Final = float(os.environ.get("RESNET_VIZ_STALL_S", "60"))

Phase = Literal["waiting", "starting", "running", "stalled", "ended"]


def _stalled(run: RunRecord, now: float) -> bool:
    return run.status == "running" and now - run.updated > STALL_S


def waiting_line(store: RunStore, *, slots: int = MAX_RUNS, now: float | None = None) -> tuple[list[str], list[str]]:
    """(the ids of the runs that may train now, the ids of those that wait, first in line first)."""
    now = time.time() if now is None else now
    active = sorted((r for r in store.runs(statuses=ACTIVE) if not r.reference), key=lambda r: (r.queued, r.id))
    go: list[str] = []
    wait: list[str] = []
    taken = 0
    for run in active:
        if taken < slots:
            go.append(run.id)
            taken += 0 if _stalled(run, now) else 1
        else:
            wait.append(run.id)
    return go, wait


def admitted(store: RunStore, rid: str, *, slots: int = MAX_RUNS) -> bool:
    return rid in waiting_line(store, slots=slots)[0]


@dataclass(frozen=True)
class RunState:
    """What a run is doing now, for its page: the phase and the numbers its sentence needs."""

    phase: Phase
    position: int = 0  # waiting: 1 = next to start
    seconds: float | None = None  # waiting: about when it starts; stalled: how long without a step
    resumed_from: int | None = None  # the checkpoint step a worker took the run up from, after losing it


def _start_estimate(store: RunStore, go: list[str], wait: list[str], rid: str, slots: int) -> float | None:
    """Seconds until ``rid`` starts: the slots free as the runs ahead finish, at the pace the runs show now."""
    runs = {r.id: r for r in store.runs(statuses=ACTIVE)}
    training = [runs[i] for i in go if i in runs]
    rates = [r.rate for r in training if r.rate > 0]
    if not rates:
        return None
    pace = sum(rates) / len(rates)  # pair-steps per second of one run while `slots` runs share the workers
    frees = sorted((r.total - r.step) / (r.rate if r.rate > 0 else pace) for r in training)
    frees += [0.0] * max(0, slots - len(frees))
    for other in wait:
        start = frees.pop(0)
        if other == rid:
            return start
        frees.append(start + runs[other].total / pace)
        frees.sort()
    return None


def run_state(store: RunStore, run: RunRecord, *, slots: int = MAX_RUNS, now: float | None = None) -> RunState:
    """Where ``run`` stands: waiting in line (its place and when it starts), starting (its first slice waits for a
    worker), running (steps are being made), stalled (none for ``STALL_S``), or ended."""
    now = time.time() if now is None else now
    if run.status not in ACTIVE or run.reference:
        return RunState("ended")
    go, wait = waiting_line(store, slots=slots, now=now)
    if run.id in wait:
        return RunState("waiting", wait.index(run.id) + 1, _start_estimate(store, go, wait, run.id, slots))
    resumed = store.results(run.id, "resumed")
    back = int(resumed[-1]["checkpoint"]) if resumed else None
    if run.status == "queued":
        return RunState("starting")
    if _stalled(run, now):
        return RunState("stalled", seconds=now - run.updated, resumed_from=back)
    return RunState("running", resumed_from=back)


def describe(run: RunRecord, state: RunState, lang: Lang = DEFAULT_LANG, *, slots: int = MAX_RUNS) -> tuple[str, str]:
    """The run's status word for its progress line, and the sentence that says why it is not moving and what happens
    next ("" when it is training or has ended)."""
    if state.phase == "waiting":
        eta = (
            t("lab.waiting_unknown", lang)
            if state.seconds is None
            else t("lab.waiting_eta", lang, minutes=max(1.0, state.seconds / 60))
        )
        return t("lab.phase_waiting", lang), t("lab.waiting", lang, position=state.position, slots=slots, eta=eta)
    if state.phase == "starting":
        return t("lab.phase_starting", lang), t("lab.starting", lang)
    if state.phase == "stalled":
        return t("lab.phase_stalled", lang), t("lab.stalled", lang, seconds=state.seconds or STALL_S)
    if state.phase == "running":
        return t("lab.status_running", lang), ""
    return t(f"lab.status_{run.status}", lang), ""

"""Insights as a service for the page and the CLI: a stored record at once, else a keyed job in the engine.

A job's key is ``insight-{kind}-{run}-{settings key}`` (its pieces add ``-{piece}``), so everyone asking for the
same insight of the same run joins one computation; its record is kept in the run store under the settings key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ...errors import UserError
from ..engine import Engine
from ..store import RecordedError, RunRecord, RunStore, StoreError
from .jobs import Piece, combine, plan, run_piece
from .kinds import RECORDS, Kind, normalize, settings_key
from .record import Record

__all__ = [
    "POLL_S",
    "Done",
    "Failed",
    "Outcome",
    "Pending",
    "cached",
    "compute_now",
    "job_key",
    "prepare",
    "request",
    "stored",
]

POLL_S: Final = 0.5


@dataclass(frozen=True)
class Done:
    """The record is in the store."""

    record: Record


@dataclass(frozen=True)
class Pending:
    """A job is computing it; ``progress`` is the share of its work done, 0 to 1."""

    progress: float


@dataclass(frozen=True)
class Failed:
    """The job failed; ``error`` says why in one sentence. Asking again with ``retry=True`` starts it afresh."""

    error: UserError


Outcome = Done | Pending | Failed


def job_key(kind: Kind, rid: str, key: str) -> str:
    return f"insight-{kind}-{rid}-{key}"


def prepare(store: RunStore, rid: str, kind: Kind, settings: Mapping[str, Any]) -> tuple[RunRecord, dict[str, Any]]:
    """The finished run and the checked settings; an unknown or unfinished run or a bad value is a StoreError."""
    run = store.get(rid)
    if run.status != "done":
        raise StoreError("run_not_finished", run=rid, status=run.status)
    return run, normalize(kind, settings, run.config)


def stored(store: RunStore, rid: str, kind: Kind, settings: Mapping[str, Any]) -> tuple[str, Record | None]:
    """The job's key and its stored record (None when not computed yet); checks the run and the settings first."""
    _, s = prepare(store, rid, kind, settings)
    key = settings_key(kind, s)
    value = store.get_result(rid, kind, key)
    return job_key(kind, rid, key), None if value is None else RECORDS[kind].from_json(value)


def cached(store: RunStore, rid: str, kind: Kind, settings: Mapping[str, Any]) -> Record | None:
    """The stored record of these settings, or None; checks the run and the settings first."""
    return stored(store, rid, kind, settings)[1]


def _progress(store: RunStore, rid: str, kind: Kind, key: str, pieces: tuple[Piece, ...]) -> float:
    """The share of the job's work done: each piece's recorded progress, weighted by its cost."""
    total = sum(p.weight for p in pieces)
    done = 0.0
    for p in pieces:
        value = store.get_result(rid, f"{kind}:progress", f"{key}:{p.name}")
        done += p.weight * (float(value) if isinstance(value, int | float) else 0.0)
    return min(done / total, 1.0) if total else 0.0


def request(
    store: RunStore, engine: Engine, rid: str, kind: Kind, settings: Mapping[str, Any], *, retry: bool = False
) -> Outcome:
    """The stored record, else the job's progress after making sure it is submitted (the same key joins it).

    A job that failed stays failed (``Failed``) until it is asked for with ``retry=True``.
    """
    _, s = prepare(store, rid, kind, settings)
    key = settings_key(kind, s)
    pieces = plan(kind, s)
    top = job_key(kind, rid, key)
    keys = [f"{top}-{p.name}" for p in pieces]
    value = store.get_result(rid, kind, key)
    if value is not None:
        for k in [top, *keys]:  # the engine need not hold the results any longer
            engine.release(k)
        return Done(RECORDS[kind].from_json(value))
    said = store.get_result(rid, f"{kind}:error", key)
    if said is not None:
        for k in [top, *keys]:
            engine.release(k)
        if not retry:
            return Failed(RecordedError(said["key"], **said["values"]))
        store.put_result(rid, f"{kind}:error", key, None)  # forgotten: the job starts afresh
    futures = [engine.compute(run_piece, kind, rid, s, store.url, p, key=k) for p, k in zip(pieces, keys)]
    last = engine.compute(combine, kind, rid, s, store.url, *futures, key=top)
    if last.status == "error" and store.get_result(rid, f"{kind}:error", key) is None:
        # failed without a word from the job itself (a worker lost too often, say): recorded here
        exc = last.exception(timeout=1)
        logging.getLogger(__name__).error("insight job %s failed", top, exc_info=exc)
        detail = {"detail": f"{type(exc).__name__}: {exc}"[:300]}
        store.put_result(rid, f"{kind}:error", key, {"key": "lab.error.insight_failed", "values": detail})
    if last.status in ("finished", "error"):  # combine stored the record, or the failure is recorded
        return request(store, engine, rid, kind, settings)
    return Pending(_progress(store, rid, kind, key, pieces))


def compute_now(
    store: RunStore,
    engine: Engine,
    rid: str,
    kind: Kind,
    settings: Mapping[str, Any],
    *,
    on_progress: Callable[[float], None] | None = None,
    poll: float = POLL_S,
) -> Record:
    """The record, computed by the engine when it is not stored yet; waits for it (for the CLI and scripts)."""
    outcome = request(store, engine, rid, kind, settings, retry=True)
    while isinstance(outcome, Pending):
        if on_progress is not None:
            on_progress(outcome.progress)
        time.sleep(poll)
        outcome = request(store, engine, rid, kind, settings)
    if isinstance(outcome, Failed):
        raise outcome.error
    return outcome.record

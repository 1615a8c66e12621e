"""The lab's service verbs, shared by the page and the CLI: start or join a run, watch it, stop watching.

Pages and the CLI only call these and read the store; training happens in the engine's workers.
"""

from __future__ import annotations

import time
from typing import Final

from .config import RunConfig
from .engine import Engine
from .store import ACTIVE, Origin, RunRecord, RunStore

__all__ = ["LIVE_S", "start_run", "stop_watching", "watch_run"]

LIVE_S: Final = 10.0  # a session that polled within this many seconds is still watching


def start_run(
    store: RunStore, engine: Engine, config: RunConfig, *, origin: Origin = "web", keep: bool = False,
    session: str | None = None,
) -> str:  # fmt: skip
    """Start the run ``config`` describes, or join it when it exists; a stopped run resumes where it was."""
    rid, _created = store.create(config, origin=origin, keep=keep)
    if session is not None:
        store.watch(rid, session)
    store.set_status(rid, "queued", only_from=("stopped", "failed"))
    if keep or origin != "web":
        store.set_keep(rid, True)
    engine.ensure(store, rid)
    return rid


def watch_run(store: RunStore, engine: Engine | None, rid: str, session: str) -> RunRecord:
    """The run as it is now; marks this session as watching and re-ensures an active run's tasks."""
    run = store.get(rid)
    if run.status in ACTIVE:
        store.watch(rid, session)
        if engine is not None:
            engine.ensure(store, rid)
    return run


def stop_watching(store: RunStore, rid: str, session: str) -> bool:
    """This session stops watching; the run stops now when nobody else watches it. True if it stopped."""
    store.unwatch(rid, session)
    run = store.get(rid)
    if run.keep or run.status not in ACTIVE:
        return False
    other = store.last_seen(rid)
    if other is not None and time.time() - other < LIVE_S:
        return False
    return store.set_status(rid, "stopped", only_from=ACTIVE, error_code="lab.error.stopped")

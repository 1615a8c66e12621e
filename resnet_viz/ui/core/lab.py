"""The web process's handles on the lab service: one store and one engine per server, and this session's id."""

from __future__ import annotations

import os
import time
import uuid

import streamlit as st

from ...lab.defaults import DEFAULT
from ...lab.engine import Engine, EngineError
from ...lab.reference import import_references, reference_for
from ...lab.store import RunRecord, RunStore, StoreError, default_url
from .text import say_error, tr

__all__ = ["current_run", "engine", "run_label", "session_id", "store"]


@st.cache_resource(show_spinner=False)
def _store(url: str) -> RunStore:
    s = RunStore(url)
    import_references(s)  # the shipped reference runs, on first start
    return s


@st.cache_resource(show_spinner=False)
def _engine(address: str) -> Engine:
    # the first lab request starts one local cluster for the whole server, shared by every session
    return Engine(address)


def store() -> RunStore | None:
    """The run store, or None after saying in one sentence why it cannot be reached."""
    try:
        return _store(default_url())
    except StoreError as e:
        say_error(e)
        return None


def engine() -> Engine | None:
    """The engine (started on first use), or None after saying why it is not there."""
    try:
        return _engine(os.environ.get("RESNET_VIZ_SCHEDULER", "").strip())
    except EngineError as e:
        say_error(e)
        return None


def session_id() -> str:
    """A random id for this browser session: what the store counts as one watcher."""
    return str(st.session_state.setdefault("_lab_session", uuid.uuid4().hex))


def run_label(run: RunRecord) -> str:
    """A run as the run lists show it (no status: a label that changed while a list was open would not match)."""
    c = run.config
    if run.reference:
        return tr("lab.reference_label", title=run.title, steps=c.steps)
    started = time.strftime("%H:%M", time.localtime(run.created))
    return tr("lab.run_label", title=run.title, seed=c.seed, lr=c.lr, steps=c.steps, started=started)


def current_run(store: RunStore) -> RunRecord | None:
    """The run to show: the link's ``?run=`` when it is finished, else the defaults' reference run, else the newest
    finished run; a link to an unknown or unfinished run is said in one sentence."""
    wanted = st.query_params.get("run")
    if wanted:
        found = store.find(str(wanted))
        if found is None:
            say_error(StoreError("unknown_run", run=str(wanted)[:40]))
        elif found.status != "done":
            say_error(StoreError("run_not_finished", run=found.id, status=tr(f"lab.status_{found.status}")))
        else:
            return found
    ref = reference_for(store, DEFAULT)
    if ref is not None:
        return ref
    finished = store.runs(statuses=("done",))
    return finished[0] if finished else None

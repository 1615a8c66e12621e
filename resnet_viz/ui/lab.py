"""The web process's handles on the lab service: one store and one engine per server, and this session's id."""

from __future__ import annotations

import os
import time
import uuid

import streamlit as st

from ..lab.engine import Engine, EngineError
from ..lab.reference import import_references
from ..lab.store import RunRecord, RunStore, StoreError, default_url
from .text import say_error, tr

__all__ = ["engine", "run_label", "session_id", "store"]


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

"""The web process's handles on the lab service: one store and one engine per server, and this session's id."""

from __future__ import annotations

import os
import uuid

import streamlit as st

from ..lab.engine import Engine, EngineError
from ..lab.reference import import_references
from ..lab.store import RunStore, StoreError, default_url
from .text import say_error

__all__ = ["engine", "session_id", "store"]


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

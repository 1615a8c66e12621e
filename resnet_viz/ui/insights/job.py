"""One experiment's result area on the Insights page: the stored record at once, else Compute and a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import streamlit as st

from ...errors import UserError
from ...lab.insights.kinds import Kind
from ...lab.insights.service import Done, Failed, request, stored
from ...lab.store import RunRecord, RunStore, StoreError
from ..core import lab
from ..core.text import say_error, tr

__all__ = ["POLL_S", "job"]

POLL_S: Final = 1.0
_PENDING = "_ins_pending"  # the jobs this session asked for and still waits on: {job key: True}
_FAILED = "_ins_failed"  # a job's failure, said once on the next full run: {job key: error}


def _poll(store: RunStore, run: RunRecord, kind: Kind, settings: Mapping[str, Any], key: str) -> None:
    """One poll of a pending job: its progress bar, or a full rerun once it has ended (which stops the polling)."""
    eng = lab.engine()
    if eng is None:
        st.session_state[_PENDING].pop(key, None)
        return
    outcome = request(store, eng, run.id, kind, settings)
    if isinstance(outcome, Done | Failed):
        st.session_state[_PENDING].pop(key, None)
        if isinstance(outcome, Failed):
            st.session_state[_FAILED][key] = outcome.error
        st.rerun(scope="app")
    st.progress(outcome.progress, text=tr("insights.page.computing", percent=outcome.progress))


def job(
    store: RunStore,
    run: RunRecord,
    kind: Kind,
    settings: Mapping[str, Any],
    draw: Callable[[Any], None],
    *,
    cost: str = "",
) -> None:
    """One experiment's result area: its stored record drawn at once; else a Compute button that submits the job,
    and while it runs a progress bar polled every second (only then)."""
    pending: dict[str, bool] = st.session_state.setdefault(_PENDING, {})
    failed: dict[str, UserError] = st.session_state.setdefault(_FAILED, {})
    try:
        key, record = stored(store, run.id, kind, settings)
    except StoreError as e:  # a bad setting, or the run went away
        say_error(e)
        return
    if record is not None:
        pending.pop(key, None)
        draw(record)
        return
    if key in failed:
        say_error(failed.pop(key))
    if st.button(tr("insights.page.compute"), key=f"ins_{kind}_compute", type="primary", icon=":material/play_arrow:",
                 disabled=key in pending):  # fmt: skip
        eng = lab.engine()
        if eng is None:
            return
        outcome = request(store, eng, run.id, kind, settings, retry=True)
        if isinstance(outcome, Done):
            st.rerun()
        pending[key] = True
    if key in pending:
        st.fragment(lambda: _poll(store, run, kind, settings, key), run_every=POLL_S)()
    else:
        st.info(tr("insights.page.not_computed", cost=cost), icon=":material/hourglass_empty:")

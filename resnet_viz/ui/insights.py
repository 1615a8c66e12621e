"""The Insights page: pick a finished run, then five experiments, each a stored record or a job with a progress bar."""

from __future__ import annotations

import streamlit as st

from ..lab.defaults import DEFAULT
from ..lab.reference import reference_for
from ..lab.store import RunRecord, RunStore, StoreError
from . import lab
from .insights_views import SECTIONS
from .text import say_error, tr

__all__ = ["current_run", "render_insights"]


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


def _picker(store: RunStore, run: RunRecord) -> None:
    runs = store.runs(statuses=("done",))
    ids = [r.id for r in runs]
    labels = {r.id: lab.run_label(r) for r in runs}
    chosen = st.selectbox(
        tr("insights.page.pick_run"), ids, index=ids.index(run.id) if run.id in ids else None,
        format_func=lambda i: labels[i], help=tr("insights.page.pick_help"), key="ins_run",
    )  # fmt: skip
    if chosen is not None and chosen != run.id:
        st.query_params["run"] = chosen
        st.rerun()
    st.caption(tr("insights.page.run_caption", run=run.id, title=run.title, steps=run.config.steps,
                  seed=run.config.seed))  # fmt: skip


def render_insights() -> None:
    """The whole page: title, the run, and the five experiments in tabs."""
    st.title(tr("insights.page.title"))
    st.markdown(tr("insights.page.intro"))
    store = lab.store()
    if store is None:
        return
    run = current_run(store)
    if run is None:
        st.info(tr("insights.page.no_runs"), icon=":material/info:")
        return
    if st.query_params.get("run") != run.id:
        st.query_params["run"] = run.id  # the link reopens this run
    _picker(store, run)
    tabs = st.tabs([tr(f"insights.page.tab_{name}") for name, _ in SECTIONS])
    for tab, (_, section) in zip(tabs, SECTIONS):
        with tab:
            section(store, run)

"""The Insights page: pick a finished run, then five experiments, each a stored record or a job with a progress bar."""

from __future__ import annotations

import streamlit as st

from ...lab.store import RunRecord, RunStore
from ..core import lab
from ..core.lab import current_run
from ..core.text import tr
from .views import SECTIONS

__all__ = ["current_run", "render_body"]


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


def render_body() -> None:
    """The whole page: title, the run, and the five experiments in tabs."""
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

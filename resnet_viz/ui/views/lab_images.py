"""The feature-map page's "a finished lab run" weights: the run picker, its banner, and the lab's held-out pictures."""

from __future__ import annotations

from typing import Final

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ...lab.data import IMAGE_SIZE
from ...lab.store import RunRecord, RunStore
from ...nets.spec import ResNetSpec
from ...vision.samples import held_out_samples
from ..core import lab
from ..core.lab import current_run
from ..core.text import net_title, tr

__all__ = ["LAB_SIZE", "held_out_choice", "lab_banner", "pick_run"]

LAB_SIZE: Final = IMAGE_SIZE  # every lab data set is 32×32 (CIFAR-size), so the lab's nets see pictures this size


def pick_run() -> tuple[RunStore, RunRecord] | None:
    """A picker of finished runs, reference runs included, opening where the Insights page opens (a ``?run=`` link,
    else the lab defaults' reference run, else the newest); None after one sentence when there is none."""
    store = lab.store()
    if store is None:
        return None
    runs = store.runs(statuses=("done",))
    if not runs:
        st.info(tr("feat.no_runs"), icon=":material/info:")
        return None
    ids = [r.id for r in runs]
    if st.session_state.get("feat_run") not in ids:
        opening = current_run(store)
        st.session_state["feat_run"] = opening.id if opening is not None and opening.id in ids else ids[0]
    labels = {r.id: lab.run_label(r) for r in runs}
    rid = st.selectbox(tr("feat.run"), ids, key="feat_run", format_func=labels.__getitem__, help=tr("feat.run_help"))
    return store, runs[ids.index(rid)]


def lab_banner(run: RunRecord, spec: ResNetSpec) -> None:
    """Whose weights these are, and that the run's architecture replaces the sidebar's."""
    st.success(tr("feat.banner_lab", label=lab.run_label(run)), icon=":material/science:")
    st.caption(tr("feat.lab_spec", title=net_title(spec), n=LAB_SIZE))


@st.cache_data(max_entries=1, show_spinner=False)
def _held_out() -> list[tuple[bytes, str]]:
    return held_out_samples()


def held_out_choice(where: DeltaGenerator) -> tuple[bytes, str]:
    """A held-out image of the lab's embedded data (PNG bytes) and a name for files, picked in ``where``."""
    pictures = _held_out()
    i = int(
        where.selectbox(
            tr("feat.held_out"),
            range(len(pictures)),
            key="feat_held_out",
            format_func=lambda i: tr("feat.held_out_option", i=i, name=pictures[i][1]),
            help=tr("feat.held_out_help"),
        )
    )
    return pictures[i][0], f"held_out_{i}"

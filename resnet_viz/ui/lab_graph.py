"""The lab's numbers on the net: each layer's gradient norm at a chosen step, painted on the residual net and
its plain twin with one shared colour scale, updating live while the run trains."""

from __future__ import annotations

import streamlit as st

from ..graph.overlay import layer_overlay
from ..lab.config import NetName
from ..lab.history import NetHistory
from ..lab.store import RunRecord
from .graph_view import cached_hierarchy, net_graph
from .text import tr

__all__ = ["GRAD_OVERLAY", "lab_graph"]

GRAD_OVERLAY = "grad_norm"


def _values(h: NetHistory, step: int) -> dict[str, float]:
    """The stored gradient norms of every layer at ``step`` (1-based), keyed by module path."""
    row = h.norms[(step - 1) // h.stride]
    return dict(zip(h.layer_names, row))


def lab_graph(run: RunRecord, nets: dict[NetName, NetHistory], latest: int) -> None:
    """The run's net and plain twin, coloured by gradient norm at the latest step or at one chosen."""
    st.markdown(f"**{tr('lab.graph_heading')}**")
    c = st.columns([1, 3])
    follow = c[0].toggle(tr("lab.graph_follow"), value=True, key="lab_graph_follow")
    step = latest
    if not follow and latest > 1:
        step = c[1].slider(tr("lab.graph_step"), 1, latest, value=latest, key="lab_graph_step")
    spec = run.config.spec
    residual, plain = nets["residual"], nets["plain"]
    label = tr("lab.graph_overlay", step=step)
    overlays = {
        GRAD_OVERLAY: (
            layer_overlay(cached_hierarchy(spec, None), _values(residual, step), key=GRAD_OVERLAY, label=label),
            layer_overlay(cached_hierarchy(spec.twin(), None), _values(plain, step), key=GRAD_OVERLAY, label=label),
        )
    }
    net_graph(
        spec, None, key="lab_graph", start="block", twin=True, overlays=overlays, details_panel=False,
        default_overlay=GRAD_OVERLAY,
    )  # fmt: skip

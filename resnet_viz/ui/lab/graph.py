"""The lab's numbers on the net: each layer's gradient norm at a chosen step, painted on the residual net and
its plain twin with one shared colour scale, updating live while the run trains. A toggle hides the graph (the
plots alone, as before the graph was on the page)."""

from __future__ import annotations

import functools

import streamlit as st

from ...graph.model import Hierarchy
from ...graph.overlay import Overlay, layer_overlay
from ...lab.config import NetName
from ...lab.history import NetHistory
from ...lab.store import RunRecord
from ...nets.spec import ResNetSpec
from ..core.text import tr
from ..views.graph_view import cached_hierarchy, net_graph

__all__ = ["GRAD_OVERLAY", "SHOW", "lab_graph"]

GRAD_OVERLAY = "grad_norm"
SHOW = "lab_graph_show"  # the toggle's key: the graph drawn (the default) or not


def _values(h: NetHistory, step: int) -> tuple[float, ...]:
    """The stored gradient norms of every layer at ``step`` (1-based), in ``h.layer_names``' order."""
    return h.norms[(step - 1) // h.stride]


@functools.lru_cache(maxsize=32)
def _hierarchy(spec: ResNetSpec) -> Hierarchy:
    """The net's hierarchy, looked up by the spec's own hash (Streamlit's cache hashes the spec field by field at
    every call, about a millisecond)."""
    return cached_hierarchy(spec, None)


@functools.lru_cache(maxsize=512)
def _overlay(spec: ResNetSpec, names: tuple[str, ...], row: tuple[float, ...], label: str) -> Overlay:
    """One net's overlay at one step, made once for every session watching the run (each refresh of each session
    asks for the latest step: the sessions of a class share it). Keyed by value: a run gone back to a checkpoint
    that records other numbers for a step gets its own."""
    return layer_overlay(_hierarchy(spec), dict(zip(names, row)), key=GRAD_OVERLAY, label=label)


def lab_graph(run: RunRecord, nets: dict[NetName, NetHistory], latest: int) -> None:
    """The run's net and plain twin, coloured by gradient norm at the latest step or at one chosen."""
    st.markdown(f"**{tr('lab.graph_heading')}**")
    c = st.columns([1, 1, 3])
    if not c[0].toggle(tr("lab.graph_show"), value=True, key=SHOW, help=tr("lab.graph_show_help")):
        return
    follow = c[1].toggle(tr("lab.graph_follow"), value=True, key="lab_graph_follow")
    step = latest
    if not follow and latest > 1:
        step = c[2].slider(tr("lab.graph_step"), 1, latest, value=latest, key="lab_graph_step")
    spec = run.config.spec
    residual, plain = nets["residual"], nets["plain"]
    label = tr("lab.graph_overlay", step=step)
    overlays = {
        GRAD_OVERLAY: (
            _overlay(spec, residual.layer_names, _values(residual, step), label),
            _overlay(spec.twin(), plain.layer_names, _values(plain, step), label),
        )
    }
    net_graph(
        spec, None, key="lab_graph", start="block", twin=True, overlays=overlays, details_panel=False,
        default_overlay=GRAD_OVERLAY,
    )  # fmt: skip

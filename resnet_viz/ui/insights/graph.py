"""The Insights records on the net: each block's lesion damage and each layer's response std, painted on the
residual net and its plain twin (one colour scale), opened down to where the numbers were measured."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from ...graph.overlay import Overlay, layer_overlay
from ...graph.view import level_open
from ...lab.insights.lesion import Lesions
from ...lab.insights.responses import Responses
from ...lab.store import RunRecord
from ..core.text import tr
from ..views.graph_state import GraphState
from ..views.graph_view import cached_hierarchy, net_graph

__all__ = ["lesion_graph", "responses_graph"]

Level = Literal["block", "layer"]


def _pair(run: RunRecord, by_net: dict[str, dict[str, float]], key: str, label: str, digits: int, level: Level) -> None:
    spec = run.config.spec
    specs = {"residual": spec, "plain": spec.twin()}
    pair: list[Overlay] = []
    for net in ("residual", "plain"):
        h = cached_hierarchy(specs[net], None)
        values = by_net.get(net, {})
        pair.append(layer_overlay(h, values, key=key, label=label, scale="linear", digits=digits, groups=False))
    graph_key = f"ins_{key}_graph"
    h = cached_hierarchy(spec, None)
    if f"{graph_key}.state" not in st.session_state:  # every block on its own: the numbers are per block or layer
        st.session_state[f"{graph_key}.state"] = GraphState(open=set(level_open(h, level, fold=False)))
    net_graph(
        spec, None, key=graph_key, start="block", twin=True, overlays={key: (pair[0], pair[1])},
        details_panel=False, default_overlay=key,
    )  # fmt: skip


def lesion_graph(run: RunRecord, record: Lesions) -> None:
    """The error (%) of the net with each block deleted, on that block (Veit et al. 2016, Fig. 3)."""
    with st.expander(tr("insights.page.lesion_graph"), expanded=False):
        by_net = {
            n.net: {b.name: 100.0 * (1.0 - b.accuracy) for b in n.blocks if b.accuracy is not None} for n in record.nets
        }
        _pair(run, by_net, "lesion", tr("insights.page.lesion_overlay"), 3, "block")


def responses_graph(run: RunRecord, record: Responses) -> None:
    """Each 3×3 layer's response std on that layer (He et al. 2015, Fig. 7)."""
    with st.expander(tr("insights.page.responses_graph"), expanded=False):
        by_net = {n.net: dict(zip(n.layers, n.std)) for n in record.nets}
        _pair(run, by_net, "responses", tr("insights.page.responses_overlay"), 3, "layer")

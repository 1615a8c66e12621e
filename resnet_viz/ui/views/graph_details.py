"""The details panel of the selected node: its module path, its row of the layer table and its weights."""

from __future__ import annotations

import streamlit as st

from ...graph.model import Hierarchy, Node
from ...graph.units import human, shape_text
from ...nets.spec import ResNetSpec
from ..core.text import tr

__all__ = ["details", "state_dict_shapes"]


@st.cache_resource(max_entries=16, show_spinner=False)
def state_dict_shapes(spec: ResNetSpec) -> dict[str, tuple[int, ...]]:
    """Every state_dict key of the built net and its shape, from a build on the meta device (nothing allocated)."""
    from ...nets.build import build  # torch: not before a fresh server's first graph (ui/cache.py)

    net = build(spec, device="meta")
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _keys(spec: ResNetSpec, n: Node) -> list[dict[str, str]]:
    if n.kind in ("input", "output"):
        return []
    if n.kind == "run":
        prefixes = tuple(f"{b}." for b in n.children)
    elif n.kind == "group":
        prefixes = tuple(f"{c}." for c in n.children)
    else:
        prefixes = (f"{n.id}.",)
    return [
        {tr("graph.col_key"): k, tr("graph.col_shape"): shape_text(s) or "scalar"}
        for k, s in state_dict_shapes(spec).items()
        if k.startswith(prefixes)
    ]


def details(spec: ResNetSpec, input_size: tuple[int, int] | None, h: Hierarchy, node_id: str) -> None:
    n = h[node_id]
    st.markdown(f"**{tr('graph.details')}** · `{n.id}` · {n.type}")
    row = {
        tr("explorer.col_type"): n.type + (f" ×{n.count}" if n.count > 1 else ""),
        tr("graph.col_kernel"): "" if n.kernel is None else shape_text(n.kernel),
        tr("graph.col_stride"): "" if n.stride is None else shape_text(n.stride),
        tr("graph.col_padding"): "" if n.padding is None else shape_text(n.padding),
        tr("graph.col_input"): shape_text(n.input_shape),
        tr("explorer.col_output"): shape_text(n.output_shape),
        tr("explorer.col_params"): f"{n.params:,}",
        tr("explorer.col_macs"): human(n.macs),
        tr("explorer.col_rf"): "" if n.rf is None else shape_text(n.rf),
    }
    st.dataframe([row], hide_index=True, width="stretch", key=f"details.{node_id}.row")
    keys = _keys(spec, n)
    if keys:
        with st.expander(tr("graph.weights", n=len(keys)), expanded=n.kind == "layer"):
            st.dataframe(keys, hide_index=True, width="stretch", height=min(38 + 35 * len(keys), 300))

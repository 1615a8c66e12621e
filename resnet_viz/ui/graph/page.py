"""The architecture explorer: the interactive graph (optionally beside its plain twin), the layer table,
the side outputs and the exports of what is open."""

from __future__ import annotations

import functools

import streamlit as st

from ...errors import UserError
from ...graph.dot import view_dot
from ...graph.export import MIME, graph_bytes, layer_rows, table_csv, table_json
from ...graph.view import View
from ...nets.trace import TraceReport
from ..core.cache import cached_trace
from ..core.sidebar import usable
from ..core.text import lang, say_error, tr
from ..views.counts import count_table
from ..views.graph_view import net_graph
from ..views.net_views import stage_table, totals_row
from .picture_row import picture_row, remember_stat, show_picture

__all__ = ["render_explorer", "stage_rows"]


@st.cache_data(max_entries=16, show_spinner=False)
def _rendered(dot: str, fmt: str) -> bytes:
    return graph_bytes(dot, fmt)


def stage_rows(report: TraceReport) -> list[dict[str, object]]:
    """The side outputs: each stage's output shape and stride at this input size."""
    return [
        {
            tr("col.stage"): s.name,
            tr("col.output"): "×".join(map(str, s.output_shape)),
            tr("col.stride"): s.stride[0],
            tr("col.rf"): f"{s.rf[0]}×{s.rf[1]}",
        }
        for s in report.stages
    ]


def _graph_exports(report: TraceReport, drawn: View) -> None:
    """DOT, SVG and PNG of what is open now: drawn inside the graph's fragment, so they follow every click."""
    dot = view_dot(drawn, lang=lang())
    c = st.columns(5)
    for i, fmt in enumerate(("dot", "svg", "png")):
        c[i].download_button(
            tr(f"explorer.export_{fmt}"),
            data=dot.encode("utf-8") if fmt == "dot" else functools.partial(_rendered, dot, fmt),
            file_name=f"{_base(report)}.{'gv' if fmt == 'dot' else fmt}",
            mime=MIME[fmt],
            key=f"explorer_export_{fmt}",
            on_click="ignore",
            icon=":material/download:",
        )


def _base(report: TraceReport) -> str:
    return f"{report.arch}_{report.input_shape[1]}x{report.input_shape[2]}"


def _table_exports(report: TraceReport, stage: str | None) -> None:
    c = st.columns(5)
    tables = (("csv", table_csv, ":material/table:"), ("json", table_json, ":material/data_object:"))
    for col, (fmt, write, icon) in zip(c, tables):
        col.download_button(
            tr(f"explorer.export_{fmt}"),
            data=functools.partial(write, report, stage=stage),
            file_name=f"{_base(report)}_layers.{fmt}",
            mime=MIME[fmt],
            key=f"explorer_export_{fmt}",
            on_click="ignore",
            icon=icon,
        )


def _layer_table(report: TraceReport) -> str | None:
    st.subheader(tr("explorer.table_heading"))
    options = ["all", *dict.fromkeys(x.stage for x in report.layers)]
    if st.session_state.get("explorer_stage") not in options:
        st.session_state["explorer_stage"] = "all"
    choice = st.selectbox(
        tr("explorer.stage_filter"),
        options,
        key="explorer_stage",
        format_func=lambda v: tr("explorer.stage_all") if v == "all" else v,
    )
    stage = None if choice == "all" else choice
    rows = layer_rows(report, stage=stage)
    table = [
        {
            tr("explorer.col_layer"): r["name"],
            tr("explorer.col_type"): r["type"],
            tr("explorer.col_stage"): r["stage"],
            tr("explorer.col_kernel"): f"{r['kernel']} /{r['stride']}" if r["kernel"] else "",
            tr("explorer.col_output"): r["output_shape"],
            tr("explorer.col_params"): r["params"],
            tr("explorer.col_macs"): r["macs"],
            tr("explorer.col_rf"): r["receptive_field"],
        }
        for r in rows
    ]
    params, macs = sum(int(str(r["params"])) for r in rows), sum(int(str(r["macs"])) for r in rows)
    st.markdown(
        tr("explorer.layers_shown", shown=len(rows), total=len(report.layers), params=f"{params:,}", macs=f"{macs:,}")
    )
    counts = [tr("explorer.col_params"), tr("explorer.col_macs")]
    count_table(table, counts, key="explorer_table", exports=True, height=420)
    return stage


def render_explorer() -> None:
    st.title(tr("explorer.title"))
    st.caption(tr("explorer.intro"))
    sel = usable()
    if sel is None or sel.spec is None:
        return
    shown = picture_row(sel)
    twin = st.toggle(tr("explorer.twin"), key="explorer_twin", help=tr("explorer.twin_help"))
    spec, size = sel.spec, sel.input_size
    panel = None
    if shown is not None:  # the picture's net (a lab run's own) at the picture's size
        spec, size = shown.pic.spec, (shown.pic.size, shown.pic.size)
        panel = show_picture(shown, twin)
    try:
        report = cached_trace(spec, size)
    except UserError as e:
        say_error(e)
        return
    totals_row(report.totals.params, report.totals.macs, report.depth, report.stages[-1].rf)
    net_graph(
        spec, size, key="explorer_graph", start="block", twin=twin,
        after=functools.partial(_graph_exports, report),
        overlays=None if shown is None else shown.stats.overlays,
        tips=() if shown is None else shown.stats.tips,
        node_panel=panel,
        on_overlay=remember_stat,
    )  # fmt: skip
    stage = _layer_table(report)
    _table_exports(report, stage)
    st.subheader(tr("explorer.side_heading"))
    stage_table(stage_rows(report))

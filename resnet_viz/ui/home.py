"""The home page: the selected net's totals and side outputs at once, and a line pointing to each page."""

from __future__ import annotations

import streamlit as st

from ..errors import UserError
from .cache import cached_trace
from .pages import PAGES
from .sidebar import usable
from .text import net_title, say_error, tr

__all__ = ["render_home", "stage_table", "totals_row"]


def totals_row(report_params: int, macs: int, depth: int, rf: tuple[int, int]) -> None:
    c = st.columns(4)
    c[0].metric(tr("metric.depth"), f"{depth}")
    c[1].metric(tr("metric.params"), f"{report_params / 1e6:.2f} M", help=f"{report_params:,}")
    c[2].metric(tr("metric.macs"), f"{macs / 1e9:.2f} G", help=f"{macs:,}")
    c[3].metric(tr("metric.rf"), f"{rf[0]}×{rf[1]}")


def stage_table(stages: list[dict[str, object]]) -> None:
    st.dataframe(stages, hide_index=True, width="stretch")


def render_home() -> None:
    st.title(tr("home.title"))
    st.markdown(tr("home.intro"))
    sel = usable()
    if sel is None or sel.spec is None:
        return
    try:
        report = cached_trace(sel.spec, sel.input_size)
    except UserError as e:
        say_error(e)
        return
    st.subheader(tr("home.net_heading", title=net_title(sel.spec), size="×".join(map(str, report.input_shape))))
    totals_row(report.totals.params, report.totals.macs, report.depth, report.stages[-1].rf)
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.markdown(f"**{tr('home.side_outputs')}**")
        stage_table(
            [
                {
                    tr("col.stage"): s.name,
                    tr("col.output"): "×".join(map(str, s.output_shape)),
                    tr("col.stride"): s.stride[0],
                    tr("col.rf"): f"{s.rf[0]}×{s.rf[1]}",
                    tr("col.params"): s.params,
                    tr("col.macs"): s.macs,
                }
                for s in report.stages
            ]
        )
        st.markdown(f"**{tr('home.where_next')}**")
        for path, key, icon, _ in PAGES[1:]:  # a half-width column cuts long link labels, so the blurb wraps
            st.page_link(path, label=tr(key), icon=icon, help=tr(key + "_blurb"))
            st.caption(tr(key + "_blurb"))
    with right:
        from .explorer import draw_graph  # explorer imports this module's helpers; importing here keeps it one-way

        st.markdown(f"**{tr('explorer.home_graph')}**")
        draw_graph(sel.spec, sel.input_size, "block", True)

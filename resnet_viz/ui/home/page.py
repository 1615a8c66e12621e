"""The home page: the selected net's totals and side outputs at once, and a line pointing to each page."""

from __future__ import annotations

import streamlit as st

from ...errors import UserError
from ..core.cache import cached_trace
from ..core.nav import PAGES
from ..core.sidebar import usable
from ..core.text import net_title, say_error, tr
from ..views.graph_view import net_graph
from ..views.net_views import stage_table, totals_row

__all__ = ["render_home"]


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
    with right:  # first: on a fresh server the graph needs no pandas, which the table's first draw imports
        st.markdown(f"**{tr('explorer.home_graph')}**")
        net_graph(sel.spec, sel.input_size, key="home_graph", start="stage", details_panel=False, toolbar=False)
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
            ],
            key="home_stage_table",
        )
        st.markdown(f"**{tr('home.where_next')}**")
        for path, key, icon, _ in PAGES[1:]:  # a half-width column cuts long link labels, so the blurb wraps
            st.page_link(path, label=tr(key), icon=icon, help=tr(key + "_blurb"))
            st.caption(tr(key + "_blurb"))

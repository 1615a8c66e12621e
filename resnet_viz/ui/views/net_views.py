"""Views of one net that several pages draw: its totals, a table of its stages, and its graph's DOT source."""

from __future__ import annotations

import streamlit as st

from ...graph.draw import Level, build_graph
from ...i18n import Lang
from ...nets.spec import ResNetSpec
from ...units import exact
from ..core.cache import cached_trace
from ..core.text import tr

__all__ = ["cached_dot", "stage_table", "totals_row"]


def totals_row(report_params: int, macs: int, depth: int, rf: tuple[int, int]) -> None:
    c = st.columns(4)
    c[0].metric(tr("metric.depth"), f"{depth}")
    c[1].metric(tr("metric.params"), f"{report_params / 1e6:.2f} M", help=exact(report_params))
    c[2].metric(tr("metric.macs"), f"{macs / 1e9:.2f} G", help=exact(macs))
    c[3].metric(tr("metric.rf"), f"{rf[0]}×{rf[1]}")


def stage_table(stages: list[dict[str, object]], *, key: str | None = None) -> None:
    """One row per stage; its params and MACs, where given, in human units with the exact numbers in the tooltip."""
    # pandas (~0.5 s of a fresh server's first run) only once a table is drawn: Home draws its graph before this
    from .counts import count_table

    counts = [c for c in (tr("col.params"), tr("col.macs")) if stages and c in stages[0]]
    count_table(stages, counts, key=key)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_dot(spec: ResNetSpec, input_size: tuple[int, int] | None, level: Level, fold: bool, lang: Lang) -> str:
    """The graph's DOT source, keyed by the frozen spec, the input size, the level, folding and language."""
    return build_graph(cached_trace(spec, input_size), level=level, fold=fold, lang=lang).source

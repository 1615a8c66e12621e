"""The five sections of the Insights page: each its paper's question, settings widgets, and the record drawn."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ...lab.insights import LabShattering, Landscape, Lesions, Responses, Shattered, shattered_gradients
from ...lab.insights.kinds import DEFAULTS, FILLS, MAX_DRAWS, MAX_GRID, MAX_IMAGES, ERFStudy, Kind, stages
from ...lab.insights.readings import convexity, erf_rows, lesion_summary, responses_reading
from ...lab.store import RunRecord, RunStore
from ...plots import insights as plots
from ..core.text import lang, tr
from .graph import lesion_graph, responses_graph
from .job import job

__all__ = ["SECTIONS"]

Section = Callable[[RunStore, RunRecord], None]


def _net(net: str) -> str:
    return tr(f"insights.net.{net}")


def _chart(fig: object, key: str) -> None:
    st.plotly_chart(fig, key=f"ins_plot_{key}", width="stretch")


def _images(kind: Kind, column: DeltaGenerator) -> int:
    return int(
        column.number_input(
            tr("insights.page.images"), min_value=1, max_value=MAX_IMAGES, value=int(DEFAULTS[kind]["images"]),
            step=1, key=f"ins_{kind}_images", help=tr("insights.page.images_help"),
        )
    )  # fmt: skip


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


# -- loss landscape (Li et al. 2018) -----------------------------------------------------------------------------


def _draw_landscape(record: Landscape) -> None:
    L = lang()
    if record.betas:
        _chart(plots.landscape_figure(record, L), "landscape")
    _chart(plots.slice_figure(record, L), "slice")
    st.subheader(tr("insights.page.convexity_heading"))
    rows = []
    for s in record.nets:
        c = convexity(s)
        rows.append({
            tr("insights.page.col_net"): _net(s.net), tr("insights.page.col_centre_loss"): round(s.centre_loss, 4),
            tr("insights.page.col_centre_acc"): _pct(s.centre_accuracy),
            tr("insights.page.col_eig_ratio"): f"{c.eig_ratio:.3g}",
            tr("insights.page.col_upward"): c.upward_share_text,
        })  # fmt: skip
    st.dataframe(rows, hide_index=True, key="ins_table_convexity")
    st.markdown(tr("insights.measure.eig_ratio"))
    st.markdown(tr(f"insights.measure.upward_share_{2 if record.betas else 1}d"))


def _landscape(store: RunStore, run: RunRecord) -> None:
    st.markdown(tr("insights.page.landscape_intro"))
    c = st.columns(3)
    grid = c[0].number_input(
        tr("insights.page.grid"), min_value=2, max_value=MAX_GRID, value=DEFAULTS["landscape"]["grid"], step=1,
        key="ins_landscape_grid", help=tr("insights.page.grid_help"),
    )  # fmt: skip
    dims = c[1].radio(
        tr("insights.page.dims"), (2, 1), key="ins_landscape_dims", horizontal=True,
        format_func=lambda d: tr(f"insights.page.dims_{d}"),
    )  # fmt: skip
    settings = {"grid": grid, "dims": dims, "images": _images("landscape", c[2])}
    job(store, run, "landscape", settings, _draw_landscape, cost=tr("insights.page.landscape_cost"))


# -- block lesions (Veit et al. 2016) ----------------------------------------------------------------------------


def _draw_lesion(run: RunRecord, record: Lesions) -> None:
    L = lang()
    _chart(plots.lesion_figure(record, L), "lesion")
    _chart(plots.lesion_k_figure(record, L), "lesion_k")
    for x in lesion_summary(record):
        st.markdown(tr("insights.page.lesion_line", net=_net(x.net), base=_pct(x.baseline_error),
                       one=_pct(x.mean_single), worst=_pct(x.worst_single), block=x.worst_block or "–"))  # fmt: skip
    lesion_graph(run, record)


def _lesion(store: RunStore, run: RunRecord) -> None:
    st.markdown(tr("insights.page.lesion_intro"))
    c = st.columns(3)
    images = _images("lesion", c[0])
    draws = c[1].number_input(
        tr("insights.page.draws"), min_value=1, max_value=MAX_DRAWS, value=DEFAULTS["lesion"]["draws"], step=1,
        key="ins_lesion_draws",
    )  # fmt: skip
    job(
        store,
        run,
        "lesion",
        {"images": images, "draws": draws},
        functools.partial(_draw_lesion, run),
        cost=tr("insights.page.lesion_cost"),
    )


# -- effective receptive fields (Luo et al. 2016) ----------------------------------------------------------------


def _draw_erf(record: ERFStudy) -> None:
    L = lang()
    for when, erfs in (("init", record.init), ("trained", record.trained)):
        st.subheader(tr(f"insights.page.erf_{when}"))
        _chart(plots.erf_figure(list(erfs), L), f"erf_{when}")
    rows = [
        {
            tr("insights.page.col_net"): _net(r.net), tr("insights.page.col_when"): tr(f"insights.page.when_{r.when}"),
            tr("insights.page.col_rf"): r.rf, tr("insights.page.col_s50"): r.side50,
            tr("insights.page.col_s95"): r.side95, tr("insights.page.col_share50"): _pct(r.share50),
            tr("insights.page.col_share95"): _pct(r.share95),
        }
        for r in erf_rows(record)
    ]  # fmt: skip
    st.dataframe(rows, hide_index=True, key="ins_table_erf")
    init = {e.net: e for e in record.init}
    for e in record.trained:
        before = init[e.net].side50
        key = "insights.page.erf_grew" if e.side50 > before else "insights.page.erf_not_grown"
        st.markdown(tr(key, net=_net(e.net), before=before, after=e.side50, rf=e.rf))


def _erf(store: RunStore, run: RunRecord) -> None:
    st.markdown(tr("insights.page.erf_intro"))
    names = stages(run.config)
    c = st.columns(3)
    stage = c[0].selectbox(tr("insights.page.stage"), names, index=len(names) - 1, key=f"ins_erf_stage_{len(names)}")
    images = _images("erf", c[1])
    fill = c[2].selectbox(
        tr("insights.page.fill"), FILLS, key="ins_erf_fill", format_func=lambda f: tr(f"insights.page.fill_{f}")
    )
    settings = {"stage": stage, "images": images, "fill": fill}
    job(store, run, "erf", settings, _draw_erf, cost=tr("insights.page.erf_cost"))


# -- layer responses (He et al. 2015, Fig. 7) --------------------------------------------------------------------


def _draw_responses(run: RunRecord, record: Responses) -> None:
    _chart(plots.responses_figure(record, lang()), "responses")
    r = responses_reading(record)
    key = "insights.page.responses_shows" if r.shows else "insights.page.responses_not"
    st.markdown(tr(key, res=r.residual_mean, plain=r.plain_mean, smaller=r.smaller, layers=r.layers))
    responses_graph(run, record)


def _responses(store: RunStore, run: RunRecord) -> None:
    st.markdown(tr("insights.page.responses_intro"))
    images = _images("responses", st.columns(3)[0])
    job(
        store,
        run,
        "responses",
        {"images": images},
        functools.partial(_draw_responses, run),
        cost=tr("insights.page.responses_cost"),
    )


# -- shattered gradients (Balduzzi et al. 2017) ------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def _toy() -> Shattered:
    return shattered_gradients()  # the same record for everyone: a fraction of a second, once per server


def _draw_neighbours(record: LabShattering) -> None:
    _chart(plots.neighbour_figure(record, lang()), "neighbours")


def _shattered(store: RunStore, run: RunRecord) -> None:
    st.markdown(tr("insights.page.shattered_intro"))
    toy = _toy()
    _chart(plots.shattered_figure(toy, lang()), "shattered")
    _chart(plots.autocorrelation_figure(toy, lang()), "autocorrelation")
    st.subheader(tr("insights.page.neighbours_heading"))
    st.markdown(tr("insights.page.neighbours_intro"))
    images = _images("neighbours", st.columns(3)[0])
    job(store, run, "neighbours", {"images": images}, _draw_neighbours, cost=tr("insights.page.neighbours_cost"))


# (tab name, section), in the page's order; the names pick the tabs' titles (insights.page.tab_<name>)
SECTIONS: Final[tuple[tuple[str, Section], ...]] = (
    ("landscape", _landscape),
    ("lesion", _lesion),
    ("erf", _erf),
    ("responses", _responses),
    ("shattered", _shattered),
)

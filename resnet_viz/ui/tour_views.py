"""The live view of each tour chapter, built from the other pages' views; each writes its chapter's text and
returns the numbers the chapter's questions quote."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ..compare import NetPoint, compare
from ..gradients import LayerNorm, gradient_profile
from ..graph import human
from ..lab.defaults import REFERENCE_DEPTHS
from ..lab.history import SweepCurve
from ..plots.compare import params_macs_figure
from ..plots.gradients import profile_figure, sweep_figure
from ..spec import ResNetSpec, cifar_spec, preset
from ..tour import (
    BASIC_DEMO,
    BOTTLENECK_DEMO,
    END_WINDOW,
    SMOOTH,
    BlockFacts,
    FamilyRow,
    ShortcutRow,
    ViewKind,
    block_facts,
    family_rows,
    reference_curves,
    shortcut_rows,
    smoothed,
    sweep_ends,
    v1_vs_v15,
)
from ..trace import TraceReport
from . import lab
from .cache import cached_trace
from .compare import table_frame
from .explorer import cached_dot
from .text import lang, net_title, tr
from .tour_insights import landscape_view, lesion_view
from .tour_more import dense_view, features_view

__all__ = ["VIEWS", "shape", "size_text"]

Facts = dict[str, object]


def shape(s: tuple[int, ...]) -> str:
    return "×".join(map(str, s))


def size_text(report: TraceReport) -> str:
    return shape(report.input_shape)


# -- 1. the degradation problem ---------------------------------------------------------------------


def _translated(curves: tuple[SweepCurve, ...]) -> tuple[SweepCurve, ...]:
    """The curves, smoothed for the chart, with titles in the session's language."""
    return tuple(
        dataclasses.replace(c, title=net_title(cifar_spec(c.depth, plain=c.plain)), loss=smoothed(c.loss))
        for c in curves
    )


def degradation() -> Facts:
    store = lab.store()
    config, curves = reference_curves(store) if store is not None else (None, ())
    facts: Facts = {"deep": max(REFERENCE_DEPTHS), "shallow": min(REFERENCE_DEPTHS), "steps": 0, "batch": 0}
    if config is None:
        st.info(tr("tour.degradation.missing"), icon=":material/hourglass_top:")
        return facts
    depths = sorted({c.depth for c in curves})
    deep, shallow = max(depths), min(depths)
    facts = {"deep": deep, "shallow": shallow, "steps": config.steps, "batch": config.batch_size}
    st.markdown(tr("tour.degradation.body", **facts))
    fig = sweep_figure(_translated(curves), lang())
    st.plotly_chart(fig, key="tour_sweep_chart", width="stretch")
    st.caption(tr("tour.degradation.shipped", window=SMOOTH))
    ends = {(e.depth, e.plain): e for e in sweep_ends(curves)}
    items = [
        tr("tour.degradation.end_item", net=net_title(cifar_spec(d, plain=p)), loss=f"{e.final_loss:.3f}")
        for (d, p), e in sorted(ends.items(), key=lambda kv: (not kv[0][1], kv[0][0]))
    ]
    st.markdown(tr("tour.degradation.ends", window=END_WINDOW, ends=tr("tour.list_sep").join(items)))
    plain_losses = [ends[d, True].final_loss for d in depths]
    res_losses = [ends[d, False].final_loss for d in depths]
    verdict = "verdict_degrades" if plain_losses[-1] > plain_losses[0] else "verdict_other"
    st.markdown(
        tr(
            f"tour.degradation.{verdict}",
            deep=deep,
            deep_loss=f"{plain_losses[-1]:.3f}",
            shallow_loss=f"{plain_losses[0]:.3f}",
            res_loss=f"{res_losses[-1]:.3f}",
        )
    )
    st.markdown(tr("tour.degradation.own_run"))
    return facts


# -- 2. the residual block --------------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def _block_facts(size: int) -> BlockFacts:
    return block_facts(input_size=size)


def _layer_rows(report: TraceReport, block: str) -> pd.DataFrame:
    rows = [
        {
            tr("tour.col.layer"): x.name.removeprefix(block + "."),
            tr("tour.col.type"): x.type,
            tr("tour.col.kernel"): shape(x.kernel) if x.kernel else "",
            tr("tour.col.stride"): str(x.stride[0]) if x.stride else "",
            tr("tour.col.input"): shape(x.input_shape),
            tr("tour.col.output"): shape(x.output_shape),
            tr("tour.col.params"): x.params,
            tr("tour.col.macs"): x.macs,
        }
        for x in report.layers
        if x.block == block
    ]
    return pd.DataFrame(rows)


def block() -> Facts:
    body = st.container()
    sel_size = st.session_state.get("_selection")
    default = getattr(sel_size, "input_size", None)
    st.session_state.setdefault("tour_block_size", default[0] if default else 224)
    size = int(st.number_input(tr("tour.block.size"), min_value=32, max_value=1024, step=32, key="tour_block_size"))
    f = _block_facts(size)
    cols = st.columns(2)
    demos = (
        ("basic", BASIC_DEMO, f.basic_report, f.basic),
        ("bottleneck", BOTTLENECK_DEMO, f.bottleneck_report, f.bottleneck),
    )
    for col, (key, spec, report, rec) in zip(cols, demos):
        with col:
            st.subheader(tr(f"tour.block.{key}"))
            st.dataframe(_layer_rows(report, rec.name), hide_index=True, width="stretch", key=f"tour_block_{key}")
            st.graphviz_chart(cached_dot(spec, (size, size), "layer", False, lang()), width="stretch")
    body.markdown(tr("tour.block.body", size=shape(f.input_shape)))
    body.markdown(
        tr(
            "tour.block.facts",
            wide=f.bottleneck.input_shape[0],
            inner=f.bottleneck_inner,
            bottleneck_macs=human(f.bottleneck.macs),
            bottleneck_params=human(f.bottleneck.params),
            wide_macs=human(f.wide_basic.macs),
            wide_params=human(f.wide_basic.params),
            saving=f"{f.saving:.1f}",
            basic_width=f.basic.input_shape[0],
            basic_macs=human(f.basic.macs),
        )
    )
    return {"size": size}


# -- 3. shortcuts ----------------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def _shortcut_rows(arch: str) -> tuple[ShortcutRow, ...]:
    return shortcut_rows(arch)


def shortcuts() -> Facts:
    body = st.container()
    arch = st.selectbox(
        tr("tour.shortcuts.net"), ("resnet18", "resnet34", "resnet50", "resnet101"), index=1, key="tour_shortcut_arch"
    )
    specs = [preset(arch, shortcut=o) for o in ("A", "B", "C")]
    reports = [cached_trace(s, None) for s in specs]
    table = compare(reports, [f"{arch} {o}" for o in ("A", "B", "C")], lang=lang())  # the compare view's table
    st.dataframe(table_frame(table, only_diff=True), width="stretch", key="tour_shortcut_table")
    rows = _shortcut_rows(arch)
    a = rows[0]
    fig = go.Figure()
    for metric in ("params", "macs"):
        fig.add_trace(
            go.Bar(
                x=[f"{r.option}" for r in rows],
                y=[getattr(r, metric) - getattr(a, metric) for r in rows],
                name=tr(f"tour.col.{metric}"),
            )
        )
    fig.update_layout(title=tr("tour.shortcuts.chart"), barmode="group", height=320, yaxis_type="log")
    st.plotly_chart(fig, key="tour_shortcut_chart", width="stretch")
    b, c = rows[1], rows[2]
    body.markdown(tr("tour.shortcuts.body", net=net_title(specs[1]), size=size_text(reports[0])))
    body.markdown(
        tr(
            "tour.shortcuts.facts",
            b_params=human(b.params - a.params),
            b_macs=human(b.macs - a.macs),
            b_proj=b.projections,
            c_params=human(c.params - a.params),
            c_macs=human(c.macs - a.macs),
            c_proj=c.projections,
        )
    )
    return {}


# -- 4. gradient flow ------------------------------------------------------------------------------


@st.cache_data(max_entries=12, show_spinner=False)
def _profile(spec: ResNetSpec, batch: int) -> list[LayerNorm]:
    from ..data import synthetic  # the lab's embedded data set: no download

    data = synthetic(batch, seed=0)
    return gradient_profile(spec, batch=(data.images, data.labels), seed=0, device="cpu")


_DEPTHS: Final = (20, 56, 110)  # He et al. 2015 Table 6: CIFAR depths 6n+2


def gradients() -> Facts:
    body = st.container()
    c = st.columns(2)
    depth = c[0].segmented_control(tr("tour.gradients.depth"), _DEPTHS, key="tour_grad_depth", default=56)
    bn = c[1].toggle(tr("tour.gradients.bn"), key="tour_grad_bn", value=True)
    depth = int(depth or 56)
    batch = 32
    res = cifar_spec(depth, batch_norm=bn)
    plain = res.twin()
    with st.spinner(tr("tour.computing")):
        profiles = {net_title(plain): _profile(plain, batch), net_title(res): _profile(res, batch)}
    chart = profile_figure(profiles, lang(), plain={net_title(plain)})  # the lab's plot
    st.plotly_chart(chart, key="tour_grad_chart", width="stretch")

    def ratio(recs: list[LayerNorm]) -> str:
        return f"{recs[0].norm / recs[-1].norm:.3g}" if recs[-1].norm else "∞"

    facts: Facts = {"depth": depth, "batch": batch, "low": _DEPTHS[0], "high": _DEPTHS[-1]}
    body.markdown(tr("tour.gradients.body", bn=tr("tour.gradients.bn_on" if bn else "tour.gradients.bn_off"), **facts))
    body.markdown(
        tr(
            "tour.gradients.facts",
            depth=depth,
            plain_ratio=ratio(profiles[net_title(plain)]),
            res_ratio=ratio(profiles[net_title(res)]),
        )
    )
    return facts


# -- 5. the family ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False)
def _family() -> tuple[FamilyRow, ...]:
    return family_rows()


def family() -> Facts:
    body = st.container()
    rows = _family()
    frame = pd.DataFrame(
        [
            {
                tr("tour.col.net"): r.name,
                tr("tour.col.depth"): r.depth,
                tr("tour.col.block"): tr(f"block.{r.block}"),
                tr("tour.col.blocks"): ", ".join(map(str, r.layers)),
                tr("tour.col.params_m"): f"{r.params / 1e6:.2f}",
                tr("tour.col.gmacs_v15"): f"{r.macs / 1e9:.2f}",
                tr("tour.col.gmacs_v1"): f"{r.macs_v1 / 1e9:.2f}",
                tr("tour.col.paper"): f"{r.paper_gflops}",
            }
            for r in rows
        ]
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="tour_family_table")
    points = [NetPoint(r.name, r.depth, r.params, r.macs) for r in rows]
    st.plotly_chart(params_macs_figure(points, lang=lang()), key="tour_family_chart", width="stretch")
    v1, v15 = v1_vs_v15(rows)
    r50 = next(r for r in rows if r.name == "resnet50")
    body.markdown(tr("tour.family.body", size=size_text(cached_trace(preset("resnet50"), None))))
    body.markdown(
        tr(
            "tour.family.facts",
            v15=f"{v15 / 1e9:.2f}",
            v1=f"{v1 / 1e9:.2f}",
            paper=f"{r50.paper_gflops}",
            diff=f"{(v15 - v1) / 1e9:.2f}",
            pct=f"{100 * (v15 - v1) / v1:.1f}",
        )
    )
    return {}


VIEWS: Final[dict[ViewKind, Callable[[], Facts]]] = {
    "depth_sweep": degradation,
    "blocks": block,
    "shortcuts": shortcuts,
    "gradients": gradients,
    "landscape": landscape_view,
    "lesion": lesion_view,
    "family": family,
    "features": features_view,
    "dense": dense_view,
}

"""The tour's last two live views: feature maps with Grad-CAM on a sample photo, and DenseNet beside a ResNet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from ...graph.draw import build_graph
from ...nets.compare import compare
from ...nets.densenet import (
    DENSENET121,
    DenseConfig,
    GrowthStep,
    NetCost,
    channel_growth,
    growth_what_if,
    similar_resnet,
    stage_growth,
    trace_densenet,
)
from ...nets.resnet import ResNet
from ...nets.spec import preset
from ...nets.trace import TraceReport
from ...vision.features import capture, heat_overlay, mean_overlay, montage
from ...vision.gradcam import gradcam
from ...vision.images import load_image, preprocess
from ...vision.samples import SAMPLES, sample_bytes
from ...vision.weights import WeightsInfo, load_model
from ..core.cache import cached_trace
from ..core.text import lang, tr
from ..views.compare_table import table_frame
from ..views.counts import count_table

__all__ = ["dense_view", "features_view"]

Facts = dict[str, object]
_NET: Final = "resnet18"  # the smallest torchvision ResNet: quick on a CPU, ImageNet weights where cached
_TAP: Final = "layer4"  # Grad-CAM's usual tap: the last stage (Selvaraju et al. 2017)
_SIZE: Final = 224
_RATES: Final = (12, 16, 24, 32, 40, 48)


def _shape(s: tuple[int, ...]) -> str:
    return "×".join(map(str, s))


# -- 6. what the stages see ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    picture: Image.Image  # the center crop the net sees
    overlays: tuple[tuple[str, tuple[int, int, int], np.ndarray], ...]  # (stage, shape, (H, W, 3) uint8)
    montages: dict[str, np.ndarray]
    cam: np.ndarray  # (H, W, 3) uint8
    label: str  # the class name; "" when the weights carry none
    index: int
    prob: float
    pretrained: bool


@st.cache_resource(max_entries=1, show_spinner=False)
def _model() -> tuple[ResNet, WeightsInfo]:
    return load_model(preset(_NET), "imagenet")  # falls back to seeded random weights offline


@st.cache_data(max_entries=4, show_spinner=False)
def _seen(sample: str) -> _Seen:
    model, info = _model()
    pre = preprocess(load_image(sample_bytes(sample)), size=_SIZE)
    result = capture(model, pre.tensor)
    cam = gradcam(model, pre.tensor, tap=_TAP)
    best = result.predictions(1, info.categories)[0]
    stages = result.stages()
    return _Seen(
        picture=pre.cropped,
        overlays=tuple((a.name, a.shape, mean_overlay(pre.cropped, a)) for a in stages),
        montages={a.name: montage(a, a.top(8), cols=4, cell=72) for a in stages},
        cam=heat_overlay(pre.cropped, cam.cam),
        label=best.label if info.categories else "",
        index=best.index,
        prob=best.probability,
        pretrained=info.pretrained,
    )


def features_view() -> Facts:
    body = st.container()
    sample = st.segmented_control(tr("tour.features.sample"), tuple(SAMPLES), key="tour_feat_sample", default="cat")
    with st.spinner(tr("tour.computing")):
        seen = _seen(str(sample or "cat"))
    label = seen.label or tr("tour.features.class_n", n=seen.index)
    rf = {s.name: s.rf[0] for s in cached_trace(preset(_NET), (_SIZE, _SIZE)).stages}
    c = st.columns(2)
    c[0].image(seen.picture, width="stretch")
    c[1].image(
        seen.cam,
        width="stretch",
        caption=tr("tour.features.gradcam_caption", tap=_TAP, label=label, prob=f"{100 * seen.prob:.1f}"),
    )
    cols = st.columns(len(seen.overlays))
    for col, (name, shape, img) in zip(cols, seen.overlays):
        col.image(
            img,
            width="stretch",
            caption=tr(
                "tour.features.stage_caption",
                stage=name,
                shape=_shape(shape),
                rf=rf.get(name, 0),
            ),
        )
    names = [name for name, _, _ in seen.overlays]
    stage = st.segmented_control(tr("tour.features.stage"), names, key="tour_feat_stage", default=names[-1])
    stage = str(stage or names[-1])
    st.image(seen.montages[stage], caption=tr("tour.features.channels_caption", k=8, stage=stage))
    weights = tr("tour.features.weights_imagenet" if seen.pretrained else "tour.features.weights_random")
    body.markdown(tr("tour.features.body", net=_NET, tap=_TAP, label=label, weights=weights))
    return {"size": _SIZE}


# -- 7. dense connections --------------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def _dense(k: int) -> TraceReport:
    return trace_densenet(DenseConfig(growth_rate=k))


@st.cache_data(max_entries=2, show_spinner=False)
def _what_if() -> tuple[NetCost, ...]:
    return growth_what_if(_RATES)


@st.cache_data(max_entries=2, show_spinner=False)
def _similar() -> tuple[NetCost, NetCost]:
    return similar_resnet(_dense(DENSENET121.growth_rate))


def _growth_figure(steps: tuple[GrowthStep, ...], k: int) -> go.Figure:
    fig = go.Figure()
    for stage in dict.fromkeys(s.stage for s in steps):
        mine = [s for s in steps if s.stage == stage]
        fig.add_trace(go.Bar(x=[f"{stage}.{s.index}" for s in mine], y=[s.channels_in for s in mine], name=stage))
    fig.update_layout(
        title=tr("tour.dense.chart", k=k),
        height=360,
        bargap=0.1,
        showlegend=True,
        xaxis={"title": {"text": tr("tour.dense.chart_x")}, "showticklabels": False},
        yaxis={"title": {"text": tr("tour.dense.chart_y")}},
    )
    return fig


def dense_view() -> Facts:
    body = st.container()
    base = _dense(DENSENET121.growth_rate)
    steps = channel_growth(base)
    k = int(st.select_slider(tr("tour.dense.k"), _RATES, value=DENSENET121.growth_rate, key="tour_dense_k"))
    costs = dict(zip(_RATES, _what_if()))
    chosen = costs[k]
    st.markdown(
        tr(
            "tour.dense.whatif",
            k=k,
            params=f"{chosen.params:,}",
            macs=f"{chosen.macs / 1e9:.2f}",
            out=chosen.out_channels,
        )
    )
    st.plotly_chart(_growth_figure(channel_growth(_dense(k)), k), key="tour_dense_chart", width="stretch")
    count_table(
        [
            {
                tr("tour.col.growth"): r,
                tr("tour.col.params"): c.params,
                tr("tour.col.macs"): c.macs,
                tr("tour.col.out_channels"): c.out_channels,
            }
            for r, c in costs.items()
        ],
        [tr("tour.col.params"), tr("tour.col.macs")],
        key="tour_dense_whatif",
    )
    dense, resnet = _similar()
    r_report = cached_trace(preset(resnet.name), None)
    table = compare([base, r_report], [dense.name, resnet.name], lang=lang())  # the compare view's table
    st.dataframe(table_frame(table, only_diff=False).head(7), width="stretch", key="tour_dense_compare")
    with st.expander(tr("tour.dense.graph"), icon=":material/account_tree:"):
        st.graphviz_chart(build_graph(base, level="stage", lang=lang()).source, width="stretch")
    block1 = [s for s in steps if s.stage == "denseblock1"]
    (_, _, c1), (_, _, t1) = stage_growth(base)[:2]
    facts: Facts = {"depth": base.depth, "size": _shape(base.input_shape)}
    body.markdown(
        tr("tour.dense.body", params=f"{base.totals.params:,}", macs=f"{base.totals.macs / 1e9:.2f}", **facts)
    )
    body.markdown(
        tr("tour.dense.growth", c0=block1[0].channels_in, n=len(block1), k=DENSENET121.growth_rate, c1=c1, t1=t1)
    )
    body.markdown(
        tr(
            "tour.dense.similar",
            resnet=resnet.name,
            r_params=f"{resnet.params:,}",
            r_macs=f"{resnet.macs / 1e9:.2f}",
            r_depth=resnet.depth,
            depth=dense.depth,
            ratio=f"{resnet.params / dense.params:.1f}",
        )
    )
    return facts

"""The live view of each tour chapter, built from the other pages' views; each writes its chapter's text and
returns the numbers the chapter's questions quote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ...graph.draw import human
from ...nets.compare import NetPoint, compare
from ...nets.spec import preset
from ...nets.trace import TraceReport
from ...plots.compare import params_macs_figure
from ...tour.chapters import ViewKind
from ...tour.facts import (
    BASIC_DEMO,
    BOTTLENECK_DEMO,
    BlockFacts,
    FamilyRow,
    ShortcutRow,
    block_facts,
    family_rows,
    shortcut_rows,
    v1_vs_v15,
)
from ..core.cache import cached_trace
from ..core.text import lang, net_title, tr
from ..views.compare_table import table_frame
from ..views.counts import count_table
from .graph import tour_graph
from .insights import landscape_view, lesion_view
from .layers import layers_view
from .more import dense_view, features_view
from .training import degradation, gradients

__all__ = ["VIEWS", "shape", "size_text"]

Facts = dict[str, object]


def shape(s: tuple[int, ...]) -> str:
    return "×".join(map(str, s))


def size_text(report: TraceReport) -> str:
    return shape(report.input_shape)


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


# The node each demo's graph opens at: the basic block's add (y = F(x) + x), the bottleneck's last 1×1
# convolution; and the same block in a preset for the explorer link (ResNet-50's layer1.0 has a projection, its
# layer1.1 is the demo's identity block on 256 channels).
_BLOCK_NODES: Final = {"basic": "layer1.0.add", "bottleneck": "layer1.0.conv3"}
_BLOCK_LINKS: Final = {"basic": ("resnet18", "layer1.0.add"), "bottleneck": ("resnet50", "layer1.1.conv3")}


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
    for col, (key, _, report, rec) in zip(cols, demos):
        with col:
            st.subheader(tr(f"tour.block.{key}"))
            counts = [tr("tour.col.params"), tr("tour.col.macs")]
            count_table(_layer_rows(report, rec.name), counts, key=f"tour_block_{key}")
    for col, (key, spec, _, rec) in zip(st.columns(2), demos):  # a row of their own: the graphs start level
        with col:
            node = _BLOCK_NODES[key]
            what = tr(f"tour.block.graph_{key}", node=node, wide=rec.output_shape[0])
            arch, arch_node = _BLOCK_LINKS[key]
            tour_graph(f"block_{key}", spec, (size, size), node, what, arch=arch, arch_node=arch_node)
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
    node = "layer2.0.downsample.0"  # option B's first projection: the first block that halves H and W
    what = tr("tour.shortcuts.graph", node=node, block="layer2.0")
    tour_graph("shortcuts", specs[1], None, node, what, arch=arch, shortcut="B", details_panel=True)
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
                tr("tour.col.params"): r.params,
                tr("tour.col.macs_v15"): r.macs,
                tr("tour.col.macs_v1"): r.macs_v1,
                tr("tour.col.paper"): f"{r.paper_gflops} G",  # the paper's rounded figure, not a count to expand
            }
            for r in rows
        ]
    )
    counts = [tr("tour.col.params"), tr("tour.col.macs_v15"), tr("tour.col.macs_v1")]
    count_table(frame, counts, key="tour_family_table")
    points = [NetPoint(r.name, r.depth, r.params, r.macs) for r in rows]
    st.plotly_chart(params_macs_figure(points, lang=lang()), key="tour_family_chart", width="stretch")
    torchvision, paper = preset("resnet50"), preset("resnet50", variant="v1")
    node = "layer2.0.conv2"  # v1.5's stride 2: the 3×3 of each stage's first block; v1 strides its first 1×1
    what = tr("tour.family.graph", node=node, v1_node="layer2.0.conv1")
    beside = ((tr("tour.family.graph_v15"), torchvision), (tr("tour.family.graph_v1"), paper))
    tour_graph("family", torchvision, None, node, what, arch="resnet50", beside=beside, details_panel=True)
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
    "layer_picture": layers_view,
    "dense": dense_view,
}

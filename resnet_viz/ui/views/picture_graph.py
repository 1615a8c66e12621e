"""A picture on the graph: the net's and its plain twin's activation statistics as overlays on one scale, as hover
lines, and the selected node's channel grid and Grad-CAM for a class picked from the top 5.

The statistics come from one forward pass per net and picture (``vision.stats_cache``, shared by every session
with the same net, weights and picture); a node's maps are computed when it is selected, and cached by node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import streamlit as st

from ...errors import InputError, UserError
from ...graph.model import Hierarchy
from ...graph.overlay import Overlay, node_overlay
from ...vision.activations import ActivationStats, shared_scale
from ...vision.features import Prediction, heat_overlay, montage, to_png
from ...vision.node_maps import node_activation, node_gradcam, resolve_node
from ...vision.stat_kinds import DEFAULT_STAT, OVERLAY_PREFIX, STATS, stat_of
from ...vision.stats_cache import activation_stats, weights_id
from ..core.text import net_title, say_error, tr
from .graph_view import cached_hierarchy
from .picture import Picture

__all__ = ["DEFAULT_STAT", "OVERLAY_PREFIX", "PictureStats", "node_panel", "picture_stats", "stat_of"]

K: Final = 16  # channels in a node's grid
GRID_PX: Final = 296  # a 4×4 grid of 72 px cells at its own size: large enough to read, small enough for two
CAM_PX: Final = 256


@dataclass(frozen=True)
class PictureStats:
    """A picture's numbers through the net and its plain twin, ready for the graph."""

    net: ActivationStats
    twin: ActivationStats
    overlays: dict[str, tuple[Overlay, Overlay]]  # act_<stat> -> (net's, twin's), one scale
    tips: tuple[dict[str, str], dict[str, str]]  # node id -> hover line, (net's, twin's)

    def top5(self, categories: tuple[str, ...] | None) -> tuple[Prediction, ...]:
        return self.net.predictions(5, categories)


@st.cache_data(max_entries=8, show_spinner=False)
def _weights_id(key: tuple[object, ...], plain: bool, _pic: Picture) -> str:
    """The weights' id for the stats cache, once per loaded net (hashing random or a file's weights reads them all)."""
    return weights_id(_pic.info, _pic.twin if plain else _pic.model)


def _num(v: float) -> str:
    return f"{v:.3g}"


def _tips(h: Hierarchy, stats: ActivationStats) -> dict[str, str]:
    out: dict[str, str] = {}
    for nid, node in h.nodes.items():
        sid = node.children[-1] if node.kind == "run" and node.children else nid  # a folded run: its last block's
        s = stats.nodes.get(sid)
        if s is None:
            continue
        line = tr("picture.tip", mean=_num(s.mean), std=_num(s.std))
        if s.dead is not None:
            line += " · " + tr("picture.tip_dead", share=f"{s.dead:.1%}")
        out[nid] = line
    return out


def picture_stats(pic: Picture, input_size: tuple[int, int]) -> PictureStats:
    """Every node's statistics for the picture through both nets (one pass each, cached server-wide), as overlays
    sharing one colour scale per statistic, and hover lines. Raises UserError (the memory ceiling) in one sentence."""
    x = pic.tensor()
    with pic.lock:
        net = activation_stats(pic.model, x, weights=_weights_id(pic.key, False, pic))
        twin = activation_stats(pic.twin, x, weights=_weights_id(pic.key, True, pic))
    hn, ht = cached_hierarchy(pic.model.spec, input_size), cached_hierarchy(pic.twin.spec, input_size)
    overlays: dict[str, tuple[Overlay, Overlay]] = {}
    for stat in STATS:
        lo, hi = shared_scale((net, twin), stat)
        label = tr(f"picture.overlay_{stat}")
        pair = tuple(
            node_overlay(h, s.values(stat), key=OVERLAY_PREFIX + stat, label=label, lo=lo, hi=hi)
            for h, s in ((hn, net), (ht, twin))
        )
        overlays[OVERLAY_PREFIX + stat] = (pair[0], pair[1])
    return PictureStats(net, twin, overlays, (_tips(hn, net), _tips(ht, twin)))


@st.cache_data(max_entries=32, show_spinner=False)
def _grid(key: tuple[object, ...], plain: bool, node: str, _pic: Picture) -> tuple[bytes, dict[str, float]]:
    """The node's K strongest channels as one PNG, with the numbers its caption shows."""
    with _pic.lock:
        rec = node_activation(_pic.twin if plain else _pic.model, _pic.tensor(), node=node)
    top = rec.top(K)
    c, h, w = rec.shape
    return to_png(montage(rec, top, cell=72)), {"k": len(top), "c": c, "h": h, "w": w, "lo": rec.vmin, "hi": rec.vmax}


@st.cache_data(max_entries=32, show_spinner=False)
def _cam(key: tuple[object, ...], plain: bool, node: str, cls: int, _pic: Picture) -> tuple[bytes, float, int, int]:
    with _pic.lock:
        cam = node_gradcam(_pic.twin if plain else _pic.model, _pic.tensor(), node=node, class_index=cls)
    h, w = cam.cam.shape
    return to_png(heat_overlay(_pic.pre.cropped, cam.cam)), cam.score, h, w


def _has(pic: Picture, plain: bool, node: str) -> bool:
    try:
        resolve_node(pic.twin if plain else pic.model, node)
    except InputError:
        return False
    return True


def node_panel(
    pic: Picture,
    stats: PictureStats,
    *,
    twin: bool,
    key: str,
    link: Callable[[str], None] | None = None,
) -> Callable[[str], None]:
    """The details panel's part for a picture: draws, for the selected node, each net's grid and Grad-CAM there."""
    cats = None if pic.info.classifier_reset else pic.info.categories
    nets = [(False, net_title(pic.model.spec), stats.net)]
    if twin:
        nets.append((True, net_title(pic.twin.spec), stats.twin))

    def draw(node: str) -> None:
        st.markdown(f"**{tr('picture.node_heading', node=node)}**")
        shown = [(p, title, s) for p, title, s in nets if _has(pic, p, node)]
        if len(shown) < len(nets):
            st.caption(tr("picture.twin_missing", node=node))
        if not shown:
            return
        try:
            cols = st.columns(len(shown))
            for col, (plain, title, s) in zip(cols, shown):
                png, n = _grid(pic.key, plain, node, pic)
                col.image(png, width=GRID_PX)
                col.caption(tr("picture.node_grid", net=title, node=node, **n))
                ns = s.nodes.get(node)
                if ns is not None:
                    line = tr("picture.node_stats", n=_count(ns.shape), mean=ns.mean, std=ns.std)
                    col.caption(line + (tr("picture.node_dead", share=ns.dead) if ns.dead is not None else ""))
            if pic.model.spec.num_classes == 0:
                return
            _cams(pic, stats, node, shown, cats, key)
        except UserError as e:
            say_error(e)
        if link is not None:
            link(node)

    return draw


def _count(shape: tuple[int, ...]) -> str:
    n = 1
    for d in shape:
        n *= d
    return f"{n:,}"


def _cams(
    pic: Picture,
    stats: PictureStats,
    node: str,
    shown: list[tuple[bool, str, ActivationStats]],
    cats: tuple[str, ...] | None,
    key: str,
) -> None:
    top = stats.top5(cats)
    names = {p.index: p.label if cats else tr("picture.class_index", i=p.index) for p in top}  # no names: numbers
    labels: Mapping[int, str] = {
        p.index: tr("picture.cam_option", rank=i + 1, label=names[p.index], p=p.probability) for i, p in enumerate(top)
    }
    choices = [p.index for p in top]
    # the names in the key: a widget keeps the label it was drawn with when only its format_func changes (the
    # class names uploaded after the file)
    digest = hashlib.blake2b("\n".join(labels.values()).encode(), digest_size=4).hexdigest()
    wkey = f"{key}.cam_class.{digest}"
    if st.session_state.get(wkey) not in choices:
        st.session_state[wkey] = choices[0]
    cls = int(st.selectbox(tr("picture.cam_class"), choices, key=wkey, format_func=labels.__getitem__))
    if not pic.info.pretrained:
        st.caption(tr("picture.cam_untrained"))
    label = names[cls]
    cols = st.columns(len(shown))
    for col, (plain, title, _) in zip(cols, shown):
        png, score, h, w = _cam(pic.key, plain, node, cls, pic)
        col.image(png, width=CAM_PX)
        col.caption(tr("picture.cam_caption", net=title, node=node, label=label, score=score, h=h, w=w))

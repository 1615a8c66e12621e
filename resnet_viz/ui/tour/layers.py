"""The tour's chapter "What each layer sees": the sample cat through ResNet-18 and its plain twin on the graph,
coloured by the share of zeros after each ReLU on one scale, one block selected with its channel grid and Grad-CAM,
and a link that opens the same picture, weights and node in the explorer.

ResNet-18 is the smallest torchvision ResNet: both nets' statistics take a fraction of a second on a 2-core CPU,
and its ImageNet weights are used where torchvision's cache holds them (seeded random weights otherwise, and the
text says so).
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from ...errors import UserError
from ...i18n import DEFAULT_LANG
from ...nets.spec import preset
from ...tour.layer_facts import LayerFacts, layer_facts
from ...vision.samples import sample_bytes
from ..core.cache import cached_trace
from ..core.text import lang, net_title, say_error, tr
from ..views.graph_view import net_graph
from ..views.picture import Picture, load_picture, weights_banner
from ..views.picture_graph import DEFAULT_STAT, OVERLAY_PREFIX, PictureStats, node_panel, picture_stats

__all__ = ["EXPLORER", "LAYERS_NET", "LAYERS_NODE", "LAYERS_SIZE", "explorer_params", "layers_view"]

Facts = dict[str, object]
EXPLORER: Final = "pages/explorer.py"
LAYERS_NET: Final = "resnet18"
LAYERS_SIZE: Final = 224
LAYERS_NODE: Final = "layer3.1"  # an identity block: its ReLU sees F(x) + x, the twin's sees F(x) alone
_SAMPLE: Final = "cat"
_WEIGHTS: Final = "imagenet"  # torchvision's where cached; load_model falls back to seeded random weights offline
_KEY: Final = "tour_graph_layers"


def explorer_params(node: str) -> dict[str, str]:
    """The explorer's URL for this chapter's net, picture, weights and statistic, opened at ``node``."""
    params = {
        "arch": LAYERS_NET,
        "node": node,
        "picture": _SAMPLE,
        "weights": _WEIGHTS,
        "size": str(LAYERS_SIZE),
        "stat": DEFAULT_STAT,
    }
    if lang() != DEFAULT_LANG:
        params["lang"] = lang()
    return params


def _link(node: str) -> None:
    st.page_link(
        EXPLORER,
        label=tr("tour.layers.open_explorer", node=node, net=net_title(preset(LAYERS_NET))),
        icon=":material/account_tree:",
        query_params=explorer_params(node),
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _num(x: float) -> str:
    return f"{x:.3g}"


def _trend(first: float, last: float) -> str:
    return tr("tour.layers.grows" if last > first else "tour.layers.shrinks")


def _load() -> tuple[Picture, PictureStats, LayerFacts]:
    pic = load_picture(
        preset(LAYERS_NET), device="cpu", data=sample_bytes(_SAMPLE), stem=_SAMPLE, size=LAYERS_SIZE, weights=_WEIGHTS
    )
    size = (LAYERS_SIZE, LAYERS_SIZE)
    stats = picture_stats(pic, size)
    return pic, stats, layer_facts(stats.net, stats.twin, cached_trace(pic.spec, size), LAYERS_NODE)


def _facts(f: LayerFacts) -> Facts:
    """The placeholders of the chapter's text, its questions and their answers."""
    sel, first, last = f.selected, f.blocks[0], f.blocks[-1]
    shape = "×".join
    return {
        "net": net_title(preset(LAYERS_NET)),
        "node": f.node.node,
        "size": f.size,
        "first": first.block,
        "last": last.block,
        "stem": f.stem.node,
        "stem_shape": shape(map(str, f.stem.shape)),
        "stem_rf": f.stem.rf,
        "stem_stride": f.stem.stride,
        "first_shape": shape(map(str, f.first.shape)),
        "first_rf": f.first.rf,
        "first_stride": f.first.stride,
        "node_shape": shape(map(str, f.node.shape)),
        "node_rf": f.node.rf,
        "node_stride": f.node.stride,
        "final": f.last.node,
        "final_shape": shape(map(str, f.last.shape)),
        "final_rf": f.last.rf,
        "final_stride": f.last.stride,
        "net_dead": _pct(sel.net_dead),
        "twin_dead": _pct(sel.twin_dead),
        "net_std": _num(sel.net_std),
        "twin_std": _num(sel.twin_std),
        "identity": len(f.identity),
        "fewer": f.fewer_zeros,
        "net_first_std": _num(first.net_std),
        "net_last_std": _num(last.net_std),
        "twin_first_std": _num(first.twin_std),
        "twin_last_std": _num(last.twin_std),
        "net_trend": _trend(first.net_std, last.net_std),
        "twin_trend": _trend(first.twin_std, last.twin_std),
        "answers": True,
    }


def layers_view() -> Facts:
    """What the student sees first (the picture, the two graphs, the selected block's maps), then why."""
    head = st.columns([1, 5])
    try:
        with st.spinner(tr("picture.working")):
            pic, stats, f = _load()
    except UserError as e:  # the memory ceiling: the questions stay, without the answers' numbers
        say_error(e)
        blocks = cached_trace(preset(LAYERS_NET), (LAYERS_SIZE, LAYERS_SIZE)).blocks
        return {"node": LAYERS_NODE, "first": blocks[0].name, "last": blocks[-1].name}
    facts = _facts(f)
    head[0].image(pic.pre.cropped, width="stretch", caption=tr("picture.thumb", n=pic.size))
    weights = tr("tour.layers.weights_imagenet" if pic.info.pretrained else "tour.layers.weights_random")
    head[1].markdown(tr("tour.layers.body", weights=weights, **facts))
    weights_banner(pic)
    net_graph(
        pic.spec,
        (pic.size, pic.size),
        key=_KEY,
        start="block",
        twin=True,
        overlays=stats.overlays,
        default_overlay=OVERLAY_PREFIX + DEFAULT_STAT,
        tips=stats.tips,
        node_panel=node_panel(pic, stats, twin=True, key=f"{_KEY}.node", link=_link),
        node=LAYERS_NODE,
        url=False,
    )
    st.markdown(tr("tour.layers.stats", **facts))
    st.markdown(tr("tour.layers.resolution", **facts))
    dead = "tour.layers.dead_fewer" if f.selected.net_dead < f.selected.twin_dead else "tour.layers.dead_more"
    st.markdown(tr("tour.layers.residual", **facts) + " " + tr(dead, **facts))
    st.markdown(tr("tour.layers.spread", **facts))
    cam = "tour.layers.cam_trained" if pic.info.pretrained else "tour.layers.cam_random"
    st.markdown(tr("tour.layers.read", **facts) + " " + tr(cam, **facts))
    return facts

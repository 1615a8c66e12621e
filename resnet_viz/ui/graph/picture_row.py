"""The explorer's picture control: a toggle, then the picture, its size and the weights, as on the feature page.

``picture=`` in the URL turns it on (``picture=cat``); ``stat=`` (``mean``, ``std`` or ``dead``) is the statistic
the graph is coloured by, and follows the overlay picked in the graph's toolbar.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import streamlit as st

from ...errors import UserError
from ...vision.stat_kinds import DEFAULT_STAT, OVERLAY_PREFIX, STATS, stat_of
from ..core.sidebar import Selection
from ..core.text import say_error, tr
from ..core.url_state import arrived, remember

if TYPE_CHECKING:  # the picture's modules import torch: only once a picture is asked for (tests/test_package.py)
    from ..views.picture import Picture
    from ..views.picture_graph import PictureStats

__all__ = [
    "FEATURES",
    "ON",
    "OVERLAY_KEY",
    "PictureOnGraph",
    "features_link",
    "picture_row",
    "remember_stat",
    "show_picture",
]

ON: Final = "explorer_picture"
OVERLAY_KEY: Final = "explorer_graph.overlay"  # net_graph's toolbar picker, under the explorer's graph key
FEATURES: Final = "pages/features.py"
_LINKED: Final = ("picture", "stat")  # a link with these turns the picture on and picks the statistic
_STAT_SEEN: Final = "_explorer_stat_seen"


@dataclass(frozen=True)
class PictureOnGraph:
    pic: Picture
    stats: PictureStats


def _turned_on() -> None:
    """The toggle was switched on: colour by the picture's statistic, with the plain twin beside."""
    if st.session_state.get(ON):
        st.session_state[OVERLAY_KEY] = OVERLAY_PREFIX + DEFAULT_STAT
        st.session_state["explorer_twin"] = True


def _from_url() -> None:
    """A link's ``picture=`` turns the picture on; its ``stat=`` picks the overlay. Read when they change."""
    link = arrived(_LINKED, _STAT_SEEN)
    if link is None:
        return
    pic, stat = link[0].get("picture"), link[0].get("stat")
    if pic is None:
        return
    st.session_state[ON] = True
    st.session_state.setdefault("explorer_twin", True)
    if stat is not None and stat not in STATS:
        st.warning(tr("picture.bad_param", param="stat", value=str(stat)[:40], options=", ".join(STATS)))
        stat = None
    st.session_state[OVERLAY_KEY] = OVERLAY_PREFIX + (stat or DEFAULT_STAT)


def remember_stat(overlay: str | None) -> None:
    """net_graph's ``on_overlay``: the picture's statistic into the URL (``stat=``), or out of it."""
    if not st.session_state.get(ON):
        return
    stat = stat_of(overlay)
    if stat is None:
        st.query_params.pop("stat", None)
    elif st.query_params.get("stat") != stat:
        st.query_params["stat"] = stat
    remember(_LINKED, _STAT_SEEN)


def features_link(pic: Picture) -> None:
    """ "Open in Feature maps" with this picture, these weights and this size."""
    from ..views.picture import picture_params

    params = picture_params(with_size=pic.run is None)
    if pic.run is not None:
        params["run"] = pic.run.id
    st.page_link(FEATURES, label=tr("picture.open_features"), icon=":material/image_search:", query_params=params)


def _off() -> None:
    for k in ("picture", "weights", "size", "stat"):
        st.query_params.pop(k, None)


def picture_row(sel: Selection) -> PictureOnGraph | None:
    """The toggle and, when on, the picture controls; the picture and its statistics through both nets, or None
    (off, waiting for an upload, or one sentence said)."""
    _from_url()
    if not st.toggle(tr("picture.toggle"), key=ON, help=tr("picture.toggle_help"), on_change=_turned_on):
        _off()
        return None
    from ..views.picture import init_picture
    from ..views.picture_controls import choose_picture, size_and_weights
    from ..views.picture_graph import picture_stats

    init_picture()
    pic = choose_picture(
        sel,
        functools.partial(size_and_weights, key="explorer_ckpt"),
        key_prefix="explorer",
        working=tr("picture.working"),
    )
    if pic is None:
        return None
    try:
        with st.spinner(tr("picture.working")):
            stats = picture_stats(pic, (pic.size, pic.size))
    except UserError as e:
        say_error(e)
        return None
    return PictureOnGraph(pic, stats)


def show_picture(shown: PictureOnGraph, twin: bool) -> Callable[[str], None]:
    """The picture the nets see, whose weights they carry, and the node panel to draw under the selected node."""
    from ...graph.units import human_bytes
    from ...vision.budget import activation_limit
    from ..views.picture import weights_banner
    from ..views.picture_graph import node_panel

    pic = shown.pic
    with st.container(horizontal=True, vertical_alignment="center"):
        st.image(pic.pre.cropped, width=96, caption=tr("picture.thumb", n=pic.size))
        st.caption(tr("picture.size_note", n=pic.size, limit=human_bytes(activation_limit())))
    weights_banner(pic)
    return node_panel(pic, shown.stats, twin=twin, key="explorer_node", link=lambda _node: features_link(pic))

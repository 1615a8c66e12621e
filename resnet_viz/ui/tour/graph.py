"""The interactive graph inside a tour chapter: opened at the node the chapter talks about, a caption saying what
is selected, and a link that opens the same node in the architecture explorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

import streamlit as st

from ...i18n import DEFAULT_LANG
from ...nets.spec import ResNetSpec, preset
from ..core.text import lang, net_title, tr
from ..views.graph_view import net_graph

__all__ = ["explorer_url", "tour_graph"]

_EXPLORER: Final = "architecture"  # the explorer's url path (resnet_viz/ui/pages.py), relative to the tour's


def explorer_url(arch: str, node: str, *, size: int | None = None, shortcut: str | None = None) -> str:
    """The explorer's address for the preset ``arch`` opened at ``node``, in this session's language. Relative
    (``/guided-tour`` → ``/architecture``), so it also works under a base path; a new tab reads it on arrival."""
    params = {"arch": arch, "node": node}
    if shortcut is not None:
        params["shortcut"] = shortcut
    if size is not None and size != 224:
        params["input_size"] = str(size)
    if lang() != DEFAULT_LANG:
        params["lang"] = lang()
    return f"{_EXPLORER}?{urlencode(params)}"


def tour_graph(
    key: str,
    spec: ResNetSpec,
    input_size: tuple[int, int] | None,
    node: str,
    what: str,
    *,
    arch: str | None,
    arch_node: str | None = None,
    shortcut: str | None = None,
    beside: Sequence[tuple[str, ResNetSpec]] = (),
    details_panel: bool = False,
) -> None:
    """``spec``'s graph under the widget key ``tour_graph_<key>``, opened at ``node`` on its first draw; ``what``
    (translated) says what that node is. The link opens ``arch_node`` (default ``node``) of the preset ``arch``
    in the explorer; None: no link.

    The tour's URL keeps its own parameters (``chapter``, ``presenter``): its graphs neither read nor write
    ``node=``, so one chapter's click never reselects another chapter's graph.
    """
    caption = tr("tour.graph_caption", what=what)
    if details_panel:  # above the graph, which the details panel follows
        st.caption(caption)
    net_graph(
        spec,
        input_size,
        key=f"tour_graph_{key}",
        start="block",
        node=node,
        url=False,
        toolbar=False,
        details_panel=details_panel,
        beside=beside,
    )
    if not details_panel:  # below: graphs side by side start level
        st.caption(caption)
    if arch is None:
        return
    target = arch_node or node
    size = input_size[0] if input_size is not None else None
    label = tr("tour.open_explorer", node=target, net=net_title(preset(arch)))
    st.markdown(f":material/account_tree: [{label}]({explorer_url(arch, target, size=size, shortcut=shortcut)})")

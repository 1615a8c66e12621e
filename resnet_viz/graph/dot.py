"""A view as one DOT graph, for export: what is open now, with a frame around each open group and a shape on
every edge, in the same styles as the page."""

from __future__ import annotations

from typing import Final

from ..i18n import DEFAULT_LANG, Lang, t
from .layout import PORT_STYLE_ATTRS, node_attrs, quote
from .units import shape_text
from .view import PORT, View

__all__ = ["view_dot"]

_EDGE: Final = {
    "main": "",
    "identity": ' color="#2b8a3e" fontcolor="#2b8a3e" style=dashed penwidth=1.5',
    "projection": ' color="#1864ab" fontcolor="#1864ab" style=bold penwidth=2',
    "pad": ' color="#c2255c" fontcolor="#c2255c" style=dotted penwidth=2',
}


def _shape(shape: tuple[int, ...]) -> str:
    return quote(f" {shape_text(shape)} ")


def view_dot(v: View, *, lang: Lang = DEFAULT_LANG) -> str:
    """The whole view as DOT: segments joined by their entry points, open groups as clusters."""
    h = v.hierarchy
    title = t("graph.title", lang, title=h.title, size=shape_text(h.input_shape))
    out = [
        f"digraph {quote(h.arch)} {{",
        f'rankdir=TB label={quote(title)} labelloc=t fontsize=16 fontname="Helvetica" nodesep=0.3 ranksep=0.32',
        PORT_STYLE_ATTRS,
    ]
    open_frames: list[str] = []  # the clusters open around the segment being written
    prev_exit: str | None = None
    for i, seg in enumerate(v.segments):
        chain = v.frames(seg)
        while open_frames and open_frames[-1] not in chain:
            open_frames.pop()
            out.append("}")
        for gid in chain[len(open_frames) :]:
            label = t(f"graph.{gid}", lang) if gid in ("stem", "head") else gid
            out.append(f'subgraph {quote("cluster_" + gid)} {{ label={quote(label)} style=rounded color="#adb5bd"')
            open_frames.append(gid)
        port = f"{PORT}{i}"
        if seg.entry_shape is not None:
            out.append(f"{quote(port)} [shape=point width=0.02 height=0.02]")
            if prev_exit is not None:
                out.append(f"{quote(prev_exit)} -> {quote(port)} [arrowhead=none]")  # the fork's edges carry the shape
        out += [f"{quote(n.id)} [{node_attrs(n)}]" for n in seg.nodes]
        for e in seg.edges:
            src = port if e.src == PORT else e.src
            text = f" {e.note}\n {shape_text(e.shape)} " if e.note else f" {shape_text(e.shape)} "
            out.append(f"{quote(src)} -> {quote(e.dst)} [label={quote(text)}{_EDGE[e.style]}]")
        prev_exit = seg.exit
    out += ["}"] * len(open_frames)
    out.append("}")
    return "\n".join(out)

"""Positions for a view: graphviz ``dot`` lays out each segment (one process for all of them, each distinct
segment once), and the segments are stacked top to bottom on one axis.

Coordinates are graphviz points (1/72 inch) with y growing downwards, as a browser draws.
"""

from __future__ import annotations

import collections
import json
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ..errors import ResourceError
from .view import PORT, Segment, VEdge, View, VNode

__all__ = ["PORT_STYLE_ATTRS", "Cluster", "LEdge", "LNode", "Layout", "dot_source", "layout", "node_attrs", "quote"]

GAP: Final = 26.0  # points between stacked segments: room for the edge and its shape label
LABEL_ROOM: Final = 22.0  # points above a cluster's first segment for the cluster's own label
PAD: Final = 8.0  # points between a cluster's frame and what it holds

_GRAPH_ATTRS: Final = 'rankdir=TB nodesep=0.3 ranksep=0.32 fontname="Helvetica"'
_NODE_ATTRS: Final = 'shape=box style="rounded,filled" fontname="Helvetica" fontsize=11 margin="0.12,0.05"'
_EDGE_ATTRS: Final = 'fontname="Helvetica" fontsize=10 color="#495057" fontcolor="#343a40"'
PORT_STYLE_ATTRS: Final = f'node [{_NODE_ATTRS} fillcolor="#f4f4f5"]\nedge [{_EDGE_ATTRS}]'


@dataclass(frozen=True)
class LNode:
    id: str
    x: float  # centre
    y: float
    w: float
    h: float
    node: VNode | None  # None for a segment's entry point


@dataclass(frozen=True)
class LEdge:
    src: str
    dst: str
    points: tuple[tuple[float, float], ...]  # from the source's centre through the route to the target's centre
    edge: VEdge
    label_at: tuple[float, float] | None = None  # where graphviz put the shape label


@dataclass(frozen=True)
class Cluster:
    id: str  # the open group it frames
    x0: float
    y0: float
    x1: float
    y1: float
    depth: int  # 0 for a stage, 1 for a block inside it


@dataclass(frozen=True)
class Layout:
    nodes: tuple[LNode, ...]
    edges: tuple[LEdge, ...]
    clusters: tuple[Cluster, ...]
    width: float
    height: float


def quote(s: str) -> str:
    """A DOT string literal."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _local(seg: Segment) -> dict[str, str]:
    """Segment-local node names, so identical blocks give identical DOT and share one layout."""
    names = {n.id: f"n{i}" for i, n in enumerate(seg.nodes)}
    names[PORT] = PORT
    return names


def node_attrs(n: VNode) -> str:
    if n.kind == "add":
        return 'label="+" shape=circle width=0.3 height=0.3 fixedsize=true fillcolor="#ffffff"'
    if n.kind in ("input", "output"):
        return f'label={quote(chr(10).join(n.lines))} shape=plain style="" fontsize=12'
    return f"label={quote(chr(10).join(n.lines))}"


def dot_source(seg: Segment) -> str:
    """One segment as DOT, in local names; with a PORT point where the previous segment arrives."""
    names = _local(seg)
    out = [f"digraph s {{ {_GRAPH_ATTRS}", PORT_STYLE_ATTRS]
    if seg.entry_shape is not None:
        out.append(f"{PORT} [shape=point width=0.02 height=0.02]")
    out += [f"{names[n.id]} [{node_attrs(n)}]" for n in seg.nodes]
    for e in seg.edges:
        label = "×".join(map(str, e.shape))
        out.append(f"{names[e.src]} -> {names[e.dst]} [label={quote(' ' + label + ' ')}]")
    out.append("}")
    return "\n".join(out)


@dataclass(frozen=True)
class _Placed:
    """One segment's layout in its own coordinates (y down, top-left at 0, 0)."""

    width: float
    height: float
    nodes: dict[str, tuple[float, float, float, float]]  # local name -> x, y, w, h
    edges: dict[tuple[str, str], tuple[tuple[float, float], ...]]  # (tail, head) -> interior route points
    labels: dict[tuple[str, str], tuple[float, float] | None]  # (tail, head) -> the label's position


def _parse(doc: dict[str, Any]) -> _Placed:
    bb = [float(v) for v in str(doc["bb"]).split(",")]
    height = bb[3]
    objects = doc.get("objects", [])
    assert isinstance(objects, list)
    nodes: dict[str, tuple[float, float, float, float]] = {}
    by_gvid: dict[int, str] = {}
    for o in objects:
        x, y = (float(v) for v in o["pos"].split(","))
        nodes[o["name"]] = (x, height - y, float(o["width"]) * 72, float(o["height"]) * 72)
        by_gvid[o["_gvid"]] = o["name"]
    routes: dict[tuple[str, str], tuple[tuple[float, float], ...]] = {}
    labels: dict[tuple[str, str], tuple[float, float] | None] = {}
    for e in doc.get("edges", []):  # dot lists edges by tail, not in the order written
        key = (by_gvid[e["tail"]], by_gvid[e["head"]])
        routes[key] = tuple((x, height - y) for x, y in _route(e["pos"]))
        lx, ly = (float(v) for v in e["lp"].split(",")) if "lp" in e else (None, None)
        labels[key] = None if lx is None or ly is None else (lx, height - ly)
    return _Placed(bb[2], height, nodes, routes, labels)


def _route(pos: str) -> list[tuple[float, float]]:
    """The interior points of a dot spline: each cubic piece's midpoint and the joints between pieces."""
    pts = [tuple(float(v) for v in p.split(",")) for p in pos.split() if not p.startswith(("e,", "s,"))]
    out: list[tuple[float, float]] = []
    for i in range(0, len(pts) - 3, 3):
        p0, c1, c2, p1 = pts[i], pts[i + 1], pts[i + 2], pts[i + 3]
        mid = tuple(0.125 * a + 0.375 * b + 0.375 * c + 0.125 * d for a, b, c, d in zip(p0, c1, c2, p1))
        # a straight piece needs no bend point
        if _off_line(p0, p1, mid) > 2.0:
            out.append(mid)  # type: ignore[arg-type]
        if i + 3 < len(pts) - 1:
            out.append(p1)  # type: ignore[arg-type]
    return out


def _off_line(a: Sequence[float], b: Sequence[float], p: Sequence[float]) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    return abs(dy * (p[0] - a[0]) - dx * (p[1] - a[1])) / norm


class _Cache:
    """Layouts by DOT source, shared by every session of the server (bounded; a lock for the server's threads)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, collections.OrderedDict[str, _Placed](), threading.Lock()

    def get_all(self, sources: Sequence[str]) -> list[_Placed]:
        with self.lock:
            missing = [s for s in dict.fromkeys(sources) if s not in self.items]
        if missing:
            placed = _run_dot(missing)
            with self.lock:
                self.items.update(zip(missing, placed))
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
            found = dict(zip(missing, placed))
        else:
            found = {}
        with self.lock:
            return [found.get(s) or self.items[s] for s in sources]


_LAYOUTS: Final = _Cache(20_000)


def _run_dot(sources: Sequence[str]) -> list[_Placed]:
    """Lay out several graphs in one ``dot`` process."""
    try:
        done = subprocess.run(
            ["dot", "-Tjson0"], input="\n".join(sources), capture_output=True, text=True, check=True, timeout=300
        )
    except FileNotFoundError as e:
        raise ResourceError("graphviz_missing") from e
    dec, text, i = json.JSONDecoder(), done.stdout, 0
    out: list[_Placed] = []
    while len(out) < len(sources):
        while text[i].isspace():
            i += 1
        doc, i = dec.raw_decode(text, i)
        out.append(_parse(doc))
    return out


def _opened_here(view: View, seg: Segment, before: Segment | None) -> list[str]:
    """The open groups (outermost first) whose first drawn segment is ``seg``."""
    h = view.hierarchy
    mine = view.frames(seg)
    if before is None:
        return mine
    theirs = set(h.ancestors(before.nodes[0].id)) | {before.owner}
    return [a for a in mine if a not in theirs]


def layout(view: View) -> Layout:
    """Every segment laid out by dot and stacked on one vertical axis; frames around open groups."""
    segs = view.segments
    placed = _LAYOUTS.get_all([dot_source(s) for s in segs])
    nodes: list[LNode] = []
    edges: list[LEdge] = []
    centre: dict[str, tuple[float, float]] = {}
    cursor, prev_exit = 0.0, None
    for i, (seg, p) in enumerate(zip(segs, placed)):
        names = _local(seg)
        anchor = p.nodes.get(PORT) or p.nodes[names[seg.nodes[0].id]]
        if i:
            cursor += GAP + (LABEL_ROOM + PAD) * len(_opened_here(view, seg, segs[i - 1]))
        dx, dy = -anchor[0], cursor
        port = f"{PORT}{i}"
        if PORT in p.nodes:
            x, y, _, _ = p.nodes[PORT]
            centre[port] = (x + dx, y + dy)
            nodes.append(LNode(port, x + dx, y + dy, 0.0, 0.0, None))
        for n in seg.nodes:
            x, y, w, h = p.nodes[names[n.id]]
            centre[n.id] = (x + dx, y + dy)
            nodes.append(LNode(n.id, x + dx, y + dy, w, h, n))
        if prev_exit is not None and seg.entry_shape is not None:
            # no label here: the edges leaving the entry point carry the same shape
            a, b = centre[prev_exit], centre[port]
            edges.append(LEdge(prev_exit, port, (a, b), VEdge(prev_exit, port, seg.entry_shape, "main")))
        for e in seg.edges:
            route, lp = p.edges[names[e.src], names[e.dst]], p.labels[names[e.src], names[e.dst]]
            src = port if e.src == PORT else e.src
            pts = (centre[src], *((x + dx, y + dy) for x, y in route), centre[e.dst])
            where = None if lp is None else (lp[0] + dx, lp[1] + dy)
            edges.append(LEdge(src, e.dst, pts, VEdge(src, e.dst, e.shape, e.style, e.note), where))
        prev_exit = seg.exit
        cursor += p.height
    clusters = _clusters(view, nodes, edges)
    xs = [n.x - n.w / 2 for n in nodes] + [c.x0 for c in clusters]
    xe = [n.x + n.w / 2 for n in nodes] + [c.x1 for c in clusters]
    left = min(xs)
    moved = tuple(LNode(n.id, n.x - left, n.y, n.w, n.h, n.node) for n in nodes)
    moved_edges = tuple(
        LEdge(
            e.src,
            e.dst,
            tuple((x - left, y) for x, y in e.points),
            e.edge,
            None if e.label_at is None else (e.label_at[0] - left, e.label_at[1]),
        )
        for e in edges
    )
    moved_clusters = tuple(Cluster(c.id, c.x0 - left, c.y0, c.x1 - left, c.y1, c.depth) for c in clusters)
    return Layout(moved, moved_edges, moved_clusters, max(xe) - left, cursor)


def _clusters(view: View, nodes: Sequence[LNode], edges: Sequence[LEdge]) -> list[Cluster]:
    """A frame around each open stage, block, stem and head: the box of what it holds (its nodes and the routes
    of the edges into them, shortcuts included), padded."""
    h = view.hierarchy
    boxes: dict[str, list[float]] = {}

    def owners(node_id: str) -> list[str]:
        base = node_id if node_id in h else node_id.removesuffix(".add")
        if base not in h:
            return []
        chain = [a for a in h.ancestors(base) if a in view.open and h[a].kind != "run"]
        return [*chain, base] if base in view.open else chain

    def grow(chain: Sequence[str], x0: float, y0: float, x1: float, y1: float) -> None:
        for a in chain:
            b = boxes.setdefault(a, [x0, y0, x1, y1])
            b[0], b[1], b[2], b[3] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)

    for n in nodes:
        if n.node is not None:
            grow(owners(n.id), n.x - n.w / 2, n.y - n.h / 2, n.x + n.w / 2, n.y + n.h / 2)
    for e in edges:  # an edge's bends belong to the groups of the node it enters
        chain = owners(e.dst)
        for x, y in e.points[1:-1]:
            grow(chain, x, y, x, y)
    depth = {gid: sum(1 for a in h.ancestors(gid) if h[a].kind != "run") for gid in boxes}
    framed: dict[str, Cluster] = {}
    for gid in sorted(boxes, key=lambda g: -depth[g]):  # inner frames first: an outer one wraps them
        x0, y0, x1, y1 = boxes[gid]
        x0, y0, x1, y1 = x0 - PAD, y0 - PAD - LABEL_ROOM * 0.8, x1 + PAD, y1 + PAD
        for c in framed.values():
            if gid in h.ancestors(c.id):
                x0, y0 = min(x0, c.x0 - PAD), min(y0, c.y0 - LABEL_ROOM)
                x1, y1 = max(x1, c.x1 + PAD), max(y1, c.y1 + PAD)
        framed[gid] = Cluster(gid, x0, y0, x1, y1, depth[gid])
    return sorted(framed.values(), key=lambda c: c.depth)

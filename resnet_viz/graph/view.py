"""What is drawn for a set of open groups: a chain of segments, each a small graph with a shape on every edge.

A segment is one top-level step of the net as it is open now (the input, a closed stage, one open block's
layers, a folded run ×N, ...). Each has one way in (``PORT``, a point where the previous segment's output
arrives, forking into the main path and the shortcut) and one way out. Segments are laid out by graphviz one
at a time and stacked, so opening one block lays out one block, and ResNet-1202's 600 identical blocks share
a handful of layouts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal

from ..i18n import DEFAULT_LANG, Lang, t
from .model import Hierarchy, Node
from .units import LAYER_FILL, block_text, human, op_text, shape_text

__all__ = [
    "PORT",
    "EdgeStyle",
    "Segment",
    "VEdge",
    "VNode",
    "View",
    "all_open",
    "normalize_open",
    "view",
]

PORT: Final = "__in"
EdgeStyle = Literal["main", "identity", "projection", "pad"]
VKind = Literal["input", "output", "group", "stage", "run", "block", "layer", "add"]


@dataclass(frozen=True)
class VNode:
    id: str  # the hierarchy's id; an add drawn for a closed block is "<block>.add"
    kind: VKind
    lines: tuple[str, ...]  # the label
    down: bool  # spatial size shrinks here (drawn orange)
    fill: str


@dataclass(frozen=True)
class VEdge:
    src: str  # a node id, or PORT
    dst: str
    shape: tuple[int, ...]  # the tensor crossing this edge, without the batch dimension
    style: EdgeStyle
    note: str = ""  # the shortcut's kind, "×N" for a folded run


@dataclass(frozen=True)
class Segment:
    nodes: tuple[VNode, ...]
    edges: tuple[VEdge, ...]
    entry_shape: tuple[int, ...] | None  # what arrives at PORT; None for the input
    exit: str  # the node whose output leaves this segment
    owner: str  # the group this segment draws (for clusters and cache keys), or the node itself


@dataclass(frozen=True)
class View:
    hierarchy: Hierarchy
    open: frozenset[str]
    segments: tuple[Segment, ...]

    def node_ids(self) -> list[str]:
        return [n.id for s in self.segments for n in s.nodes]

    def frames(self, seg: Segment) -> list[str]:
        """The open groups framing ``seg``, outermost first (runs open without a frame of their own)."""
        h = self.hierarchy
        chain = [a for a in h.ancestors(seg.nodes[0].id) if a in self.open and h[a].kind != "run"]
        if seg.owner in self.open and h[seg.owner].kind != "run" and seg.owner not in chain:
            chain.append(seg.owner)
        return chain

    @property
    def node_count(self) -> int:
        return sum(len(s.nodes) for s in self.segments)


_FILL: Final = LAYER_FILL


def normalize_open(h: Hierarchy, open_: Iterable[str]) -> frozenset[str]:
    """The open groups that exist in ``h`` (other names are dropped)."""
    groups = set(h.groups())
    return frozenset(g for g in open_ if g in groups)


def all_open(h: Hierarchy) -> frozenset[str]:
    return frozenset(h.groups())


class _Labels:
    def __init__(self, h: Hierarchy, lang: Lang) -> None:
        self.h, self.lang = h, lang

    def tr(self, key: str, **values: object) -> str:
        return t(f"graph.{key}", self.lang, **values)

    def cost(self, n: Node) -> str:
        return self.tr("cost", params=human(n.params), macs=human(n.macs))

    def down(self, n: Node) -> str | None:
        a, b = n.input_shape, n.output_shape
        if len(a) == 3 and len(b) == 3 and tuple(a[1:]) != tuple(b[1:]):
            return self.tr("down", before=shape_text(a[1:]), after=shape_text(b[1:]))
        return None

    def op(self, n: Node, *, short: bool = False) -> str:
        return op_text(n.type, n.kernel, n.stride, short=short)

    def closed(self, n: Node) -> VNode:
        """A closed group (stage, run, block, stem, head) as one node."""
        d = self.down(n)
        if n.kind == "stage":
            blocks = [self.h[c] for c in n.children]
            kind = blocks[0].type if blocks else ""
            head = [n.id, f"{n.count} × {kind}"]
        elif n.kind == "run":
            last = n.children[-1]
            head = [f"{n.children[0]} … {last}  ×{n.count}", n.type]
        elif n.kind == "block":  # a block's own parts said with its type: "Bottleneck · SE"
            head = [n.id, block_text(n.type, (self.h[c].type for c in n.children if c in self.h))]
        else:  # stem, head
            head = [self.tr(n.id), " · ".join(self.op(self.h[c], short=True) for c in n.children)]
        return VNode(n.id, n.kind, (*head, *([d] if d else []), self.cost(n)), d is not None, "#f4f4f5")

    def layer(self, n: Node) -> VNode:
        if n.type == "ResidualAdd":
            return VNode(n.id, "add", ("+",), False, "#ffffff")
        d = self.down(n)
        lines = [f"{n.short} · {self.op(n)}", *([d] if d else [])]
        if n.params or n.macs:
            lines.append(self.cost(n))
        return VNode(n.id, "layer", tuple(lines), d is not None, _FILL.get(n.type, "#f4f4f5"))

    def terminal(self, n: Node) -> VNode:
        return VNode(n.id, n.kind, (self.tr(n.kind), shape_text(n.output_shape)), False, "#ffffff")


def _chain(lab: _Labels, n: Node) -> Segment:
    """An open stem or head: its layers one after another."""
    layers = [lab.h[c] for c in n.children]
    nodes = tuple(lab.layer(x) for x in layers)
    edges, prev = [], PORT
    for x in layers:
        edges.append(VEdge(prev, x.id, x.input_shape, "main"))
        prev = x.id
    return Segment(nodes, tuple(edges), n.input_shape, prev, n.id)


def _closed_block(lab: _Labels, n: Node) -> Segment:
    """A closed block or folded run: the node, and in a residual net the add its shortcut joins."""
    node = lab.closed(n)
    if n.shortcut in (None, "none", "concat"):
        return Segment((node,), (VEdge(PORT, n.id, n.input_shape, "main"),), n.input_shape, n.id, n.id)
    add = f"{n.id}.add"
    kind = n.shortcut if n.shortcut in ("identity", "projection", "pad") else "identity"
    note = _shortcut_note(lab, n, kind) + (f" ×{n.count}" if n.count > 1 else "")
    edges = (
        VEdge(PORT, n.id, n.input_shape, "main"),
        VEdge(n.id, add, n.output_shape, "main"),
        VEdge(PORT, add, n.output_shape, kind, note),  # type: ignore[arg-type]
    )
    return Segment((node, VNode(add, "add", ("+",), False, "#ffffff")), edges, n.input_shape, add, n.id)


def _shortcut_note(lab: _Labels, b: Node, kind: str) -> str:
    """What a closed block's shortcut does: a ResNet-D projection average-pools before its 1×1 conv."""
    pools = kind == "projection" and any(
        c in lab.h and lab.h[c].role == "shortcut" and lab.h[c].type == "AvgPool2d" for c in b.children
    )
    return lab.tr("shortcut_projection_avg" if pools else f"shortcut_{kind}")


def _open_block(lab: _Labels, b: Node) -> Segment:
    """One open block: the main path in order, the shortcut path beside it, joined at the add."""
    layers = [lab.h[c] for c in b.children]
    kind: EdgeStyle = b.shortcut if b.shortcut in ("identity", "projection", "pad") else "identity"  # type: ignore[assignment]
    note = lab.tr(f"shortcut_{kind}")
    edges: list[VEdge] = []
    main_prev, sc_prev = PORT, None
    seen: dict[str, str] = {}
    for x in layers:
        seen[x.short] = x.id
        if x.role == "shortcut":
            if sc_prev is None:  # pre-activation projections read the pre-activated input (He et al. 2016)
                pre = b.type.startswith("PreAct") and b.shortcut == "projection"
                start = seen.get("relu1", PORT) if pre else PORT
                edges.append(VEdge(start, x.id, x.input_shape, kind, note))
            else:
                edges.append(VEdge(sc_prev, x.id, x.input_shape, "projection"))
            sc_prev = x.id
        elif x.type == "ResidualAdd":
            edges.append(VEdge(main_prev, x.id, x.input_shape, "main"))
            if sc_prev is None:
                edges.append(VEdge(PORT, x.id, x.output_shape, "identity", lab.tr("shortcut_identity")))
            else:
                edges.append(VEdge(sc_prev, x.id, x.output_shape, kind))
            main_prev = x.id
        else:
            edges.append(VEdge(main_prev, x.id, x.input_shape, "main"))
            main_prev = x.id
    nodes = tuple(lab.layer(x) for x in layers)
    return Segment(nodes, tuple(edges), b.input_shape, main_prev, b.id)


def _segments(lab: _Labels, open_: frozenset[str]) -> Iterator[Segment]:
    h = lab.h
    for top in h.top:
        n = h[top]
        if n.kind in ("input", "output"):
            entry = None if n.kind == "input" else n.input_shape
            edges = () if entry is None else (VEdge(PORT, n.id, n.input_shape, "main"),)
            yield Segment((lab.terminal(n),), edges, entry, n.id, n.id)
        elif n.kind == "group":
            yield _chain(lab, n) if n.id in open_ else _closed_block(lab, n)
        elif n.id not in open_:
            edge = VEdge(PORT, n.id, n.input_shape, "main")
            yield Segment((lab.closed(n),), (edge,), n.input_shape, n.id, n.id)
        else:
            for c in n.children:
                yield from _stage_child(lab, h[c], open_)


def _stage_child(lab: _Labels, n: Node, open_: frozenset[str]) -> Iterator[Segment]:
    if n.kind == "run" and n.id in open_:
        for b in n.children:
            yield from _stage_child(lab, lab.h[b], open_)
    elif n.kind == "block" and n.id in open_:
        yield _open_block(lab, n)
    else:
        yield _closed_block(lab, n)


def view(h: Hierarchy, open_: Iterable[str] = (), *, lang: Lang = DEFAULT_LANG) -> View:
    """What is drawn when the groups in ``open_`` are open (unknown names are ignored)."""
    opened = normalize_open(h, open_)
    return View(h, opened, tuple(_segments(_Labels(h, lang), opened)))


def level_open(h: Hierarchy, level: Literal["stage", "block", "layer"], *, fold: bool) -> frozenset[str]:
    """The open set that draws the old fixed levels: stages closed; blocks; every layer."""
    if level == "stage":
        return frozenset()
    kinds: set[str] = {"stage"} if level == "block" else {"stage", "group", "block"}
    if not fold:
        kinds.add("run")
    return frozenset(n.id for n in h.nodes.values() if n.kind in kinds)


def visible_id(h: Hierarchy, node_id: str, open_: frozenset[str]) -> str:
    """The node drawn for ``node_id``: itself, or its outermost closed ancestor."""
    for a in h.ancestors(node_id):
        if a not in open_:
            return a
    return node_id

"""The graph's model: the hierarchy stage -> block -> layer of one traced net, as plain records.

Every node is named by its module path (``layer3``, ``layer3.5``, ``layer3.5.conv2``), so a URL, a search and
an overlay all speak the same names. Runs of identical consecutive blocks (``layer3.1-5``) are one more level
between a stage and its blocks: folded, they draw once marked ×N, until opened.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ..nets.records import BlockRecord, LayerRecord, TraceReport

__all__ = [
    "GROUP_KINDS",
    "Hierarchy",
    "Node",
    "NodeKind",
    "hierarchy",
    "run_id",
]

NodeKind = Literal["input", "output", "group", "stage", "run", "block", "layer"]
# What can be opened: the stem and head groups, stages, folded runs and blocks.
GROUP_KINDS: Final = frozenset({"group", "stage", "run", "block"})


@dataclass(frozen=True)
class Node:
    """One node of the hierarchy, with the numbers its hover and details panel show."""

    id: str  # module path, or "input" / "output" / "stem" / "head", or a run "layer3.1-5"
    kind: NodeKind
    parent: str | None
    children: tuple[str, ...]
    type: str  # Conv2d, Bottleneck, stage, ...
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    rf: tuple[int, int] | None
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    role: str = "main"  # "shortcut" for a block's projection / pad path
    shortcut: str | None = None  # a block's (or run's) shortcut kind: identity, projection, pad, none
    count: int = 1  # blocks in a run

    @property
    def short(self) -> str:
        """The name inside its parent: ``conv2`` for ``layer3.5.conv2``."""
        if self.parent and self.kind == "layer" and self.id.startswith(self.parent.split("-")[0] + "."):
            return self.id[len(self.parent) + 1 :]
        return self.id


@dataclass(frozen=True)
class Hierarchy:
    """All nodes of one net by id, in drawing order, with the net's totals for shares."""

    arch: str
    title: str
    input_shape: tuple[int, int, int]
    nodes: dict[str, Node]
    top: tuple[str, ...]  # input, stem, stages, head, output
    total_params: int
    total_macs: int
    residual: bool

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def ancestors(self, node_id: str) -> list[str]:
        """The groups that must be open for ``node_id`` to be drawn, outermost first."""
        out: list[str] = []
        parent = self.nodes[node_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out[::-1]

    def groups(self) -> list[str]:
        """Every node that can be opened, in drawing order."""
        return [n.id for n in self.nodes.values() if n.kind in GROUP_KINDS]

    def layers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "layer"]

    def search(self, query: str) -> list[str]:
        """Module paths (layers first by depth order, then groups) containing ``query``, in drawing order."""
        q = query.strip().lower()
        if not q:
            return []
        return [n.id for n in self.nodes.values() if n.kind not in ("run",) and q in n.id.lower()]


def run_id(blocks: Sequence[BlockRecord]) -> str:
    """``layer3.1-5`` for the run layer3.1 … layer3.5."""
    return f"{blocks[0].name}-{blocks[-1].name.rsplit('.', 1)[1]}"


def _signature(b: BlockRecord) -> tuple[object, ...]:
    return (b.stage, b.type, b.shortcut, b.input_shape, b.output_shape, b.params, b.macs)


def _layer(x: LayerRecord, parent: str) -> Node:
    return Node(
        id=x.name,
        kind="layer",
        parent=parent,
        children=(),
        type=x.type,
        input_shape=x.input_shape,
        output_shape=x.output_shape,
        params=x.params,
        macs=x.macs,
        rf=x.rf,
        kernel=x.kernel,
        stride=x.stride,
        padding=x.padding,
        role=x.role,
    )


def _group(node_id: str, kind: NodeKind, parent: str | None, members: Sequence[LayerRecord], type_: str) -> Node:
    return Node(
        id=node_id,
        kind=kind,
        parent=parent,
        children=tuple(x.name for x in members),
        type=type_,
        input_shape=members[0].input_shape,
        output_shape=members[-1].output_shape,
        params=sum(x.params for x in members),
        macs=sum(x.macs for x in members),
        rf=members[-1].rf,
    )


def _add(nodes: dict[str, Node], node: Node, members: Iterable[LayerRecord] = ()) -> None:
    nodes[node.id] = node
    for x in members:
        nodes[x.name] = _layer(x, node.id)


def hierarchy(report: TraceReport) -> Hierarchy:
    """The hierarchy of ``report``: input, stem, stages (runs, blocks, layers), head, output."""
    by_block: dict[str | None, list[LayerRecord]] = {}
    for x in report.layers:
        by_block.setdefault(x.block if x.block is not None else x.stage, []).append(x)
    nodes: dict[str, Node] = {}
    nodes["input"] = Node("input", "input", None, (), "input", (), report.input_shape, 0, 0, (1, 1))
    top = ["input"]
    if stem := by_block.get("stem"):
        _add(nodes, _group("stem", "group", None, stem, "stem"), stem)
        top.append("stem")
    for s in report.stages:
        if s.name == "stem":
            continue
        blocks = [b for b in report.blocks if b.stage == s.name]
        if not blocks:
            continue
        children: list[str] = []
        for _, grp in itertools.groupby(blocks, key=_signature):
            run = tuple(grp)
            parent = s.name
            if len(run) > 1:
                rid = run_id(run)
                members = [x for b in run for x in by_block.get(b.name, [])]
                nodes[rid] = dataclasses.replace(
                    _group(rid, "run", s.name, members, run[0].type),
                    children=tuple(b.name for b in run),
                    count=len(run),
                    shortcut=run[0].shortcut,
                    input_shape=run[0].input_shape,
                    rf=run[-1].rf,
                )
                children.append(rid)
                parent = rid
            for b in run:
                members = by_block.get(b.name, [])
                nodes[b.name] = Node(
                    id=b.name,
                    kind="block",
                    parent=parent,
                    children=tuple(x.name for x in members),
                    type=b.type,
                    input_shape=b.input_shape,
                    output_shape=b.output_shape,
                    params=b.params,
                    macs=b.macs,
                    rf=b.rf,
                    shortcut=b.shortcut,
                )
                for x in members:
                    nodes[x.name] = _layer(x, b.name)
                if len(run) == 1:
                    children.append(b.name)
        in_shape = blocks[0].input_shape
        nodes[s.name] = Node(
            id=s.name,
            kind="stage",
            parent=None,
            children=tuple(children),
            type="stage",
            input_shape=in_shape,
            output_shape=s.output_shape,
            params=s.params,
            macs=s.macs,
            rf=s.rf,
            stride=s.stride,
            count=len(blocks),
        )
        # runs come before their blocks in drawing order; move the stage before both
        nodes = _before(nodes, s.name, children[0])
        top.append(s.name)
    if head := by_block.get("head"):
        _add(nodes, _group("head", "group", None, head, "head"), head)
        top.append("head")
    last = head[-1].output_shape if head else report.layers[-1].output_shape
    nodes["output"] = Node("output", "output", None, (), "output", last, last, 0, 0, None)
    top.append("output")
    residual = any(b.shortcut not in ("none", "concat") for b in report.blocks)
    return Hierarchy(
        arch=report.arch,
        title=report.title,
        input_shape=report.input_shape,
        nodes=nodes,
        top=tuple(top),
        total_params=report.totals.params,
        total_macs=report.totals.macs,
        residual=residual,
    )


def _before(nodes: dict[str, Node], key: str, anchor: str) -> dict[str, Node]:
    """``nodes`` re-ordered so that ``key`` comes right before ``anchor``."""
    moved = nodes.pop(key)
    out: dict[str, Node] = {}
    for k, v in nodes.items():
        if k == anchor:
            out[key] = moved
        out[k] = v
    return out

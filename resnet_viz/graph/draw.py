"""Trace records -> a graphviz Digraph at stage, block or layer level, with a tensor shape on every edge."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import graphviz

from ..errors import InputError
from ..i18n import DEFAULT_LANG, Lang, t
from ..nets.records import BlockRecord, LayerRecord, TraceReport
from .units import LAYER_FILL, block_text, human, op_text, shape_text

__all__ = [
    "FOLD_ABOVE",
    "LEVELS",
    "BlockRun",
    "Level",
    "block_runs",
    "build_graph",
    "check_level",
    "human",
    "node_count",
    "shape_text",
    "should_fold",
]

Level = Literal["stage", "block", "layer"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)
# Above this many nodes an unfolded graph stops being readable on a laptop screen (ResNet-152 at block
# level draws 106, so it stays unfolded; ResNet-1202 draws 1,204 and folds to 16).
FOLD_ABOVE: Final = 120

_FILL: Final = LAYER_FILL
_DOWN: Final = {"fillcolor": "#ffe1c7", "color": "#d9480f", "penwidth": "2"}
_SHORTCUT_STYLE: Final = {
    "identity": {"color": "#2b8a3e", "fontcolor": "#2b8a3e", "style": "dashed", "penwidth": "1.5"},
    "projection": {"color": "#1864ab", "fontcolor": "#1864ab", "style": "bold", "penwidth": "2"},
    "pad": {"color": "#c2255c", "fontcolor": "#c2255c", "style": "dotted", "penwidth": "2"},
}


def check_level(level: str) -> Level:
    """The level, or one sentence naming the choices."""
    if level not in LEVELS:
        raise InputError("graph_level", level=level, options=", ".join(LEVELS))
    return level  # type: ignore[return-value]


@dataclass(frozen=True)
class BlockRun:
    """Consecutive identical blocks of one stage, drawn as one node marked ×N when folded."""

    blocks: tuple[BlockRecord, ...]

    @property
    def first(self) -> BlockRecord:
        return self.blocks[0]

    @property
    def count(self) -> int:
        return len(self.blocks)

    @property
    def name(self) -> str:
        return self.first.name if self.count == 1 else f"{self.first.name} … {self.blocks[-1].name}"


def _signature(b: BlockRecord) -> tuple[object, ...]:
    return (b.stage, b.type, b.shortcut, b.input_shape, b.output_shape, b.params, b.macs)


def block_runs(report: TraceReport, *, fold: bool) -> list[BlockRun]:
    """The blocks in order; with ``fold``, each run of identical blocks becomes one BlockRun."""
    if not fold:
        return [BlockRun((b,)) for b in report.blocks]
    return [BlockRun(tuple(group)) for _, group in itertools.groupby(report.blocks, key=_signature)]


def node_count(report: TraceReport, level: Level, *, fold: bool) -> int:
    """How many nodes the graph draws (input and output included)."""
    if level == "stage":
        return len(report.stages) + 3
    runs = block_runs(report, fold=fold)
    if level == "block":
        adds = sum(1 for r in runs if r.first.shortcut not in ("none", "concat"))
        return len(runs) + adds + 4
    per_block: dict[str | None, int] = {}
    for x in report.layers:
        per_block[x.block] = per_block.get(x.block, 0) + 1
    return per_block.get(None, 0) + sum(per_block.get(r.first.name, 0) for r in runs) + 2


def should_fold(report: TraceReport, level: Level) -> bool:
    """Folding is on by default once the unfolded graph would draw more than FOLD_ABOVE nodes."""
    return level != "stage" and node_count(report, level, fold=False) > FOLD_ABOVE


class _Drawer:
    """Emits nodes and edges with stable ids; keeps the label vocabulary in one language."""

    def __init__(self, report: TraceReport, lang: Lang) -> None:
        self.report, self.lang = report, lang
        self.ids = (f"n{i}" for i in itertools.count())
        self.g = graphviz.Digraph(name=report.arch)
        title = t("graph.title", lang, title=report.title, size=shape_text(report.input_shape))
        self.g.attr(rankdir="TB", label=title, labelloc="t", fontsize="16", fontname="Helvetica", nodesep="0.35")
        self.g.attr(ranksep="0.3", newrank="true")
        self.g.attr("node", shape="box", style="rounded,filled", fillcolor="#f4f4f5", fontname="Helvetica")
        self.g.attr("node", fontsize="11", margin="0.12,0.05")
        self.g.attr("edge", fontname="Helvetica", fontsize="10", color="#495057", fontcolor="#343a40")

    def tr(self, key: str, **values: object) -> str:
        return t(f"graph.{key}", self.lang, **values)

    def cost(self, params: int, macs: int) -> str:
        return self.tr("cost", params=human(params), macs=human(macs))

    def down(self, before: Sequence[int], after: Sequence[int]) -> str | None:
        """ "↓ 56→28" when the spatial size shrinks, else None."""
        if len(before) == 3 and len(after) == 3 and tuple(after[1:]) != tuple(before[1:]):
            return self.tr("down", before=shape_text(before[1:]), after=shape_text(after[1:]))
        return None

    def node(self, g: graphviz.Digraph, lines: Sequence[str], tooltip: str, *, down: bool, **attrs: str) -> str:
        nid = next(self.ids)
        style = {**attrs, **(_DOWN if down else {})}
        g.node(nid, "\n".join(lines), tooltip=tooltip, **style)
        return nid

    def terminal(self, key: str, shape: Sequence[int]) -> str:
        nid = next(self.ids)
        label = f"{self.tr(key)}\n{shape_text(shape)}"
        self.g.node(nid, label, shape="plain", style="", fontsize="12")
        return nid

    def edge(self, a: str, b: str, shape: Sequence[int], **attrs: str) -> None:
        self.g.edge(a, b, label=f" {shape_text(shape)} ", **attrs)

    def shortcut_edge(
        self, a: str, b: str, kind: str, shape: Sequence[int], count: int = 1, *, pools: bool = False
    ) -> None:
        """``pools``: a ResNet-D projection, which average-pools before its 1×1 conv."""
        label = self.tr("shortcut_projection_avg" if pools and kind == "projection" else f"shortcut_{kind}")
        if count > 1:
            label += f" ×{count}"
        self.g.edge(a, b, label=f" {label}\n {shape_text(shape)} ", **_SHORTCUT_STYLE.get(kind, {}))

    # -- grouped layers (stem, head) ---------------------------------------------------------------------
    def group_node(self, g: graphviz.Digraph, name: str, members: Sequence[LayerRecord]) -> str:
        ops = " · ".join(_op_text(x, short=True) for x in members)
        params, macs = sum(x.params for x in members), sum(x.macs for x in members)
        d = self.down(members[0].input_shape, members[-1].output_shape)
        lines = [name, ops, *([d] if d else []), self.cost(params, macs)]
        return self.node(g, lines, f"{name}: {ops}; {self.cost(params, macs)}", down=d is not None)


def _op_text(x: LayerRecord, short: bool = False) -> str:
    return op_text(x.type, x.kernel, x.stride, short=short)


def _layers_of(report: TraceReport, stage: str) -> list[LayerRecord]:
    return [x for x in report.layers if x.stage == stage]


def _stages(report: TraceReport) -> list[str]:
    return [s.name for s in report.stages if s.name != "stem"]


def _ends(d: _Drawer, report: TraceReport) -> tuple[str, list[LayerRecord], list[LayerRecord]]:
    stem, head = _layers_of(report, "stem"), _layers_of(report, "head")
    return d.terminal("input", report.input_shape), stem, head


def _grouped_stem(d: _Drawer) -> tuple[str, Sequence[int], list[LayerRecord]]:
    """The input node and the stem as one node; returns the last node, its output shape and the head layers."""
    prev, stem, head = _ends(d, d.report)
    prev_shape: Sequence[int] = d.report.input_shape
    if stem:
        nid = d.group_node(d.g, d.tr("stem"), stem)
        d.edge(prev, nid, prev_shape)
        prev, prev_shape = nid, stem[-1].output_shape
    return prev, prev_shape, head


def _stage_graph(d: _Drawer) -> graphviz.Digraph:
    r = d.report
    prev, prev_shape, head = _grouped_stem(d)
    for s in r.stages:
        if s.name == "stem":
            continue
        blocks = [b for b in r.blocks if b.stage == s.name]
        kind = blocks[0].type if blocks else ""
        dn = d.down(prev_shape, s.output_shape)
        lines = [s.name, f"{len(blocks)} × {kind}", *([dn] if dn else []), d.cost(s.params, s.macs)]
        tip = d.tr("stage_tip", name=s.name, stride=s.stride[0], rf=shape_text(s.rf))
        nid = d.node(d.g, lines, tip, down=dn is not None)
        d.edge(prev, nid, prev_shape)
        prev, prev_shape = nid, s.output_shape
    return _finish(d, prev, prev_shape, head)


def _finish(d: _Drawer, prev: str, prev_shape: Sequence[int], head: list[LayerRecord]) -> graphviz.Digraph:
    if head:
        nid = d.group_node(d.g, d.tr("head"), head)
        d.edge(prev, nid, prev_shape)
        prev, prev_shape = nid, head[-1].output_shape
    d.edge(prev, d.terminal("output", prev_shape), prev_shape)
    return d.g


def _stage_clusters(d: _Drawer, runs: list[BlockRun]) -> Iterator[tuple[graphviz.Digraph, list[BlockRun]]]:
    """One cluster per stage, yielding the cluster and its runs."""
    for stage in _stages(d.report):
        mine = [r for r in runs if r.first.stage == stage]
        if not mine:
            continue
        with d.g.subgraph(name=f"cluster_{stage}") as c:
            out = mine[-1].first.output_shape
            c.attr(label=d.tr("stage_cluster", name=stage, shape=shape_text(out)), style="rounded,dashed")
            c.attr(color="#adb5bd", fontsize="12", labeljust="l")
            yield c, mine


def _block_graph(d: _Drawer, fold: bool) -> graphviz.Digraph:
    r = d.report
    prev, prev_shape, head = _grouped_stem(d)
    types: dict[str | None, list[str]] = {}
    for x in r.layers:
        types.setdefault(x.block, []).append(x.type)
    for c, runs in _stage_clusters(d, block_runs(r, fold=fold)):
        for run in runs:
            b = run.first
            dn = d.down(b.input_shape, b.output_shape)
            title = f"{run.name}  ×{run.count}" if run.count > 1 else run.name
            kind = block_text(b.type, types.get(b.name, ()))
            lines = [title, kind, *([dn] if dn else []), d.cost(b.params, b.macs)]
            if run.count > 1:
                lines.append(d.tr("each"))
            tip = d.tr("block_tip", name=run.name, rf=shape_text(b.rf), shortcut=d.tr(f"shortcut_{b.shortcut}"))
            nid = d.node(c, lines, tip, down=dn is not None)
            d.edge(prev, nid, b.input_shape)
            if b.shortcut in ("none", "concat"):  # the plain twin: no shortcut, no add
                prev = nid
            else:
                add = next(d.ids)
                c.node(add, "+", shape="circle", style="filled", fillcolor="white", width="0.3", fixedsize="true")
                d.edge(nid, add, b.output_shape)
                pools = any(x.block == b.name and x.role == "shortcut" and x.type == "AvgPool2d" for x in r.layers)
                d.shortcut_edge(prev, add, b.shortcut, b.output_shape, run.count, pools=pools)
                prev = add
            prev_shape = b.output_shape
    return _finish(d, prev, prev_shape, head)


def _layer_node(d: _Drawer, g: graphviz.Digraph, x: LayerRecord, prefix: str) -> str:
    short = x.name.removeprefix(prefix)
    dn = d.down(x.input_shape, x.output_shape)
    if x.type == "ResidualAdd":
        return d.node(g, ["+"], f"{x.name}: {x.type}", down=False, shape="circle", fillcolor="white")
    lines = [f"{short} · {_op_text(x)}", *([dn] if dn else [])]
    if x.params or x.macs:
        lines.append(d.cost(x.params, x.macs))
    tip = f"{x.name}: {_op_text(x)}; {d.cost(x.params, x.macs)}; RF {shape_text(x.rf)}"
    return d.node(g, lines, tip, down=dn is not None, fillcolor=_FILL.get(x.type, "#f4f4f5"))


def _chain(d: _Drawer, g: graphviz.Digraph, layers: Sequence[LayerRecord], prev: str) -> str:
    for x in layers:
        nid = _layer_node(d, g, x, "")
        d.edge(prev, nid, x.input_shape)
        prev = nid
    return prev


def _layer_block(d: _Drawer, g: graphviz.Digraph, run: BlockRun, members: list[LayerRecord], prev: str) -> str:
    """One block's layers: the main path in order, the shortcut path beside it, joined at the add."""
    b = run.first
    prefix = b.name + "."
    main_prev = prev
    by_name: dict[str, str] = {}
    sc_prev: str | None = None
    for x in members:
        nid = _layer_node(d, g, x, prefix)
        by_name[x.name.removeprefix(prefix)] = nid
        if x.role == "shortcut":
            if sc_prev is None:  # pre-activation projections read the pre-activated input (He et al. 2016)
                pre = b.type.startswith("PreAct") and b.shortcut == "projection"
                sc_prev = by_name.get("relu1", prev) if pre else prev
                d.shortcut_edge(sc_prev, nid, b.shortcut, x.input_shape, run.count)
            else:
                d.edge(sc_prev, nid, x.input_shape, **_SHORTCUT_STYLE["projection"])
            sc_prev = nid
        elif x.type == "ResidualAdd":
            d.edge(main_prev, nid, x.input_shape)
            if sc_prev is None:
                d.shortcut_edge(prev, nid, "identity", x.output_shape, run.count)
            else:
                d.edge(sc_prev, nid, x.output_shape, **_SHORTCUT_STYLE.get(b.shortcut, {}))
            main_prev = nid
        else:
            d.edge(main_prev, nid, x.input_shape)
            main_prev = nid
    return main_prev


def _layer_graph(d: _Drawer, fold: bool) -> graphviz.Digraph:
    r = d.report
    prev, stem, head = _ends(d, r)
    by_block: dict[str | None, list[LayerRecord]] = {}
    for x in r.layers:
        by_block.setdefault(x.block, []).append(x)
    with d.g.subgraph(name="cluster_stem") as c:
        c.attr(label=d.tr("stem"), style="rounded,dashed", color="#adb5bd", labeljust="l")
        prev = _chain(d, c, stem, prev)
    for c, runs in _stage_clusters(d, block_runs(r, fold=fold)):
        for run in runs:
            with c.subgraph(name=f"cluster_{run.first.name.replace('.', '_')}") as bc:
                title = f"{run.name}  ×{run.count}" if run.count > 1 else run.name
                bc.attr(label=f"{title} · {run.first.type}", style="rounded", color="#868e96", labeljust="l")
                prev = _layer_block(d, bc, run, by_block.get(run.first.name, []), prev)
    with d.g.subgraph(name="cluster_head") as c:
        c.attr(label=d.tr("head"), style="rounded,dashed", color="#adb5bd", labeljust="l")
        prev = _chain(d, c, head, prev)
    last = head[-1].output_shape if head else r.layers[-1].output_shape
    d.edge(prev, d.terminal("output", last), last)
    return d.g


def build_graph(
    report: TraceReport, *, level: Level = "block", fold: bool | None = None, lang: Lang = DEFAULT_LANG
) -> graphviz.Digraph:
    """The graph of ``report`` at ``level``; ``fold=None`` folds runs of identical blocks above FOLD_ABOVE nodes."""
    level = check_level(level)
    folded = should_fold(report, level) if fold is None else fold
    d = _Drawer(report, lang)
    if level == "stage":
        return _stage_graph(d)
    if level == "block":
        return _block_graph(d, folded)
    return _layer_graph(d, folded)

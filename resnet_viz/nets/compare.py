"""Several traced nets side by side as one table (He et al. 2015 Table 1, computed), rows that differ flagged."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..i18n import DEFAULT_LANG, Lang, t
from ..units import human
from .records import LayerRecord, TraceReport

__all__ = ["CompareRow", "CompareTable", "NetPoint", "compare", "compare_csv", "compare_json", "stage_recipe"]


@dataclass(frozen=True)
class CompareRow:
    label: str
    values: tuple[str, ...]  # one per net, as shown (counts in human units: "25.6 M")
    exact: tuple[int, ...] = ()  # one per net on rows of counts, for the exports; empty where the values are exact

    @property
    def differs(self) -> bool:
        return len(set(self.exact or self.values)) > 1

    @property
    def exact_values(self) -> tuple[int | str, ...]:
        return self.exact or self.values


@dataclass(frozen=True)
class NetPoint:
    """One net's totals, for the params / MACs against depth plot."""

    label: str
    depth: int
    params: int
    macs: int


@dataclass(frozen=True)
class CompareTable:
    nets: tuple[str, ...]
    rows: tuple[CompareRow, ...]
    points: tuple[NetPoint, ...]

    def row(self, label: str) -> CompareRow:
        return next(r for r in self.rows if r.label == label)


def _shape(s: Sequence[int]) -> str:
    return "×".join(map(str, s))


def _conv(x: LayerRecord) -> str:
    k = x.kernel or (1, 1)
    stride = f" /{x.stride[0]}" if x.stride and x.stride[0] > 1 else ""
    return f"{k[0]}×{k[1]}, {x.output_shape[0]}{stride}"


def stage_recipe(report: TraceReport, stage: str) -> str:
    """A stage as He et al. 2015 Table 1 writes it: "[1×1, 64 · 3×3, 64 · 1×1, 256] ×3"."""
    blocks = [b for b in report.blocks if b.stage == stage]
    layers = [x for x in report.layers if x.stage == stage and x.role == "main"]
    if not blocks:  # the stem: every windowed layer in order
        parts = [f"{x.type.removesuffix('2d')} {_conv(x)}" for x in layers if x.kernel is not None]
        return " · ".join(parts)
    # the first block carries the stride, so v1 (/2 on the first 1×1) and v1.5 (/2 on the 3×3) read apart
    first = blocks[0].name
    convs = [_conv(x) for x in layers if x.block == first and x.type in ("Conv2d", "StdConv2d")]
    return f"[{' · '.join(convs)}] ×{len(blocks)}"


def compare(
    reports: Sequence[TraceReport], labels: Sequence[str] | None = None, *, lang: Lang = DEFAULT_LANG
) -> CompareTable:
    """One row per fact (input, depth, params, MACs, receptive field, each stage's recipe and output shape)."""
    nets = tuple(labels) if labels is not None else tuple(r.title for r in reports)

    def row(key: str, values: Sequence[str], **names: object) -> CompareRow:
        return CompareRow(t(f"compare.{key}", lang, **names), tuple(values))

    def counts(key: str, values: Sequence[int]) -> CompareRow:
        return CompareRow(t(f"compare.{key}", lang), tuple(human(v) for v in values), tuple(values))

    stages: list[str] = []
    for r in reports:
        stages += [s.name for s in r.stages if s.name not in stages]
    rows = [
        row("input", [_shape(r.input_shape) for r in reports]),
        row("depth", [str(r.depth) for r in reports]),
        counts("params", [r.totals.params for r in reports]),
        counts("macs", [r.totals.macs for r in reports]),
        row("rf", [_shape(r.stages[-1].rf) for r in reports]),
        row("block", [r.blocks[0].type if r.blocks else "" for r in reports]),
        row("shortcut", [", ".join(sorted({b.shortcut for b in r.blocks})) for r in reports]),
    ]
    for stage in stages:
        found = [{s.name: s for s in r.stages}.get(stage) for r in reports]
        rows.append(
            row("stage_blocks", [stage_recipe(r, stage) if s else "" for r, s in zip(reports, found)], stage=stage)
        )
        rows.append(row("stage_out", [_shape(s.output_shape) if s else "" for s in found], stage=stage))
    points = tuple(NetPoint(n, r.depth, r.totals.params, r.totals.macs) for n, r in zip(nets, reports))
    return CompareTable(nets, tuple(rows), points)


def compare_csv(table: CompareTable) -> bytes:
    """The table as CSV, one row per fact and one column per net, counts exact (25557032, not "25.6 M")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", *table.nets])
    writer.writerows([r.label, *r.exact_values] for r in table.rows)
    return out.getvalue().encode("utf-8")


def compare_json(table: CompareTable) -> bytes:
    """The table as JSON: the nets, and each fact's value per net (counts exact, as integers)."""
    rows = [{"row": r.label, "values": dict(zip(table.nets, r.exact_values))} for r in table.rows]
    return json.dumps({"nets": list(table.nets), "rows": rows}, ensure_ascii=False, indent=1).encode("utf-8")

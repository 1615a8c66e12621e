"""Exports as bytes: the graph as DOT, SVG or PNG (Graphviz's dot renders), the layer table as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Final, Literal, get_args

import graphviz

from ..errors import InputError
from ..nets.records import LayerRecord, TraceReport

__all__ = [
    "FORMATS",
    "MIME",
    "Format",
    "check_format",
    "graph_bytes",
    "layer_row",
    "layer_rows",
    "table_csv",
    "table_json",
]

Format = Literal["dot", "svg", "png"]
FORMATS: Final[tuple[Format, ...]] = get_args(Format)
MIME: Final[dict[str, str]] = {
    "dot": "text/vnd.graphviz",
    "svg": "image/svg+xml",
    "png": "image/png",
    "csv": "text/csv",
    "json": "application/json",
}


def check_format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise InputError("graph_format", format=fmt, options=", ".join(FORMATS))
    return fmt  # type: ignore[return-value]


def graph_bytes(graph: graphviz.Digraph | str, fmt: str) -> bytes:
    """The graph (a Digraph or its DOT source) as DOT text, or rendered by ``dot`` to SVG or PNG."""
    fmt = check_format(fmt)
    source = graph if isinstance(graph, str) else graph.source
    if fmt == "dot":
        return source.encode("utf-8")
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise InputError("graph_no_dot", format=fmt.upper()) from None
    except graphviz.CalledProcessError as e:
        reason = (getattr(e, "stderr", b"") or b"").decode("utf-8", "replace").strip() or str(e)
        raise InputError("graph_render", reason=reason.splitlines()[-1]) from e


def _pair(p: tuple[int, int] | None) -> str:
    return "" if p is None else f"{p[0]}×{p[1]}"


def layer_row(x: LayerRecord) -> dict[str, object]:
    """One layer as a flat row with stable, machine-readable column names."""
    return {
        "name": x.name,
        "type": x.type,
        "stage": x.stage,
        "block": x.block or "",
        "role": x.role,
        "kernel": _pair(x.kernel),
        "stride": _pair(x.stride),
        "input_shape": "×".join(map(str, x.input_shape)),
        "output_shape": "×".join(map(str, x.output_shape)),
        "params": x.params,
        "macs": x.macs,
        "receptive_field": _pair(x.rf),
    }


def layer_rows(report: TraceReport, *, stage: str | None = None) -> list[dict[str, object]]:
    """The tracer's per-layer records as rows, optionally of one stage only."""
    return [layer_row(x) for x in report.layers if stage is None or x.stage == stage]


def table_csv(report: TraceReport, *, stage: str | None = None) -> bytes:
    rows = layer_rows(report, stage=stage)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(layer_row(report.layers[0])), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def table_json(report: TraceReport, *, stage: str | None = None) -> bytes:
    t = report.totals
    doc = {
        "arch": report.arch,
        "title": report.title,
        "input_shape": list(report.input_shape),
        "totals": {"depth": t.depth, "params": t.params, "macs": t.macs, "layers": t.layers},
        "stages": [
            {
                "name": s.name,
                "output_shape": list(s.output_shape),
                "stride": s.stride[0],
                "rf": list(s.rf),
                "params": s.params,
                "macs": s.macs,
            }
            for s in report.stages
        ],
        "layers": layer_rows(report, stage=stage),
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")

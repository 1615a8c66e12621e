"""`python -m resnet_viz summary`: every layer's shape, params, MACs and receptive field."""

from __future__ import annotations

import argparse
import json

from ..nets.trace import TraceReport, trace
from .checkpoint import add_checkpoint_flag, net_from_args
from .common import add_spec_flags, input_size_from_args

__all__ = ["format_table", "register", "report_json"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("summary", help="layer table of a ResNet, traced without allocating")
    add_spec_flags(p)
    add_checkpoint_flag(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def report_json(r: TraceReport) -> dict[str, object]:
    t = r.totals
    return {
        "arch": r.arch,
        "title": r.title,
        "depth": r.depth,
        "params": t.params,
        "macs": t.macs,
        "activation_bytes": t.activation_bytes,
        "input_shape": list(r.input_shape),
        "stages": [
            {"name": s.name, "output_shape": list(s.output_shape), "stride": list(s.stride), "rf": list(s.rf)}
            for s in r.stages
        ],
        "layers": [
            {
                "name": x.name,
                "type": x.type,
                "stage": x.stage,
                "block": x.block,
                "kernel": list(x.kernel) if x.kernel else None,
                "stride": list(x.stride) if x.stride else None,
                "input_shape": list(x.input_shape),
                "output_shape": list(x.output_shape),
                "params": x.params,
                "macs": x.macs,
                "rf": list(x.rf),
                "jump": list(x.jump),
            }
            for x in r.layers
        ],
    }


def _shape(s: tuple[int, ...]) -> str:
    return "×".join(map(str, s))


def format_table(r: TraceReport) -> str:
    rows = [("layer", "type", "output", "params", "MACs", "RF")]
    for x in r.layers:
        rows.append((x.name, x.type, _shape(x.output_shape), f"{x.params:,}", f"{x.macs:,}", f"{x.rf[0]}×{x.rf[1]}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{r.title}  input {_shape(r.input_shape)}", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", "stage outputs:"]
    lines += [f"  {s.name:<8} {_shape(s.output_shape):>14}  stride {s.stride[0]}" for s in r.stages]
    t = r.totals
    lines += ["", f"depth {r.depth}   params {t.params:,}   MACs {t.macs:,}   activations {t.activation_bytes:,} B"]
    return "\n".join(lines)


def run(a: argparse.Namespace) -> int:
    spec, inferred = net_from_args(a)
    report = trace(spec, input_size=input_size_from_args(a))
    if a.json:  # the same keys as for --arch
        print(json.dumps(report_json(report)))
        return 0
    if inferred is not None:
        print(f"{inferred.source.name}: {inferred.line()}\n")
    print(format_table(report))
    return 0

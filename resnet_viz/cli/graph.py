"""`python -m resnet_viz graph`: the stage / block / layer graph as DOT, SVG or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InputError
from ..graph.draw import LEVELS, build_graph, check_level
from ..graph.export import FORMATS, check_format, graph_bytes
from ..nets.trace import trace
from .checkpoint import add_checkpoint_flag, net_from_args
from .common import add_spec_flags, input_size_from_args

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("graph", help="the net's graph with a shape on every edge (DOT, SVG or PNG)")
    add_spec_flags(p)
    add_checkpoint_flag(p)
    # Checked by hand rather than with argparse choices, so a bad value reads like every other input error.
    p.add_argument("--level", default="block", help=f"one of {', '.join(LEVELS)} (default block)")
    p.add_argument("--format", default=None, help=f"one of {', '.join(FORMATS)} (default: from -o, else dot)")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--fold", dest="fold", action="store_true", default=None, help="fold runs of identical blocks")
    fold.add_argument("--no-fold", dest="fold", action="store_false", help="draw every block")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="language of the graph's labels")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.set_defaults(run=run)


def _format(a: argparse.Namespace) -> str:
    if a.format is not None:
        return check_format(a.format)
    suffix = Path(a.output).suffix.lstrip(".").lower() if a.output else ""
    return {"gv": "dot", "dot": "dot", "svg": "svg", "png": "png"}.get(suffix, "dot")


def run(a: argparse.Namespace) -> int:
    level = check_level(a.level)
    fmt = _format(a)
    out = Path(a.output) if a.output else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        reason = "it is a folder" if out.is_dir() else "its folder does not exist"
        raise InputError("graph_output", path=str(out), reason=reason)
    spec, inferred = net_from_args(a)
    report = trace(spec, input_size=input_size_from_args(a))
    if inferred is not None:
        print(f"{inferred.source.name}: {inferred.line()}", file=sys.stderr)
    data = graph_bytes(build_graph(report, level=level, fold=a.fold, lang=a.lang), fmt)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        out.write_bytes(data)
    except OSError as e:
        raise InputError("graph_output", path=str(out), reason=e.strerror or str(e)) from None
    print(f"wrote {out} ({len(data):,} bytes, {fmt}, {level} level)", file=sys.stderr)
    return 0

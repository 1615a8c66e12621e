"""`python -m resnet_viz runs list | show ID | export ID --format csv|json`: read the lab's run store."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from ..lab.config import NETS
from ..lab.export import metrics_csv, run_json
from ..lab.history import read_history
from ..lab.store import RunStore, StoreError
from .common import fail

__all__ = ["register"]

_ID = re.compile(r"[0-9a-f]{16}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("runs", help="list, show or export the gradient lab's stored runs")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=type(p))
    ls = verbs.add_parser("list", help="every run, newest first")
    ls.add_argument("--json", action="store_true")
    show = verbs.add_parser("show", help="one run's settings and progress")
    show.add_argument("id", type=_run_id)
    show.add_argument("--json", action="store_true")
    ex = verbs.add_parser("export", help="one run's metrics, every step of both nets")
    ex.add_argument("id", type=_run_id)
    ex.add_argument("--format", choices=["csv", "json"], default="json")
    ex.add_argument("-o", "--output", help="a file to write (default: standard output)")
    p.set_defaults(run=run)


def _run_id(text: str) -> str:
    if _ID.fullmatch(text.strip()):
        return text.strip()
    raise argparse.ArgumentTypeError(StoreError("bad_run_id", run=text).message())


def run(a: argparse.Namespace) -> int:
    store = RunStore()
    if a.verb == "list":
        runs = store.runs()
        if a.json:
            print(json.dumps([_summary(r) for r in runs]))
        for r in [] if a.json else runs:
            print(f"{r.id}  {r.status:<8} {r.step:>6}/{r.total:<6} seed {r.config.seed:<4} lr {r.config.lr:<6g} "
                  f"{r.origin:<9} {r.title}")  # fmt: skip
        return 0
    record = store.get(a.id)
    if a.verb == "show":
        print(json.dumps(_summary(record), indent=None if a.json else 2))
        return 0
    nets = {n: read_history(store, a.id, n) for n in NETS}
    text = metrics_csv(nets) if a.format == "csv" else json.dumps(run_json(record, nets))
    if a.output:
        out = Path(a.output)
        if out.is_dir() or not out.parent.is_dir():
            fail(f"cannot write {a.output}: its folder does not exist or it is a folder")
        out.write_text(text, encoding="utf-8")
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _summary(r: object) -> dict[str, object]:
    from ..lab.store import RunRecord

    assert isinstance(r, RunRecord)
    return {"id": r.id, "title": r.title, "status": r.status, "step": r.step, "total": r.total,
            "steps_per_s": r.rate, "origin": r.origin, "keep": r.keep, "config": r.config.to_dict(),
            "error": None if r.error() is None else r.error().message()}  # type: ignore[union-attr]  # fmt: skip

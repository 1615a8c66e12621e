"""`python -m resnet_viz landscape | lesion | erf | responses | shattered`: the insights of a finished lab run.

Each computes in the lab's engine (``RESNET_VIZ_SCHEDULER``, else an embedded cluster) and keeps its result in the
run store (``RESNET_VIZ_DB``) under its settings, so asking again, here or on the Insights page, is instant. The
shattered-gradient toy nets need no run and compute here; ``shattered --run ID`` adds the run's neighbour gradients.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from ..i18n import t
from ..lab.config import MAX_SEED
from ..lab.engine import Engine
from ..lab.insights import ERF, LabShattering, Landscape, Lesions, Responses, Shattered, shattered_gradients
from ..lab.insights.kinds import FILLS, ERFStudy, Kind
from ..lab.insights.readings import convexity, lesion_summary, responses_reading
from ..lab.insights.record import Record
from ..lab.insights.service import cached, compute_now
from ..lab.store import RunStore, StoreError

__all__ = ["as_json", "register"]

_ID = re.compile(r"[0-9a-f]{16}")


def _run_id(text: str) -> str:
    if _ID.fullmatch(text.strip()):
        return text.strip()
    raise argparse.ArgumentTypeError(StoreError("bad_run_id", run=text[:40]).message())


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def command(name: str, help_: str, *, run_required: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--run", dest="run_id", type=_run_id, required=run_required, help="a finished lab run's id")
        p.add_argument("--images", type=int, help="held-out images to use")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(run=run, kind=name)
        return p

    p = command("landscape", "loss landscape around a run's trained weights (Li et al. 2018)")
    p.add_argument("--grid", type=int, help="points per axis over [-1, 1] (default 21)")
    p.add_argument("--dims", type=int, choices=[1, 2], help="1: the slice along δ only; 2: the surface (default)")
    p.add_argument("--seed", type=int, help="seed of the random directions")
    p = command("lesion", "test error after deleting residual blocks (Veit et al. 2016)")
    p.add_argument("--draws", type=int, help="random sets of k deleted blocks per k")
    p.add_argument("--seed", type=int, help="seed of the random sets")
    p = command("erf", "effective receptive fields after training and at initialization (Luo et al. 2016)")
    p.add_argument("--stage", help="layer1, layer2, ... (default: the last stage)")
    p.add_argument("--fill", choices=FILLS, help="how images are extended to the canvas (default reflect)")
    command("responses", "std of every 3×3 layer's response (He et al. 2015, Fig. 7)")
    p = command("shattered", "shattered gradients of toy nets (Balduzzi et al. 2017); with --run, the run's too",
                run_required=False)  # fmt: skip
    p.add_argument("--seed", type=int, help="seed of the toy nets, the noise and the neighbours")


def _settings(a: argparse.Namespace) -> dict[str, Any]:
    names = ("grid", "dims", "images", "seed", "draws", "stage", "fill")
    return {n: getattr(a, n) for n in names if getattr(a, n, None) is not None}


def _progress(kind: str) -> Callable[[float], None]:
    shown = [-1]

    def show(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent // 5 != shown[0] // 5:
            shown[0] = percent
            print(f"{kind}: {percent}%", file=sys.stderr, flush=True)

    return show


def _insight(kind: Kind, rid: str, settings: dict[str, Any]) -> Record:
    """The stored record, else computed in the engine (started only when something is to be computed)."""
    store = RunStore()
    try:
        found = cached(store, rid, kind, settings)  # an unknown or unfinished run, a bad value: said here
        if found is not None:
            return found
        engine = Engine()
        try:
            return compute_now(store, engine, rid, kind, settings, on_progress=_progress(kind))
        finally:
            engine.close()
    finally:
        store.close()


def _nets(nets: tuple[Any, ...], body: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {n.net: body(n) for n in nets}


def as_json(record: Record) -> dict[str, Any]:
    """An insight record in the CLI's JSON layout: one entry per net, named, beside the shared fields."""
    if isinstance(record, Landscape):
        two = bool(record.betas)
        measures = {"eig_ratio": t("insights.measure.eig_ratio"),
                    "upward_share": t(f"insights.measure.upward_share_{2 if two else 1}d")}  # fmt: skip
        out: dict[str, Any] = {
            "dims": 2 if two else 1, "grid": len(record.alphas), "images": record.images, "seed": record.seed,
            "alphas": list(record.alphas), "betas": list(record.betas), "measures": measures,
        }  # fmt: skip
        out |= _nets(record.nets, lambda s: {
            "loss": [list(r) for r in s.grid_loss] if two else list(s.slice_loss), "slice": list(s.slice_loss),
            "centre_loss": s.centre_loss, "centre_accuracy": s.centre_accuracy, "eig_max": s.eig_max,
            "eig_min": s.eig_min, "eig_ratio": s.eig_ratio, "upward_share": s.upward_share,
        })  # fmt: skip
        return out
    if isinstance(record, ERFStudy):
        head: dict[str, Any] = {"stage": record.stage, "images": record.images, "fill": record.fill}
        init = {e.net: e for e in record.init}
        return head | {e.net: {"trained": _erf(e), "init": _erf(init[e.net])} for e in record.trained}
    if isinstance(record, Lesions | Responses | LabShattering):
        rest = {k: v for k, v in record.to_json().items() if k != "nets"}
        return rest | {n["net"]: {k: v for k, v in n.items() if k != "net"} for n in record.to_json()["nets"]}
    raise TypeError(f"no JSON layout for {type(record).__name__}")


def _erf(e: ERF) -> dict[str, Any]:
    return {k: v for k, v in e.to_json().items() if k not in ("net", "stage", "images", "fill")}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _lines(record: Record) -> list[str]:
    """A few readable lines per record, for output without --json."""
    if isinstance(record, Landscape):
        out = [
            t("insights.cli.landscape", net=t(f"insights.net.{s.net}"), loss=s.centre_loss, acc=s.centre_accuracy,
              ratio=c.eig_ratio, share=c.upward_share_text)
            for s, c in ((s, convexity(s)) for s in record.nets)
        ]  # fmt: skip
        return [*out, t("insights.measure.eig_ratio"), t(f"insights.measure.upward_share_{2 if record.betas else 1}d")]
    if isinstance(record, Lesions):
        return [t("insights.cli.lesion", net=t(f"insights.net.{x.net}"), base=_pct(x.baseline_error),
                  one=_pct(x.mean_single), worst=_pct(x.worst_single)) for x in lesion_summary(record)]  # fmt: skip
    if isinstance(record, ERFStudy):
        init = {e.net: e for e in record.init}
        return [t("insights.cli.erf", net=t(f"insights.net.{e.net}"), stage=e.stage, rf=e.rf, s50=e.side50,
                  s95=e.side95, i50=init[e.net].side50, i95=init[e.net].side95) for e in record.trained]  # fmt: skip
    if isinstance(record, Responses):
        r = responses_reading(record)
        key = "insights.page.responses_shows" if r.shows else "insights.page.responses_not"
        return [t("insights.cli.responses", net=t(f"insights.net.{n.net}"), layers=len(n.std),
                  mean=sum(n.std) / max(len(n.std), 1)) for n in record.nets] + [
            t(key, res=r.residual_mean, plain=r.plain_mean, smaller=r.smaller, layers=r.layers)
        ]  # fmt: skip
    if isinstance(record, LabShattering):
        return [t("insights.cli.neighbours", net=t(f"insights.net.{n.net}"),
                  pairs=", ".join(f"{d:g}: {c:.3f}" for d, c in zip(n.distances, n.correlation)))
                for n in record.nets]  # fmt: skip
    raise TypeError(f"no text layout for {type(record).__name__}")


def _finite(value: Any) -> Any:
    """Non-finite floats as null, so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _toy(seed: int | None) -> tuple[Shattered, dict[str, Any]]:
    record = shattered_gradients(seed=seed or 0)
    series = [s.to_json() for s in record.series]
    return record, {"xs": list(record.xs), "width": record.width, "seed": record.seed, "series": series}


def run(a: argparse.Namespace) -> int:
    kind = a.kind
    if kind == "shattered":
        if a.seed is not None and not 0 <= a.seed <= MAX_SEED:
            raise StoreError("bad_seed", value=a.seed, low=0, limit=MAX_SEED)
        toy, out = _toy(a.seed)
        lines = [t("insights.cli.toy", name=t(f"insights.net.{s.name}"), r1=s.autocorrelation[1])
                 for s in toy.series]  # fmt: skip
        if a.run_id is not None:
            lab = _insight("neighbours", a.run_id, _settings(a))
            out["neighbours"] = as_json(lab)
            lines += _lines(lab)
        elif a.images is not None:
            raise StoreError("images_need_run")
    else:
        record = _insight(kind, a.run_id, _settings(a))
        out = {"run": a.run_id, "kind": kind, **as_json(record)}
        lines = _lines(record)
    if a.json:
        print(json.dumps(_finite(out), allow_nan=False))
    else:
        print("\n".join(lines))
    return 0

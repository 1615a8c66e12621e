"""`python -m resnet_viz gradflow`: train a net and its plain twin in the lab's engine and report gradient norms.

The run goes to the same engine and store as the web lab, so it opens in the browser at
``/gradient-lab?run=<id>``. ``--steps 0`` runs one forward and backward pass at initialization, no update.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import torch

from ..config import resolve_data_path
from ..i18n import t
from ..lab.config import MAX_SEED, NETS, RunConfig
from ..lab.data import DATASETS, load_dataset
from ..lab.defaults import DEFAULT
from ..lab.engine import Engine
from ..lab.export import run_json
from ..lab.gradients import gradient_profile
from ..lab.history import read_history
from ..lab.queue import describe, run_state
from ..lab.runs import start_run
from ..lab.store import RunStore
from ..nets.build import pick_device
from .common import add_spec_flags, fail, positive_float, positive_int, spec_from_args

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gradflow", help="train a ResNet and its plain twin; per-layer gradient norms")
    add_spec_flags(p, input_size=False)
    g = p.add_argument_group("training")
    g.add_argument("--steps", type=_whole, default=20, help="0: one forward/backward pass at initialization")
    g.add_argument("--batch-size", type=positive_int, default=DEFAULT.batch_size)
    g.add_argument("--lr", type=positive_float, default=DEFAULT.lr)
    g.add_argument("--warmup", type=_whole, default=DEFAULT.warmup, help="steps from lr/10 up to lr")
    g.add_argument("--clip", type=_clip, default=DEFAULT.clip, help="clip the gradient norm (0: never)")
    g.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    g.add_argument("--seed", type=_seed, default=0)
    g.add_argument("--dataset", choices=DATASETS, default="synthetic")
    g.add_argument("--folder", default="", help="with --dataset folder: a folder under the data root")
    g.add_argument("--device", help="default: the builder's choice (cuda, mps or cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every step")
    p.set_defaults(run=run)


def _whole(text: str) -> int:
    if text.strip().isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 0")


def _seed(text: str) -> int:
    value = _whole(text)
    if value > MAX_SEED:  # torch keeps only a seed's low 32 bits; held-out images use a seed above this
        raise argparse.ArgumentTypeError(f"{value} is above the largest seed, {MAX_SEED}")
    return value


def _clip(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else positive_float(text)


def _ratio(row: list[float]) -> str:
    return f"{row[0] / row[-1]:.3g}" if row and row[-1] else "n/a"


def _at_init(config: RunConfig) -> dict[str, object]:
    """One forward and backward pass of both nets at initialization on one batch: no update, no run stored."""
    data = load_dataset(config.dataset, folder=config.folder, seed=config.seed)
    g = torch.Generator().manual_seed(config.seed)
    idx = torch.randperm(len(data), generator=g)[: config.batch_size]
    batch = (data.images[idx], data.labels[idx])
    nets: dict[str, object] = {}
    for net, spec in config.specs().items():
        records = gradient_profile(spec.replace(num_classes=data.num_classes), batch=batch, seed=config.seed,
                                   device=config.device)  # fmt: skip
        nets[net] = {"title": spec.title, "layers": [r.name for r in records], "loss": [], "accuracy": [],
                     "grad_norms": [[r.norm for r in records]]}  # fmt: skip
    return {"id": None, "status": "done", "steps": 0, "steps_per_s": 0.0, "error": None,
            "config": config.to_dict(), "nets": nets}  # fmt: skip


def run(a: argparse.Namespace) -> int:
    spec = spec_from_args(a)
    config = RunConfig(
        spec=spec.replace(plain=False), optimizer=a.optimizer, lr=a.lr, warmup=a.warmup, clip=a.clip,
        batch_size=a.batch_size, steps=a.steps, seed=a.seed, dataset=a.dataset, folder=a.folder,
        device=a.device or str(pick_device()),
    )  # fmt: skip
    if config.dataset == "folder":
        resolve_data_path(config.folder)  # a path outside the data root is refused before anything starts
    if a.steps == 0:
        out = _at_init(config)
    else:
        store = RunStore()
        engine = Engine()
        try:
            rid = start_run(store, engine, config, origin="cli")
            print(f"run {rid}: open /gradient-lab?run={rid}", file=sys.stderr)
            engine.wait(store, rid, on_poll=lambda: _progress(store, rid))
        finally:
            engine.close()
        record = store.get(rid)
        out = run_json(record, {n: read_history(store, rid, n) for n in NETS})
        out["steps_per_s"] = record.rate
        if record.status == "failed" and record.error() is not None:
            fail(record.error().message())  # type: ignore[union-attr]
    if a.json:
        print(json.dumps(out, allow_nan=False, default=_finite))
    else:
        print(t("grad.cli.steps_line", steps=out["steps"], dataset=config.dataset, batch=config.batch_size,
                lr=config.lr, seed=config.seed, device=config.device, rate=out["steps_per_s"]))  # fmt: skip
        for h in out["nets"].values():  # type: ignore[attr-defined]
            if h["grad_norms"]:
                loss = h["loss"][-1] if h["loss"] else float("nan")
                acc = h["accuracy"][-1] if h["accuracy"] else float("nan")
                print(t("grad.cli.header", net=h["title"], loss=loss, acc=acc, ratio=_ratio(h["grad_norms"][-1])))
    if out["error"] is not None:  # diverged: the metrics so far were printed; the reason is one error line
        fail(str(out["error"]))
    return 0


def _finite(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _progress(store: RunStore, rid: str, shown: list[str] = []) -> None:  # noqa: B006 (the last line shown)
    run = store.get(rid)
    status, why = describe(run, run_state(store, run))
    line = f"{run.step}/{run.total} pair-steps · {run.rate:.2f}/s · {status}" + (f" · {why}" if why else "")
    if not shown or shown[-1] != line:
        shown[:] = [line]
        print(line, file=sys.stderr, flush=True)

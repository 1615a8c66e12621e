"""`python -m resnet_viz gradflow`: train a net and its plain twin side by side and report gradient norms."""

from __future__ import annotations

import argparse
import json
import math

from ..build import pick_device
from ..data import DATASETS
from ..i18n import t
from ..runner import PairRunner, RunConfig, Snapshot
from .common import add_spec_flags, fail, positive_float, positive_int, spec_from_args

__all__ = ["register", "snapshot_json"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gradflow", help="train a ResNet and its plain twin; per-layer gradient norms")
    add_spec_flags(p, input_size=False)
    g = p.add_argument_group("training")
    g.add_argument("--steps", type=positive_int, default=20)
    g.add_argument("--batch-size", type=positive_int, default=32)
    g.add_argument("--lr", type=positive_float, default=0.1)
    g.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    g.add_argument("--seed", type=_seed, default=0)
    g.add_argument("--dataset", choices=DATASETS, default="synthetic")
    g.add_argument("--folder", default="", help="with --dataset folder: a folder under the data root")
    g.add_argument("--device", help="default: the builder's choice (cuda, mps or cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every step")
    p.set_defaults(run=run)


def _seed(text: str) -> int:
    if text.strip().isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 0")


def snapshot_json(snap: Snapshot, config: RunConfig) -> dict[str, object]:
    """A finished run as plain JSON: the settings, then per net its losses, accuracies and norms per step."""
    return {
        "status": snap.status,
        "steps": snap.step,
        "steps_per_s": snap.steps_per_s,
        "error": snap.error.message() if snap.error is not None else None,
        "config": {
            "spec": config.spec.to_dict(),
            "optimizer": config.optimizer,
            "lr": config.lr,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "dataset": config.dataset,
            "device": config.device,
        },
        "nets": {
            name: {
                "title": h.title,
                "layers": list(h.layer_names),
                "loss": [v if math.isfinite(v) else None for v in h.loss],
                "accuracy": list(h.accuracy),
                "grad_norms": [list(row) for row in h.norms],
            }
            for name, h in snap.nets.items()
        },
    }


def _ratio(row: tuple[float, ...]) -> str:
    return f"{row[0] / row[-1]:.3g}" if row and row[-1] else "n/a"


def run(a: argparse.Namespace) -> int:
    spec = spec_from_args(a)
    config = RunConfig(
        spec=spec.replace(plain=False),
        optimizer=a.optimizer,
        lr=a.lr,
        batch_size=a.batch_size,
        steps=a.steps,
        seed=a.seed,
        dataset=a.dataset,
        folder=a.folder,
        device=a.device or str(pick_device()),
    )
    runner = PairRunner(config, idle_timeout=float("inf"))
    runner.start()
    runner.join()
    snap = runner.snapshot()
    if snap.status == "failed" and snap.error is not None:
        raise snap.error
    if a.json:
        print(json.dumps(snapshot_json(snap, config)))
    else:
        c = config
        print(t("grad.cli.steps_line", steps=snap.step, dataset=c.dataset, batch=c.batch_size, lr=c.lr,
                seed=c.seed, device=c.device, rate=snap.steps_per_s))  # fmt: skip
        for h in snap.nets.values():
            if h.steps:
                print(t("grad.cli.header", net=h.title, loss=h.loss[-1], acc=h.accuracy[-1], ratio=_ratio(h.norms[-1])))
    if snap.error is not None:  # diverged: the metrics so far were printed; the reason is one error line
        fail(snap.error.message())
    return 0

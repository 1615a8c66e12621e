"""A run's metrics as plain JSON or CSV, for downloads and for `python -m resnet_viz runs export`."""

from __future__ import annotations

import math
from typing import Any

from .config import NetName
from .history import NetHistory
from .store import RunRecord

__all__ = ["metrics_csv", "run_json"]


def run_json(run: RunRecord, nets: dict[NetName, NetHistory]) -> dict[str, Any]:
    """A run as plain JSON: id, status, settings, then per net its losses, accuracies and norms per step."""
    return {
        "id": run.id,
        "status": run.status,
        "steps": run.step,
        "error": None if run.error() is None else run.error().message(),  # type: ignore[union-attr]
        "config": run.config.to_dict(),
        "nets": {
            n: {
                "title": h.title, "layers": list(h.layer_names),
                "loss": [v if math.isfinite(v) else None for v in h.loss], "accuracy": list(h.accuracy),
                "grad_norms": [list(r) for r in h.norms],
            }
            for n, h in nets.items()
        },
    }  # fmt: skip


def metrics_csv(nets: dict[NetName, NetHistory]) -> str:
    """One row per net and step: loss, accuracy and every layer's gradient norm."""
    names = nets["residual"].layer_names
    lines = [",".join(["net", "step", "loss", "accuracy", *names])]
    for h in nets.values():
        for i in range(h.steps):
            row = [h.net, str(i + 1), repr(h.loss[i]), repr(h.accuracy[i]), *map(repr, h.norms[i])]
            lines.append(",".join(row))
    return "\n".join(lines) + "\n"

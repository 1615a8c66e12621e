"""How long each insight takes on ResNet-56 and plain-56, and how the engine's jobs scale with its worker count.

Part 1, one CPU thread in this process: responses, ERF and shattering run in full at their defaults. The
landscape (441 grid points per net) and the lesion study (about 150 evaluations per net) would take most of an
hour on one thread, so their unit costs (one 512-image evaluation, one Hessian-vector product on 128 images) are
timed and multiplied by the exact counts the defaults need; ``--full`` runs them too.

Part 2, end to end through the lab's engine as the page and the CLI ask for them (``compute_now``: submit, the
workers compute the pieces, the record is stored), on a finished ResNet-56 run recorded in a temporary store:
each kind's wall time with 1 worker and with 2 (one torch thread each), and the speed-up. The landscape and the
lesion study run at reduced settings there (``ENGINE_SETTINGS``) so that the part takes minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import torch
from safetensors.torch import save

from resnet_viz import build, cifar_spec
from resnet_viz.lab.config import RunConfig
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.insights import (
    effective_receptive_fields,
    evaluate,
    held_out,
    hessian_vector_product,
    layer_responses,
    lesion_study,
    loss_landscape,
    neighbour_gradients,
    shattered_gradients,
)
from resnet_viz.lab.insights.curvature import POWER_ITERS
from resnet_viz.lab.insights.kinds import DEFAULTS, KINDS, Kind
from resnet_viz.lab.insights.landscape import GRID, HESSIAN_IMAGES
from resnet_viz.lab.insights.lesion import DRAWS
from resnet_viz.lab.insights.service import compute_now
from resnet_viz.lab.store import RunStore

# Part 2's settings: the defaults, except a 7×7 landscape and a lesion study with 2 random draws on 128 images.
ENGINE_SETTINGS: Final[dict[Kind, dict[str, Any]]] = {
    **DEFAULTS,
    "landscape": {**DEFAULTS["landscape"], "grid": 7, "images": 128},
    "lesion": {**DEFAULTS["lesion"], "images": 128, "draws": 2},
}


def _time(fn: Callable[[], object], repeats: int = 1) -> float:
    """Median seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _lesion_evaluations(n: int, draws: int) -> int:
    """Evaluations of the lesion study for n deletable blocks: baseline, singles, distinct random sets (k ≥ 2)."""
    return 1 + n + sum(min(draws, math.comb(n, k)) for k in range(2, n + 1))


def _recorded_run(store: RunStore, config: RunConfig) -> str:
    """A finished run of ``config`` whose final weights are its nets at initialization (the timing is the same)."""
    rid, _ = store.create(config, origin="cli")
    for net, spec in config.specs().items():
        torch.manual_seed(config.seed)
        state = build(spec, device="cpu").state_dict()
        store.put_blob(rid, net, "final", config.steps, save({k: v.contiguous() for k, v in state.items()}))
        store.mark_net_done(rid, net)
    store.set_status(rid, "done")
    return rid


def engine_scaling() -> None:
    """Each kind through the engine with 1 and 2 workers: wall seconds and the speed-up."""
    seconds: dict[int, dict[Kind, float]] = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            store = RunStore(f"sqlite:///{os.path.join(tmp, 'lab.sqlite')}")
            rid = _recorded_run(store, RunConfig(spec=cifar_spec(56), steps=1))
            engine = Engine("", workers=workers)
            try:
                seconds[workers] = {}
                for kind in KINDS:
                    start = time.perf_counter()
                    compute_now(store, engine, rid, kind, ENGINE_SETTINGS[kind])
                    seconds[workers][kind] = time.perf_counter() - start
            finally:
                engine.close()
                store.close()
    print("\nthrough the engine (submit, compute, store), ResNet-56 and plain-56:")
    for kind in KINDS:
        one, two = seconds[1][kind], seconds[2][kind]
        settings = ", ".join(f"{k} {v}" for k, v in ENGINE_SETTINGS[kind].items() if v is not None)
        print(f"{kind:<11} {settings:<38} 1 worker {one:7.1f} s   2 workers {two:7.1f} s   speed-up {one / two:4.2f}x")


def main(argv: Sequence[str] = ()) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--full", action="store_true", help="also run the landscape and lesion study in full")
    p.add_argument("--engine-only", action="store_true", help="only part 2, the engine's scaling")
    a = p.parse_args(list(argv))
    if a.engine_only:
        engine_scaling()
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec = cifar_spec(56)
    models = {"residual": build(spec, device="cpu"), "plain": build(spec.twin(), device="cpu")}
    x, y = held_out(512)
    rows: list[tuple[str, float, str]] = []

    one_eval = _time(lambda: evaluate(models["residual"], x, y), repeats=3)
    params = list(models["residual"].parameters())
    vec = [torch.randn_like(p) for p in params]
    hx, hy = x[:HESSIAN_IMAGES], y[:HESSIAN_IMAGES]
    one_hvp = _time(lambda: hessian_vector_product(models["residual"], hx, hy, vec, params=params), repeats=2)
    rows.append(("unit: one evaluation, 512 images", one_eval, "measured"))
    rows.append((f"unit: one Hessian-vector product, {HESSIAN_IMAGES} images", one_hvp, "measured"))
    land = 2 * ((GRID * GRID - 1) * one_eval + 2 * POWER_ITERS * one_hvp)
    rows.append((f"landscape {GRID}x{GRID}, 512 images, both nets", land, "estimated from the units"))
    # ResNet-56: 27 blocks, all deletable in the residual net; 25 in the plain net (two change shape)
    lesion = (_lesion_evaluations(27, DRAWS) + _lesion_evaluations(25, DRAWS)) * one_eval
    rows.append(("lesion study, 512 images, both nets", lesion, "estimated from the units"))
    if a.full:
        rows.append(("landscape (full run)", _time(lambda: loss_landscape(models, x, y)), "measured"))
        rows.append(("lesion study (full run)", _time(lambda: lesion_study(models, x, y)), "measured"))
    rows.append(
        ("ERF of layer3, 32 images, both nets", _time(lambda: effective_receptive_fields(models, x[:32])), "measured")
    )
    rows.append(("responses, 512 images, both nets", _time(lambda: layer_responses(models, x)), "measured"))
    rows.append(("shattered toy nets", _time(shattered_gradients, repeats=3), "measured"))
    rows.append(
        (
            "neighbour gradients, 32 images, both nets",
            _time(lambda: neighbour_gradients(models, x[:32], y[:32])),
            "measured",
        )
    )
    for name, seconds, how in rows:
        print(f"{name:<52} {seconds:9.2f} s  ({how})")
    engine_scaling()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The first-minute lesson over seeds 0-4: ResNet-56 against plain-56 at the lab's defaults.

    python scripts/first_minute.py [--seeds 5] [--steps 60]

For each seed it trains both nets as a lab run does (same seed, same batches, the defaults' warm-up and
clipping) and prints the mean training loss over steps 41-60, the starting loss, and the largest 10-step
moving average after the warm-up, as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_viz.lab.data import batches, synthetic
from resnet_viz.lab.defaults import DEFAULT
from resnet_viz.lab.gradients import TrainStep
from resnet_viz.lab.train import memory_format
from resnet_viz.nets.build import build


def curves(seed: int, steps: int) -> dict[str, list[float]]:
    c = DEFAULT
    data = synthetic(seed=seed)
    fmt = memory_format(c.device)  # the layout the lab's workers train in
    out: dict[str, list[float]] = {}
    for net, spec in c.specs().items():
        torch.manual_seed(seed)
        model = build(spec, device="cpu", batch_size=c.batch_size).to(memory_format=fmt)
        step = TrainStep(model, lr=c.lr, warmup=c.warmup, clip=c.clip)
        feed = batches(data, c.batch_size, seed=seed)
        out[net] = [step.step(x.contiguous(memory_format=fmt), y).loss for x, y in islice(feed, steps)]
    return out


def smooth_max(v: list[float], start: int, w: int = 10) -> float:
    return max(sum(v[max(0, i - w + 1) : i + 1]) / len(v[max(0, i - w + 1) : i + 1]) for i in range(start, len(v)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args()
    cols = ["seed", "ResNet-56 start", "ResNet-56 41-60", "ResNet-56 max MA10", "plain-56 start", "plain-56 41-60"]
    print("| " + " | ".join([*cols, "plain-56 max MA10", "residual lower"]) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in range(a.seeds):
        c = curves(seed, a.steps)
        r, pl = c["residual"], c["plain"]
        rm, pm = sum(r[40:60]) / 20, sum(pl[40:60]) / 20
        w = DEFAULT.warmup
        cells = [r[0], rm, smooth_max(r, w), pl[0], pm, smooth_max(pl, w)]
        print(f"| {seed} | " + " | ".join(f"{v:.3f}" for v in cells) + f" | {rm < pm} |", flush=True)


if __name__ == "__main__":
    main()

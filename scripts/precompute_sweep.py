"""Regenerate the depth-sweep curves the guided tour ships (resnet_viz/assets/sweep_curves.json).

    .venv/bin/python scripts/precompute_sweep.py            # the shipped settings
    .venv/bin/python scripts/precompute_sweep.py --steps 40 --out /tmp/curves.json

It trains the gradient lab's sweep (resnet_viz.sweep: plain and residual CIFAR nets at each depth, same
seed, same batches, the embedded synthetic data set) to the end and writes every net's training loss,
rounded to 4 digits so the file stays small. The tour's "run it live" button runs the same code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_viz.sweep import SweepConfig, SweepRunner  # noqa: E402
from resnet_viz.tour import SHIPPED_SWEEP, SWEEP_FILE, curves_to_json  # noqa: E402


def run(config: SweepConfig) -> dict[str, object]:
    """Train the whole sweep in this process and return the JSON document."""
    runner = SweepRunner(config, idle_timeout=float("inf"))
    runner.start()
    last = -1
    while not runner.join(timeout=2.0):
        snap = runner.snapshot()
        if snap.done // 50 != last:
            last = snap.done // 50
            print(f"{snap.done}/{snap.total} steps", file=sys.stderr, flush=True)
    snap = runner.snapshot()
    if snap.status != "done":
        raise SystemExit(f"error: the sweep ended as {snap.status}: {snap.error}")
    return curves_to_json(config, snap.curves)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depths", default=",".join(map(str, SHIPPED_SWEEP.depths)), help="CIFAR depths, 6n+2")
    p.add_argument("--steps", type=int, default=SHIPPED_SWEEP.steps, help="training steps per net")
    p.add_argument("--batch-size", type=int, default=SHIPPED_SWEEP.batch_size)
    p.add_argument("--seed", type=int, default=SHIPPED_SWEEP.seed)
    p.add_argument("--out", type=Path, default=SWEEP_FILE)
    a = p.parse_args(argv)
    config = dataclasses.replace(
        SHIPPED_SWEEP,
        depths=tuple(int(d) for d in a.depths.split(",")),
        steps=a.steps,
        batch_size=a.batch_size,
        seed=a.seed,
    )
    t0 = time.monotonic()
    doc = run(config)
    a.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {a.out} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

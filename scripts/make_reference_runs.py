"""Train the reference runs that ship with the app into resnet_viz/assets/reference_runs.sqlite.

    python scripts/make_reference_runs.py [--steps N]

They are trained by the lab's own engine and recorded by its own store, so the shipped file is the store's
format; the app copies them into its store on first start (resnet_viz/lab/reference.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_viz.lab.defaults import reference_configs
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.reference import REFERENCE_FILE
from resnet_viz.lab.runs import start_run
from resnet_viz.lab.store import ACTIVE, RunStore


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=None)
    a = p.parse_args()
    store = RunStore(f"sqlite:///{REFERENCE_FILE}")
    engine = Engine("")
    configs = reference_configs()
    if a.steps:
        configs = [c.__class__(**{**c.__dict__, "steps": a.steps}) for c in configs]
    ids = [start_run(store, engine, c, origin="reference") for c in configs]
    while any(store.status(r) in ACTIVE for r in ids):
        for r in ids:
            engine.ensure(store, r)
        print(" | ".join(f"{store.get(r).title} {store.get(r).step}" for r in ids), flush=True)
        time.sleep(10)
    for r in ids:
        print(r, store.get(r).status)
    engine.close()


if __name__ == "__main__":
    main()

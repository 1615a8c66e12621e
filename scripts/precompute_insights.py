"""Compute the Insights page's experiments at its default settings for the shipped reference runs, into their store.

    python scripts/precompute_insights.py [--kinds landscape,lesion,erf,responses,neighbours] [--depths 56]

The jobs run in the lab's own engine (an embedded cluster, or $RESNET_VIZ_SCHEDULER) and are recorded by the jobs
themselves in resnet_viz/assets/reference_runs.sqlite, which the app copies into its store on first start
(resnet_viz/lab/reference.py), so the page shows them at once. Results already there are kept; pieces finished
before an interruption are reused. The shattered-gradient toy nets need no run: the page computes them itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_viz.lab.engine import Engine
from resnet_viz.lab.insights.kinds import KINDS, Kind
from resnet_viz.lab.insights.service import Done, Failed, Pending, request
from resnet_viz.lab.reference import REFERENCE_FILE
from resnet_viz.lab.store import RunStore


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, default all")
    p.add_argument("--depths", default="", help="only the reference runs of these depths, e.g. 56 (default all)")
    p.add_argument("--store", default=str(REFERENCE_FILE), help="the SQLite file of the reference runs")
    a = p.parse_args()
    kinds: list[Kind] = [k for k in KINDS if k in a.kinds.split(",")]
    depths = {int(d) for d in a.depths.split(",") if d.strip()}
    store = RunStore(f"sqlite:///{Path(a.store).resolve()}")
    runs = [r for r in store.runs(statuses=("done",)) if r.reference]
    runs = [r for r in runs if not depths or r.config.spec.depth in depths]
    if not runs or not kinds:
        sys.exit(f"error: no finished reference run of depth {sorted(depths) or 'any'} or no known kind in {a.kinds}")
    engine = Engine()
    todo = [(r.id, r.title, k) for r in runs for k in kinds]
    start = time.monotonic()
    try:
        outcomes = {job: request(store, engine, job[0], job[2], {}, retry=True) for job in todo}  # all submitted
        while any(isinstance(o, Pending) for o in outcomes.values()):
            time.sleep(10)
            outcomes = {j: o if not isinstance(o, Pending) else request(store, engine, j[0], j[2], {})
                        for j, o in outcomes.items()}  # fmt: skip
            minutes = (time.monotonic() - start) / 60
            line = " | ".join(
                f"{t} {k} {o.progress:.0%}" for (_, t, k), o in outcomes.items() if isinstance(o, Pending)
            )
            print(f"{minutes:5.1f} min  {line}", flush=True)
    finally:
        engine.close()
    failed = 0
    for (rid, title, kind), o in outcomes.items():
        if isinstance(o, Failed):
            failed += 1
        print(f"{rid} {title} {kind}: {'stored' if isinstance(o, Done) else o.error.message()}")  # type: ignore[union-attr]
    print(f"{(time.monotonic() - start) / 60:.1f} min")
    store.close()  # the last connection folds SQLite's write-ahead log into the file that ships
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

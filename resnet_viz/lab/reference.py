"""Reference runs: trained before class, shipped in the store's own format, copied into the store on first start."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .config import RunConfig
from .store import RunRecord, RunStore

__all__ = ["REFERENCE_FILE", "import_references", "reference_for"]

REFERENCE_FILE: Final = Path(__file__).resolve().parents[1] / "assets" / "reference_runs.sqlite"


def import_references(store: RunStore, source: Path = REFERENCE_FILE) -> int:
    """Copy every finished reference run the app ships into ``store``; returns how many were new."""
    if not source.exists() or store.url == f"sqlite:///{source}":
        return 0
    shipped = RunStore(f"sqlite:///{source}")
    try:
        return sum(shipped.copy_run_to(r.id, store) for r in shipped.runs(statuses=("done",)))
    finally:
        shipped.close()


def reference_for(store: RunStore, config: RunConfig) -> RunRecord | None:
    """The finished reference run with these settings, whatever device and versions trained it."""
    want = {**config.to_dict(), "device": None}
    for run in store.runs(statuses=("done",)):
        if run.reference and {**run.config.to_dict(), "device": None} == want:
            return run
    return None

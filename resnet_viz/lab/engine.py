"""The engine that runs lab work in worker processes: Dask distributed, embedded or on a cluster.

With ``RESNET_VIZ_SCHEDULER`` unset, one ``LocalCluster`` of worker processes starts inside the calling
process (the web server shares one through ``st.cache_resource``). With an address, the engine joins that
scheduler instead. Tasks are keyed by run, net and the time the run was queued, so every client that asks
for the same run gets the same task: Dask computes a key once.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Final

import dask
from distributed import Client, Future, LocalCluster
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from ..errors import UserError
from .config import NETS
from .cores import usable_cores
from .store import ACTIVE, RunStore
from .train import train_net

__all__ = ["MAX_RUNS", "Engine", "EngineError", "worker_split"]

# How many distinct runs train at once: each takes one task slot on each of two workers. More would
# only share the same cores more thinly; the rest wait in the engine's queue.
MAX_RUNS: Final = int(os.environ.get("RESNET_VIZ_MAX_RUNS", "3"))
RESOURCE: Final = "train"  # workers started by scripts/lab-cluster advertise --resources train=N
CONNECT_TIMEOUT: Final = "8s"
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 so freed memory returns to the OS at once. A
# training step frees and reallocates its activations every time, and with that setting each step of ResNet-56
# ran 1.8-3x slower in a worker than in a plain process (measured); None leaves glibc's own threshold. Workers
# started with `dask worker` get the same by MALLOC_TRIM_THRESHOLD_=1073741824 in their environment (DEPLOY.md).
NO_MALLOC_TRIM: Final = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def worker_split(cores: int, workers: int | None = None) -> tuple[int, int]:
    """(workers, torch threads in each) for the embedded cluster: a run's two nets on two workers when there are two
    cores, and workers × threads = cores."""
    n = workers or (2 if cores >= 2 else 1)
    return n, max(1, cores // n)


class EngineError(UserError):
    """The engine did not start, or its scheduler cannot be reached."""

    prefix = "lab.error"


class Engine:
    """A Dask client with the lab's few verbs: ``ensure`` a run's tasks, and ``submit`` an analysis."""

    def __init__(self, address: str | None = None, *, workers: int | None = None) -> None:
        address = os.environ.get("RESNET_VIZ_SCHEDULER", "") if address is None else address
        self.address = address.strip()
        self.cluster: LocalCluster | None = None
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        try:
            if self.address:
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            else:
                n, threads = worker_split(usable_cores(), workers)  # the container's share, not the host's cores
                with dask.config.set(NO_MALLOC_TRIM):
                    self.cluster = self._local(n, threads)
                self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError, ValueError, RuntimeError) as e:
            if self.address:
                raise EngineError("scheduler_unreachable", address=self.address) from e
            raise EngineError("engine_failed", detail=f"{type(e).__name__}: {e}") from e

    @staticmethod
    def _local(n: int, threads: int) -> LocalCluster:
        return LocalCluster(
            n_workers=n,
            threads_per_worker=MAX_RUNS,
            processes=True,
            host="127.0.0.1",  # loopback only
            dashboard_address="127.0.0.1:0",  # its HTTP server (health, metrics) on loopback, any port
            resources={RESOURCE: MAX_RUNS},
            env={"RESNET_VIZ_TORCH_THREADS": str(threads)},
            silence_logs=logging.ERROR,
        )

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def _resources(self) -> dict[str, int] | None:
        info = self.client.scheduler_info(n_workers=-1)["workers"].values()
        return {RESOURCE: 1} if any(RESOURCE in w.get("resources", {}) for w in info) else None

    def ensure(self, store: RunStore, rid: str) -> None:
        """Give each unfinished net of an active run a training task, unless one is pending already.

        A task lost with its worker is retried by Dask itself; one that failed for good ends the run with
        one sentence. Calling this again is cheap, so pages call it on every poll.
        """
        run = store.get(rid)
        if run.status not in ACTIVE:
            return
        workers = self.workers()
        offset = int(rid[:8], 16)
        for i, net in enumerate(NETS):
            if run.nets[net].done:
                continue
            key = f"train-{rid}-{net}-{int(run.queued * 1000)}"
            with self._lock:
                fut = self._futures.get(key)
                if fut is not None and not fut.done():
                    continue
                if fut is not None and fut.status == "error":
                    self._failed(store, rid, fut)
                    return
                # the two nets of a run go to two different workers, so they train at once
                place = [workers[(offset + i) % len(workers)]] if workers else None
                self._futures[key] = self.client.submit(
                    train_net, rid, net, store.url, key=key, workers=place, allow_other_workers=True,
                    resources=self._resources(), pure=False,
                )  # fmt: skip
        self._forget_done()

    def _failed(self, store: RunStore, rid: str, fut: Future[Any]) -> None:
        try:
            exc = fut.exception(timeout=1)
        except FutureCancelledError:
            return
        if isinstance(exc, KilledWorker):
            store.set_status(rid, "failed", only_from=ACTIVE, error_code="lab.error.worker_lost")
        else:  # train_net recorded its own failure; keep the traceback in the server's log
            logging.getLogger(__name__).error("lab task for run %s failed", rid, exc_info=exc)
            store.set_status(rid, "failed", only_from=ACTIVE, error_code="lab.error.internal", detail=repr(exc))

    def _forget_done(self) -> None:
        with self._lock:
            for key in [k for k, f in self._futures.items() if k.startswith("train-") and f.status == "finished"]:
                self._futures.pop(key).release()

    def wait(self, store: RunStore, rid: str, *, poll: float = 1.0, on_poll: Callable[[], None] | None = None) -> None:
        """Block until the run is no longer active (for the CLI), re-ensuring its tasks as it goes."""
        import time

        while store.status(rid) in ACTIVE:
            self.ensure(store, rid)
            if on_poll is not None:
                on_poll()
            time.sleep(poll)

    def compute(self, fn: Callable[..., Any], *args: Any, key: str) -> Future[Any]:
        """Run an analysis in a worker under ``key``: the same key asked twice is one computation."""
        with self._lock:
            fut = self._futures.get(key)
            if fut is None or fut.status in ("error", "cancelled"):
                fut = self.client.submit(fn, *args, key=key, pure=False)
                self._futures[key] = fut
            return fut

    def release(self, key: str) -> None:
        with self._lock:
            fut = self._futures.pop(key, None)
        if fut is not None:
            fut.release()

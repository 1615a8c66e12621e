"""The engine that runs lab work in worker processes: Dask distributed, embedded or on a cluster.

With ``RESNET_VIZ_SCHEDULER`` unset, one ``LocalCluster`` of worker processes starts inside the calling
process (the web server shares one through ``st.cache_resource``). With an address, the engine joins that
scheduler instead.

Training goes in slices (``train.train_slice``: a few seconds of one net), each a task. A slice that ends with its
net unfinished submits the next one from its worker, fire-and-forget, with a priority of the time it was
submitted: it queues behind every slice already waiting, so the runs that train at once take turns, whatever the
number of workers and cores (issue 23). Each net's slices stay on one worker, which keeps the net in memory
between them; work stealing is off, since a stolen slice would rebuild its net from the checkpoint.
A slice's key is its run, net, the time the run was queued and the step it starts from, which is the store's
step for that net (it moves only when a slice ends): every client that ensures a run asks for the slice that
is due, and Dask computes a key once. At most ``MAX_RUNS`` runs train at once; the others wait in line
(``queue``), and a page's poll starts a run when its turn comes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import dask
from distributed import Client, Future, LocalCluster, fire_and_forget, get_client, get_worker
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from ..errors import UserError
from .config import NETS, NetName
from .cores import usable_cores
from .queue import MAX_RUNS, waiting_line
from .store import ACTIVE, RunStore
from .train import Budget, stop_if_idle, train_slice

__all__ = ["MAX_RUNS", "Engine", "EngineError", "slice_key", "worker_split"]

RESOURCE: Final = "train"  # workers advertise --resources train=N: N slices at once (the embedded cluster: 1)
CONNECT_TIMEOUT: Final = "8s"
# Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 so freed memory returns to the OS at once. A
# training step frees and reallocates its activations every time, and with that setting each step of ResNet-56
# ran 1.8-3x slower in a worker than in a plain process (measured); None leaves glibc's own threshold. Workers
# started with `dask worker` get the same by MALLOC_TRIM_THRESHOLD_=1073741824 in their environment (DEPLOY.md).
NO_MALLOC_TRIM: Final = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
# A slice stays with the worker that holds its net; a stolen one would rebuild the net from its checkpoint.
NO_STEALING: Final = {"distributed.scheduler.work-stealing": False}


def slice_key(rid: str, net: str, queued: float, start: int) -> str:
    """The task key of the slice of ``net`` that starts at step ``start``, for the run as queued at ``queued``."""
    return f"train-{rid}-{net}-{int(queued * 1000)}-{start}"


def _submit_slice(
    client: Client, rid: str, net: NetName, url: str, start: int, queued: float, budget: Budget,
    resources: dict[str, int] | None, worker: str | None,
) -> Future[Any]:  # fmt: skip
    """A slice task: behind every slice already waiting (priority: earlier first), on the worker holding its net."""
    return client.submit(
        _slice_then_next, rid, net, url, start, queued, budget, resources, key=slice_key(rid, net, queued, start),
        workers=[worker] if worker else None, allow_other_workers=True, resources=resources, pure=False,
        priority=-int(time.time() * 1000),
    )  # fmt: skip


def _slice_then_next(
    rid: str, net: NetName, url: str, start: int, queued: float, budget: Budget, resources: dict[str, int] | None
) -> int | None:
    """The task: one slice, then the next one queued from this worker (fire-and-forget: it lives in the cluster,
    whatever happens to the client that asked for the first)."""
    reached = train_slice(rid, net, url, start, budget)
    if reached is not None:
        fire_and_forget(
            _submit_slice(get_client(), rid, net, url, reached, queued, budget, resources, get_worker().address)
        )
    return reached


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

    def __init__(
        self, address: str | None = None, *, workers: int | None = None, budget: Budget | None = None,
        max_runs: int = MAX_RUNS,
    ) -> None:  # fmt: skip
        address = os.environ.get("RESNET_VIZ_SCHEDULER", "") if address is None else address
        self.address = address.strip()
        self.cluster: LocalCluster | None = None
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}
        self.budget = budget or Budget()
        self.max_runs = max_runs
        try:
            if self.address:
                self.client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            else:
                n, threads = worker_split(usable_cores(), workers)  # the container's share, not the host's cores
                with dask.config.set({**NO_MALLOC_TRIM, **NO_STEALING}):
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
            threads_per_worker=2,  # one trains a slice; the other runs an analysis (insights) meanwhile
            processes=True,
            host="127.0.0.1",  # loopback only
            dashboard_address="127.0.0.1:0",  # its HTTP server (health, metrics) on loopback, any port
            resources={RESOURCE: 1},  # one slice at a time, on all of the worker's torch threads
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
        """Give each unfinished net of an active run its due slice, when the run's turn has come.

        The slice due is the one that starts at the net's step in the store; while a chain of slices goes on in
        the cluster, asking for it again is answered by the same task. A chain that ended without finishing (its
        worker lost too often, its engine gone with the process that ran it) starts again from there. A task that
        failed for good ends the run with one sentence. Cheap: pages call this on every poll.
        """
        run = store.get(rid)
        if run.status not in ACTIVE:
            return
        self._sweep_idle(store)
        if rid not in waiting_line(store, slots=self.max_runs)[0]:
            return  # its turn has not come: the page says where it is in line
        workers = self.workers()
        offset = int(rid[:8], 16)
        resources = self._resources()
        for i, net in enumerate(NETS):
            if run.nets[net].done:
                continue
            start = run.nets[net].step
            key = slice_key(rid, net, run.queued, start)
            with self._lock:
                fut = self._futures.get(key)
                if fut is not None and not fut.done():
                    continue
                if fut is not None and fut.status == "error":
                    self._failed(store, rid, fut)
                    return
                # the two nets of a run go to two different workers, so they train at once
                place = workers[(offset + i) % len(workers)] if workers else None
                self._futures[key] = _submit_slice(
                    self.client, rid, net, store.url, start, run.queued, self.budget, resources, place
                )
        self._forget_done()

    @staticmethod
    def _sweep_idle(store: RunStore) -> None:
        """Web runs nobody has watched for ``IDLE_S`` stop, so they hold no place in line (Start resumes them)."""
        for run in store.runs(statuses=ACTIVE):
            stop_if_idle(store, run)

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

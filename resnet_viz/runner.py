"""A background runner that trains a residual net and its plain twin on identical batches, read by snapshots."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Final, Literal

import torch

from .build import build
from .data import DatasetName, ImageSet, batches, load_dataset
from .errors import UserError
from .gradients import Optimizer, StepStats, TrainStep
from .lab.history import NetHistory
from .spec import ResNetSpec

__all__ = [
    "IDLE_TIMEOUT_S",
    "NETS",
    "BackgroundJob",
    "NetHistory",
    "NetName",
    "PairRunner",
    "RunConfig",
    "Snapshot",
    "Status",
    "TrainingError",
]

NetName = Literal["residual", "plain"]
NETS: Final[tuple[NetName, ...]] = ("residual", "plain")
Status = Literal["idle", "loading", "running", "paused", "done", "stopped", "diverged", "failed"]
# A run nobody has looked at for this long (tab closed, page left) stops itself.
IDLE_TIMEOUT_S: Final = 60.0


class TrainingError(UserError):
    """A run that cannot go on because of what a person chose (a learning rate that diverges, a dataset)."""


class BackgroundJob:
    """A daemon thread with stop, pause/resume and an idle watchdog; subclasses define ``_work``.

    ``_work`` calls ``checkpoint()`` between short units of work: it returns False when the job must end
    (stop requested, or nobody called ``touch()`` for ``idle_timeout`` seconds) and blocks while paused.
    """

    def __init__(self, *, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._last_read = time.monotonic()
        self._thread: threading.Thread | None = None
        self.status: Status = "idle"
        self.error: UserError | None = None
        self.idle_stopped = False

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a job starts once")
        self.status = "loading"
        self._thread = threading.Thread(target=self._main, name=type(self).__name__, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        try:
            self._work()
        except UserError as e:
            self.error, self.status = e, "failed"
        except Exception as e:  # an internal bug: kept for the page to show, never swallowed silently
            self.error, self.status = TrainingError("grad_internal", detail=f"{type(e).__name__}: {e}"), "failed"
            raise
        finally:
            self._resume.set()

    def _work(self) -> None:
        raise NotImplementedError

    def checkpoint(self) -> bool:
        """True to go on; False when the job must end. Waits here while paused."""
        while True:
            if self._stop.is_set():
                return False
            if time.monotonic() - self._last_read > self.idle_timeout:
                self.idle_stopped = True
                return False
            if self._resume.wait(0.1):
                return not self._stop.is_set()
            self.status = "paused"

    def touch(self) -> None:
        """Someone is still watching: resets the idle watchdog."""
        self._last_read = time.monotonic()

    def pause(self) -> None:
        self._resume.clear()
        if self.status == "running":
            self.status = "paused"

    def resume(self) -> None:
        self.touch()
        if self.status == "paused":
            self.status = "running"
        self._resume.set()

    def stop(self) -> None:
        self._stop.set()
        self._resume.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _finish(self, completed: bool) -> None:
        if self.status in ("diverged", "failed"):
            return
        self.status = "done" if completed else "stopped"


@dataclass(frozen=True)
class RunConfig:
    """What the lab trains: ``spec`` is the residual net; its plain twin is ``spec.twin()``."""

    spec: ResNetSpec
    optimizer: Optimizer = "sgd"
    lr: float = 0.1
    batch_size: int = 32
    steps: int = 300
    seed: int = 0
    dataset: DatasetName = "synthetic"
    folder: str = ""  # the ImageFolder under the data root, for dataset "folder"
    device: str = "cpu"
    warmup: int = 0  # steps over which the learning rate ramps from lr/10 to lr


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a run at one moment; reading it never waits for training."""

    status: Status
    step: int
    total: int
    nets: dict[NetName, NetHistory]
    error: UserError | None
    steps_per_s: float
    batch_norm: bool
    idle_stopped: bool = False


@dataclass
class _Live:
    title: str
    names: tuple[str, ...] = ()
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    norms: list[tuple[float, ...]] = field(default_factory=list)


class PairRunner(BackgroundJob):
    """Trains ``config.spec`` and its plain twin in one thread: same seed, same batches, step by step."""

    def __init__(self, config: RunConfig, *, data: ImageSet | None = None, idle_timeout: float = IDLE_TIMEOUT_S):
        super().__init__(idle_timeout=idle_timeout)
        self.config = config
        self._data = data
        residual = config.spec.replace(plain=False)
        self.specs: dict[NetName, ResNetSpec] = {"residual": residual, "plain": residual.twin()}
        self._live = {n: _Live(title=s.title) for n, s in self.specs.items()}
        self._step = 0
        self._rate = 0.0

    def snapshot(self) -> Snapshot:
        """The run so far (and a sign of life for the watchdog)."""
        self.touch()
        with self._lock:
            nets = {
                n: NetHistory(n, v.title, v.names, tuple(v.loss), tuple(v.accuracy), tuple(v.norms))
                for n, v in self._live.items()
            }
            step = self._step
        return Snapshot(
            status=self.status,
            step=step,
            total=self.config.steps,
            nets=nets,
            error=self.error,
            steps_per_s=self._rate,
            batch_norm=self.config.spec.batch_norm,
            idle_stopped=self.idle_stopped,
        )

    def _build(self, data: ImageSet) -> dict[NetName, TrainStep]:
        c = self.config
        steps: dict[NetName, TrainStep] = {}
        for name, spec in self.specs.items():
            torch.manual_seed(c.seed)  # both nets start from the same draw (same weights where shapes agree)
            model = build(
                spec.replace(num_classes=data.num_classes),
                device=c.device,
                input_size=(data.images.shape[-2], data.images.shape[-1]),
                batch_size=c.batch_size,
            )
            steps[name] = TrainStep(model, optimizer=c.optimizer, lr=c.lr, warmup=c.warmup)
        return steps

    def _work(self) -> None:
        c = self.config
        data = self._data if self._data is not None else load_dataset(c.dataset, folder=c.folder, seed=c.seed)
        trainers = self._build(data)
        with self._lock:
            for name, tr in trainers.items():
                self._live[name].names = tuple(tr.names)
        self.status = "running"
        feed = batches(data, c.batch_size, seed=c.seed)
        dev = torch.device(c.device)
        t0 = time.monotonic()
        for step in range(1, c.steps + 1):
            if not self.checkpoint():
                return self._finish(False)
            self.status = "running"
            x, y = next(feed)
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)  # one batch for both nets
            for name, tr in trainers.items():
                if name == "plain" and not self.checkpoint():  # stop lands between the two nets too
                    return self._finish(False)
                stats = tr.step(x, y)
                if not stats.finite:
                    self._diverged(name, step, stats)
                    return None
                self._record(name, stats)
            with self._lock:
                self._step = step
            self._rate = step / max(time.monotonic() - t0, 1e-9)
        return self._finish(True)

    def _record(self, name: NetName, stats: StepStats) -> None:
        with self._lock:
            live = self._live[name]
            live.loss.append(stats.loss)
            live.accuracy.append(stats.accuracy)
            live.norms.append(stats.norms)

    def _diverged(self, name: NetName, step: int, stats: StepStats) -> None:
        self.error = TrainingError("grad_diverged", net=self.specs[name].title, step=step, loss=stats.loss)
        self.status = "diverged"

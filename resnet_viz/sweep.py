"""Depth sweep: plain and residual nets at several depths, trained in turn (He et al. 2015 Fig. 6, small)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from .build import build
from .data import DatasetName, ImageSet, batches, load_dataset
from .gradients import Optimizer, TrainStep
from .runner import IDLE_TIMEOUT_S, BackgroundJob, Status, TrainingError
from .spec import ResNetSpec, cifar_spec

__all__ = ["SweepConfig", "SweepCurve", "SweepRunner", "SweepSnapshot", "sweep_specs"]


@dataclass(frozen=True)
class SweepConfig:
    depths: tuple[int, ...] = (20, 56)
    batch_norm: bool = True
    optimizer: Optimizer = "sgd"
    lr: float = 0.1
    batch_size: int = 32
    steps: int = 100  # per net
    seed: int = 0
    dataset: DatasetName = "synthetic"
    folder: str = ""
    device: str = "cpu"


@dataclass(frozen=True)
class SweepCurve:
    """The training loss of one net of the sweep, step by step."""

    depth: int
    plain: bool
    title: str
    loss: tuple[float, ...]


@dataclass(frozen=True)
class SweepSnapshot:
    status: Status
    done: int  # steps trained, over all nets
    total: int
    seconds_left: float | None
    curves: tuple[SweepCurve, ...]
    error: TrainingError | None


def sweep_specs(depths: tuple[int, ...], *, batch_norm: bool = True) -> list[ResNetSpec]:
    """Plain then residual CIFAR nets (6n+2) at each depth, shallow first."""
    return [cifar_spec(d, batch_norm=batch_norm, plain=p) for d in sorted(set(depths)) for p in (True, False)]


@dataclass
class _Curve:
    spec: ResNetSpec
    loss: list[float] = field(default_factory=list)


class SweepRunner(BackgroundJob):
    """Trains every net of the sweep for ``steps`` on the same batches from the same seed, one after another."""

    def __init__(self, config: SweepConfig, *, data: ImageSet | None = None, idle_timeout: float = IDLE_TIMEOUT_S):
        super().__init__(idle_timeout=idle_timeout)
        self.config = config
        self._data = data
        self._curves = [_Curve(s) for s in sweep_specs(config.depths, batch_norm=config.batch_norm)]
        self._done = 0
        self._t0: float | None = None

    @property
    def total(self) -> int:
        return len(self._curves) * self.config.steps

    def snapshot(self) -> SweepSnapshot:
        self.touch()
        with self._lock:
            curves = tuple(SweepCurve(c.spec.depth, c.spec.plain, c.spec.title, tuple(c.loss)) for c in self._curves)
            done = self._done
        left = None
        if self._t0 is not None and done:
            left = (time.monotonic() - self._t0) / done * (self.total - done)
        err = self.error if isinstance(self.error, TrainingError) or self.error is None else None
        return SweepSnapshot(self.status, done, self.total, left, curves, err)

    def _work(self) -> None:
        c = self.config
        data = self._data if self._data is not None else load_dataset(c.dataset, folder=c.folder, seed=c.seed)
        self.status = "running"
        self._t0 = time.monotonic()
        for curve in self._curves:
            torch.manual_seed(c.seed)
            model = build(curve.spec.replace(num_classes=data.num_classes), device=c.device, batch_size=c.batch_size)
            trainer = TrainStep(model, optimizer=c.optimizer, lr=c.lr)
            feed = batches(data, c.batch_size, seed=c.seed)  # every net sees the same batches
            for step in range(1, c.steps + 1):
                if not self.checkpoint():
                    return self._finish(False)
                self.status = "running"
                x, y = next(feed)
                stats = trainer.step(x.to(c.device), y.to(c.device))
                if not stats.finite:
                    self.error = TrainingError("grad_diverged", net=curve.spec.title, step=step, loss=stats.loss)
                    self.status = "diverged"
                    return None
                with self._lock:
                    curve.loss.append(stats.loss)
                    self._done += 1
        return self._finish(True)

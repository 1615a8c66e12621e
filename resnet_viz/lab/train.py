"""The training a worker does: one slice of one net of a run, a few steps long, recorded when it ends.

A run's two nets train as two chains of slices (the engine hands each slice to a worker and queues the next
behind every other run's, so runs started together share the workers in turn). Both nets see identical batches
because both draw them from the same seeded sequence, so neither waits for the other. A slice:
- continues the net where the worker left it after the previous slice (the net, its optimizer and its batch
  sequence stay in the worker's memory between slices);
- on a worker that does not hold the net (a new worker after one died, say), rebuilds it from the run's seed,
  restores its latest checkpoint and trains the steps after the checkpoint again, identically, without
  recording them twice; the store keeps a record of where it resumed from (``resumed``);
- trains for ``SLICE_S`` seconds (or a number of steps), then appends its steps to the store in one
  transaction, and a checkpoint every ``CHECKPOINT_S``;
- ends the chain when the run is stopped, diverges, is finished, or nobody has watched a web run for ``IDLE_S``.
The store's step of a net therefore moves only when a slice ends: the engine keys the next slice by it.
"""

from __future__ import annotations

import functools
import io
import math
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import torch
from safetensors.torch import save as safetensors_save

from ..errors import UserError
from ..nets.build import build
from ..nets.resnet import seeded
from .config import NetName, RunConfig
from .cores import usable_cores
from .data import ImageSet, batches, load_dataset
from .gradients import TrainStep
from .store import ACTIVE, MetricRow, RunRecord, RunStore, StoreError

__all__ = [
    "CHECKPOINT_S",
    "IDLE_S",
    "SLICE_S",
    "Budget",
    "Resume",
    "load_final",
    "memory_format",
    "stop_if_idle",
    "train_slice",
]

# A slice's length: long enough that handing it over costs little (a task and one transaction, a few ms),
# short enough that the page's plots move every few seconds and runs take turns often.
SLICE_S: Final = float(os.environ.get("RESNET_VIZ_SLICE_S", "1"))
CHECKPOINT_S: Final = float(os.environ.get("RESNET_VIZ_CHECKPOINT_S", "20"))
IDLE_S: Final = float(os.environ.get("RESNET_VIZ_IDLE_S", "60"))  # a web run nobody watches stops after this


@functools.lru_cache(maxsize=4)
def _data(dataset: str, folder: str, seed: int) -> ImageSet:
    return load_dataset(dataset, folder=folder, seed=seed)  # type: ignore[arg-type]


def _threads() -> int:
    """Torch threads for this worker: $RESNET_VIZ_TORCH_THREADS, else the usable cores shared by two workers."""
    env = os.environ.get("RESNET_VIZ_TORCH_THREADS")
    return int(env) if env else max(1, usable_cores() // 2)


def memory_format(device: str) -> torch.memory_format:
    """Channels-last on the CPU: oneDNN's convolutions ran ResNet-56's steps about 1.2x faster in it on 2 cores
    (``python -m benchmarks lab``). Elsewhere the default layout. A step agrees with the default layout's to
    float rounding (tests/test_lab_engine.py), and those differences grow over SGD steps, so an oracle that
    replays a run trains in this layout too."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


def _trainer(config: RunConfig, net: NetName, data: ImageSet) -> TrainStep:
    with seeded(config.seed):  # both nets start from the same draw (same weights where shapes agree)
        model = build(
            config.specs()[net].replace(num_classes=data.num_classes),
            device=config.device,
            input_size=(data.images.shape[-2], data.images.shape[-1]),
            batch_size=config.batch_size,
        )
    model = model.to(memory_format=memory_format(config.device))
    return TrainStep(model, optimizer=config.optimizer, lr=config.lr, warmup=config.warmup, clip=config.clip)


def _checkpoint(trainer: TrainStep, step: int) -> bytes:
    state = {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "schedule": trainer.schedule.state_dict() if trainer.schedule is not None else {},
        "step": step,
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def _restore(trainer: TrainStep, blob: bytes, device: str) -> int:
    state = torch.load(io.BytesIO(blob), map_location=device, weights_only=True)  # never unpickles code
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.schedule is not None and state["schedule"]:
        trainer.schedule.load_state_dict(state["schedule"])
    return int(state["step"])


def load_final(store: RunStore, rid: str, net: NetName) -> torch.nn.Module:
    """A finished run's trained net, rebuilt from its config and its safetensors weights (eval mode, CPU)."""
    from safetensors.torch import load as safetensors_load

    run = store.get(rid)
    blob = store.get_blob(rid, net, "final")
    if run.status != "done" or blob is None:
        raise StoreError("run_not_finished", run=rid, status=run.status)
    data = _data(run.config.dataset, run.config.folder, run.config.seed)
    spec = run.config.specs()[net].replace(num_classes=data.num_classes)
    model = build(spec, device="cpu", input_size=(data.images.shape[-2], data.images.shape[-1]))
    model.load_state_dict(safetensors_load(blob[1]))
    return model.eval()


def stop_if_idle(store: RunStore, run: RunRecord) -> bool:
    """Stop ``run`` when it is a web run nobody has watched for IDLE_S (CLI, reference and "keep" runs go on);
    True if it is idle."""
    if run.keep or run.reference:
        return False
    seen = store.last_seen(run.id) or run.queued
    if time.time() - seen <= IDLE_S:
        return False
    store.set_status(run.id, "stopped", only_from=ACTIVE, error_code="lab.error.idle", minutes=round(IDLE_S / 60, 1))
    return True


@dataclass(frozen=True)
class Budget:
    """How long one slice trains: ``seconds`` of training, or ``steps`` steps when that comes first (0: no cap)."""

    seconds: float = SLICE_S
    steps: int = 0


@dataclass(frozen=True)
class Resume:
    """Where a worker that did not hold a net took it up: the checkpoint's step, and the step it was asked for."""

    net: NetName
    checkpoint: int
    at: int
    worker: str


@dataclass
class _Live:
    """A net a worker keeps between slices: its trainer, its batch sequence, and how far both are."""

    trainer: TrainStep
    feed: Iterator[tuple[torch.Tensor, torch.Tensor]]
    step: int
    checkpointed: float  # time.monotonic() of its latest checkpoint
    rate_from: tuple[float, int]  # (time.monotonic(), step) where this worker's stretch of training began


# The nets this worker process holds between slices, the most recently used last. Runs train MAX_RUNS at a time,
# two nets each, and a worker usually holds about half of them; a few more keep a run that was pushed out cheap.
_LIVE: OrderedDict[tuple[str, NetName], _Live] = OrderedDict()
LIVE_MAX: Final = int(os.environ.get("RESNET_VIZ_LIVE_NETS", "8"))


def train_slice(rid: str, net: NetName, url: str, start: int, budget: Budget = Budget()) -> int | None:
    """Train one slice of one net of run ``rid`` from step ``start``; the step it reached when the net should go on,
    None when its chain ends (finished, stopped, diverged, failed, or a stale slice whose step was taken)."""
    store = RunStore(url)
    try:
        return _slice(store, rid, net, start, budget)
    except UserError as e:  # a dataset that is missing, say: the run ends with that sentence
        _LIVE.pop((rid, net), None)
        store.set_status(rid, "failed", only_from=ACTIVE, error=e)
        return None
    except Exception as e:  # an internal bug: recorded for the page, and raised for the engine's log
        _LIVE.pop((rid, net), None)
        store.set_status(rid, "failed", only_from=ACTIVE, error_code="lab.error.internal",
                         detail=f"{type(e).__name__}: {e}")  # fmt: skip
        raise
    finally:
        store.close()


def _take_up(store: RunStore, rid: str, net: NetName, config: RunConfig, start: int) -> _Live:
    """The net at step ``start``: the one this worker holds, else rebuilt from its checkpoint and trained up to
    ``start`` again (those steps are recorded already: they are not recorded twice)."""
    live = _LIVE.pop((rid, net), None)
    if live is not None and live.step == start:
        _LIVE[(rid, net)] = live
        return live
    torch.set_num_threads(_threads())
    data = _data(config.dataset, config.folder, config.seed)
    trainer = _trainer(config, net, data)
    step = 0
    saved = store.get_blob(rid, net, "checkpoint")
    if saved is not None and saved[0] <= start:
        step = _restore(trainer, saved[1], config.device)
    feed = batches(data, config.batch_size, seed=config.seed)
    for _ in range(step):  # the same batch sequence as an uninterrupted run
        next(feed)
    if start > 0:
        host = socket.gethostname()
        store.put_result(rid, "resumed", f"{net}-{time.time():.6f}", Resume(net, step, start, host).__dict__)
    dev, fmt = torch.device(config.device), memory_format(config.device)
    for _ in range(step, start):  # the steps after the checkpoint, again: identical to those recorded
        x, y = next(feed)
        trainer.step(x.to(dev, memory_format=fmt), y.to(dev))
    store.set_layers(rid, net, trainer.names, worker=socket.gethostname())
    now = time.monotonic()
    live = _Live(trainer, feed, start, checkpointed=now, rate_from=(now, start))
    _LIVE[(rid, net)] = live
    while len(_LIVE) > LIVE_MAX:
        _LIVE.popitem(last=False)
    return live


def _slice(store: RunStore, rid: str, net: NetName, start: int, budget: Budget) -> int | None:
    run = store.get(rid)
    if run.nets[net].done or run.status not in ACTIVE or stop_if_idle(store, run):
        _park(store, rid, net)
        return None
    if run.nets[net].step != start:  # a slice asked for twice: another one took this step already
        return None
    config = run.config
    live = _take_up(store, rid, net, config, start)
    store.set_status(rid, "running", only_from=("queued",))
    dev, fmt = torch.device(config.device), memory_format(config.device)
    rows: list[MetricRow] = []
    end = config.steps if budget.steps <= 0 else min(config.steps, start + budget.steps)
    seconds = budget.seconds if budget.seconds > 0 else math.inf
    t0 = time.monotonic()
    step = start
    while step < end and (step == start or time.monotonic() - t0 < seconds):
        x, y = next(live.feed)
        step += 1
        stats = live.trainer.step(x.to(dev, memory_format=fmt, non_blocking=True), y.to(dev, non_blocking=True))
        if not stats.finite:
            store.append(rid, net, rows, rate=0.0)
            _LIVE.pop((rid, net), None)
            store.set_status(rid, "diverged", only_from=ACTIVE, error_code="lab.error.diverged",
                             net=run.nets[net].title, step=step, loss=str(stats.loss))  # fmt: skip
            return None
        rows.append(MetricRow(step, stats.loss, stats.accuracy, stats.norms))
    live.step = step
    now = time.monotonic()
    since, first = live.rate_from
    store.append(rid, net, rows, rate=(step - first) / max(now - since, 1e-9))  # wall-clock: turns waited count
    if step >= config.steps:
        weights = {k: v.detach().cpu().contiguous() for k, v in live.trainer.model.state_dict().items()}
        store.put_blob(rid, net, "final", config.steps, safetensors_save(weights))
        store.mark_net_done(rid, net)
        store.drop_blob(rid, net, "checkpoint")  # the final weights replace it
        _LIVE.pop((rid, net), None)
        return None
    if now - live.checkpointed >= CHECKPOINT_S:
        store.put_blob(rid, net, "checkpoint", step, _checkpoint(live.trainer, step))
        live.checkpointed = now
    return step


def _park(store: RunStore, rid: str, net: NetName) -> None:
    """The chain ends while the net is unfinished (stopped, idle): a checkpoint where it is, so Start resumes it."""
    store.append(rid, net, [], rate=0.0)  # it trains no more: the page's rate says so
    live = _LIVE.pop((rid, net), None)
    run = store.get(rid)
    if live is None or run.nets[net].done or run.status != "stopped":  # only a stopped run can be resumed
        return
    saved = store.get_blob(rid, net, "checkpoint")
    if saved is None or saved[0] < live.step:
        store.put_blob(rid, net, "checkpoint", live.step, _checkpoint(live.trainer, live.step))

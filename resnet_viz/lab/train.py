"""The training task a worker runs: one net of a run, resumed from its checkpoint, recorded step by step.

A run's two nets train as two tasks, usually on two worker processes at once. They see identical batches
because both draw them from the same seeded sequence, so neither waits for the other. Each task:
- builds its net from the run's seed (both nets start from the same draw where shapes agree);
- resumes from its latest checkpoint in the store, forgetting the steps recorded after it;
- writes its metrics to the store at least twice a second, and a checkpoint every ``checkpoint_s``;
- stops when the run is stopped, diverges, or nobody has watched a web run for ``IDLE_S``.
"""

from __future__ import annotations

import functools
import io
import os
import socket
import time
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
from .store import ACTIVE, MetricRow, RunStore, StoreError

__all__ = ["CHECKPOINT_S", "FLUSH_S", "IDLE_S", "load_final", "memory_format", "train_net"]

FLUSH_S: Final = 0.5  # metrics reach the store this often, so plots can refresh every second
CHECK_S: Final = 2.0  # how often the task looks at the run's status and its watchers
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


def _should_stop(store: RunStore, rid: str, keep: bool) -> bool:
    """True when the run was stopped, diverged or failed, or a web run has gone unwatched for IDLE_S."""
    run = store.get(rid)
    if run.status not in ACTIVE:
        return True
    if keep:
        return False
    seen = store.last_seen(rid) or run.queued
    if time.time() - seen > IDLE_S:
        store.set_status(rid, "stopped", only_from=ACTIVE, error_code="lab.error.idle", minutes=round(IDLE_S / 60, 1))
        return True
    return False


def train_net(rid: str, net: NetName, url: str) -> str:
    """Train one net of run ``rid`` to its last step (or until told to stop); returns how it ended."""
    store = RunStore(url)
    try:
        return _train(store, rid, net)
    except UserError as e:  # a dataset that is missing, say: the run ends with that sentence
        store.set_status(rid, "failed", only_from=ACTIVE, error=e)
        return "failed"
    except Exception as e:  # an internal bug: recorded for the page, and raised for the engine's log
        store.set_status(rid, "failed", only_from=ACTIVE, error_code="lab.error.internal",
                         detail=f"{type(e).__name__}: {e}")  # fmt: skip
        raise
    finally:
        store.close()


def _train(store: RunStore, rid: str, net: NetName) -> str:
    run = store.get(rid)
    if run.nets[net].done or run.status not in ACTIVE:
        return run.status
    config = run.config
    torch.set_num_threads(_threads())
    data = _data(config.dataset, config.folder, config.seed)
    trainer = _trainer(config, net, data)
    start = 0
    saved = store.get_blob(rid, net, "checkpoint")
    if saved is not None:
        start = _restore(trainer, saved[1], config.device)
    store.truncate(rid, net, start)  # steps recorded after the checkpoint are trained again, identically
    store.set_layers(rid, net, trainer.names, worker=socket.gethostname())
    store.set_status(rid, "running", only_from=("queued",))
    feed = batches(data, config.batch_size, seed=config.seed)
    for _ in range(start):  # the same batch sequence as an uninterrupted run
        next(feed)
    dev, fmt = torch.device(config.device), memory_format(config.device)
    pending: list[MetricRow] = []
    t0 = last_flush = last_check = last_ckpt = time.monotonic()
    for step in range(start + 1, config.steps + 1):
        x, y = next(feed)
        stats = trainer.step(x.to(dev, memory_format=fmt, non_blocking=True), y.to(dev, non_blocking=True))
        if not stats.finite:
            store.append(rid, net, pending, rate=0.0)
            store.set_status(rid, "diverged", only_from=ACTIVE, error_code="lab.error.diverged",
                             net=run.nets[net].title, step=step, loss=str(stats.loss))  # fmt: skip
            return "diverged"
        pending.append(MetricRow(step, stats.loss, stats.accuracy, stats.norms))
        now = time.monotonic()
        if now - last_flush >= FLUSH_S:
            store.append(rid, net, pending, rate=(step - start) / (now - t0))
            pending, last_flush = [], now
        if now - last_ckpt >= CHECKPOINT_S:
            store.append(rid, net, pending, rate=(step - start) / max(now - t0, 1e-9))
            pending = []
            store.put_blob(rid, net, "checkpoint", step, _checkpoint(trainer, step))
            last_ckpt = now
        if now - last_check >= CHECK_S:
            last_check = now
            if _should_stop(store, rid, run.keep):
                store.append(rid, net, pending, rate=0.0)
                store.put_blob(rid, net, "checkpoint", step, _checkpoint(trainer, step))
                return store.status(rid)
    store.append(rid, net, pending, rate=(config.steps - start) / max(time.monotonic() - t0, 1e-9))
    weights = {k: v.detach().cpu().contiguous() for k, v in trainer.model.state_dict().items()}
    store.put_blob(rid, net, "final", config.steps, safetensors_save(weights))
    store.mark_net_done(rid, net)
    store.drop_blob(rid, net, "checkpoint")  # the final weights replace it
    return store.status(rid)

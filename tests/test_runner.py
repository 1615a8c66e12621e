"""The background runner: identical batches and seeds, stop, pause, NaN, the idle watchdog, the depth sweep."""

from __future__ import annotations

import time

import pytest
import torch

from resnet_viz import build, cifar_spec
from resnet_viz.data import ImageSet, batches, synthetic
from resnet_viz.gradients import TrainStep
from resnet_viz.runner import PairRunner, RunConfig
from resnet_viz.sweep import SweepConfig, SweepRunner

DATA = synthetic(64, seed=5)


def _wait(cond, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until ``cond()`` holds (a deadline only guards against hanging; nothing asserts on time)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_runner_trains_both_nets_on_the_same_batches() -> None:
    config = RunConfig(spec=cifar_spec(8), steps=3, batch_size=8, seed=7, device="cpu")
    runner = PairRunner(config, data=DATA)
    runner.start()
    assert runner.join(120)
    snap = runner.snapshot()
    assert snap.status == "done" and snap.step == 3 and snap.error is None
    # oracle: the same two nets trained by hand, same seed, the same batch fed to both
    feed = batches(DATA, 8, seed=7)
    by_hand = {}
    for name, plain in (("residual", False), ("plain", True)):
        torch.manual_seed(7)
        by_hand[name] = TrainStep(build(cifar_spec(8, plain=plain), device="cpu"), optimizer="sgd", lr=0.1)
    expected: dict[str, list[float]] = {"residual": [], "plain": []}
    for _ in range(3):
        x, y = next(feed)
        for name, step in by_hand.items():
            expected[name].append(step.step(x, y).loss)
    for name in ("residual", "plain"):
        assert list(snap.nets[name].loss) == pytest.approx(expected[name], rel=1e-5)
        assert len(snap.nets[name].norms) == 3 and len(snap.nets[name].norms[0]) == 8
    assert snap.nets["plain"].title == "plain-resnet8 (depth 8)"


def test_stop_pause_resume() -> None:
    runner = PairRunner(RunConfig(spec=cifar_spec(8), steps=10**6, batch_size=4, device="cpu"), data=DATA)
    runner.start()
    _wait(lambda: runner.snapshot().step >= 1)
    runner.pause()
    _wait(lambda: runner.status == "paused")
    time.sleep(0.3)  # the thread is blocked in checkpoint(): at most the step in flight lands
    held = runner.snapshot().step
    time.sleep(0.5)
    assert runner.snapshot().step == held and runner.alive
    runner.resume()
    _wait(lambda: runner.snapshot().step > held)
    runner.stop()
    assert runner.join(30)
    assert runner.status == "stopped" and runner.snapshot().step < 10**6


def test_nan_loss_stops_the_run_and_names_the_net_and_step() -> None:
    # batches() shuffles with randperm from the seed: poison exactly the images of the second batch
    order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    images = DATA.images[:16].clone()
    images[order[8:16]] = float("nan")
    bad = ImageSet("bad", images, DATA.labels[:16], DATA.classes)
    runner = PairRunner(RunConfig(spec=cifar_spec(8), steps=5, batch_size=8, seed=0, device="cpu"), data=bad)
    first_bad = 2
    runner.start()
    assert runner.join(120)
    snap = runner.snapshot()
    assert snap.status == "diverged"
    assert snap.error is not None and snap.error.code == "grad_diverged"
    assert snap.error.values["net"] == "resnet8 (depth 8)" and snap.error.values["step"] == first_bad
    assert "resnet8 (depth 8) diverged at step" in snap.error.message()
    # step 1 stays, for both nets, with finite numbers
    assert snap.nets["residual"].steps == snap.nets["plain"].steps == 1
    assert all(v == v for h in snap.nets.values() for v in (*h.loss, *h.norms[0]))


def test_idle_watchdog_stops_an_unwatched_run() -> None:
    runner = PairRunner(
        RunConfig(spec=cifar_spec(8), steps=10**6, batch_size=4, device="cpu"), data=DATA, idle_timeout=0.5
    )
    runner.start()  # and nobody reads a snapshot
    assert runner.join(60)
    assert runner.idle_stopped and runner.status == "stopped"


def test_depth_sweep_trains_plain_and_residual_at_each_depth() -> None:
    runner = SweepRunner(SweepConfig(depths=(14, 8), steps=2, batch_size=4, device="cpu"), data=DATA)
    runner.start()
    assert runner.join(120)
    snap = runner.snapshot()
    assert snap.status == "done" and snap.done == snap.total == 8
    assert [(c.depth, c.plain) for c in snap.curves] == [(8, True), (8, False), (14, True), (14, False)]
    assert all(len(c.loss) == 2 for c in snap.curves)
    # the sweep's first net equals a hand-trained plain-8 on the same batches
    torch.manual_seed(0)
    step = TrainStep(build(cifar_spec(8, plain=True), device="cpu"), optimizer="sgd", lr=0.1)
    feed = batches(DATA, 4, seed=0)
    assert list(snap.curves[0].loss) == pytest.approx([step.step(*next(feed)).loss for _ in range(2)], rel=1e-5)

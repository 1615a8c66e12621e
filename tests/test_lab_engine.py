"""The lab as a service: runs train in Dask worker processes, are shared by key, resume after a killed worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import pytest
import torch

from resnet_viz import build, cifar_spec
from resnet_viz.lab.config import RunConfig
from resnet_viz.lab.data import batches, synthetic
from resnet_viz.lab.engine import Engine, EngineError
from resnet_viz.lab.gradients import TrainStep
from resnet_viz.lab.runs import start_run, stop_watching, watch_run
from resnet_viz.lab.store import RunStore
from resnet_viz.lab.train import Budget, load_final, memory_format

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig(spec=cifar_spec(8), steps=12, batch_size=8, seed=7, lr=0.05)


def _wait(cond: Callable[[], bool], timeout: float = 240.0) -> None:
    """Poll until ``cond()`` holds (the deadline only guards against hanging; nothing asserts on time)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    # workers inherit these: checkpoints every second, web runs unwatched for 4 s stop
    os.environ["RESNET_VIZ_CHECKPOINT_S"] = "1"
    os.environ["RESNET_VIZ_IDLE_S"] = "4"
    eng = Engine("")
    try:
        yield eng
    finally:
        eng.close()
        del os.environ["RESNET_VIZ_CHECKPOINT_S"], os.environ["RESNET_VIZ_IDLE_S"]


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'lab.sqlite'}")


def _by_hand(config: RunConfig) -> dict[str, list[float]]:
    """Oracle: both nets trained in this process, the bare loop, same seed and the same batches, in the memory
    layout the workers train in (rounding differences between layouts grow over SGD steps)."""
    torch.set_num_threads(1)
    data = synthetic(seed=config.seed)
    fmt = memory_format(config.device)
    out: dict[str, list[float]] = {}
    for net, plain in (("residual", False), ("plain", True)):
        torch.manual_seed(config.seed)
        model = build(cifar_spec(8, plain=plain), device="cpu").to(memory_format=fmt)
        step = TrainStep(model, lr=config.lr, warmup=config.warmup)
        feed = batches(data, config.batch_size, seed=config.seed)
        out[net] = [step.step(x.contiguous(memory_format=fmt), y).loss for x, y in islice(feed, config.steps)]
    return out


def test_the_workers_layout_computes_what_the_default_layout_does() -> None:
    """Channels-last (the CPU workers' layout) against the default layout: the same first step, to rounding."""
    assert memory_format("cpu") == torch.channels_last and memory_format("cuda") == torch.contiguous_format
    x, y = next(batches(synthetic(seed=3), 8, seed=3))
    stats = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(3)
        step = TrainStep(build(cifar_spec(8), device="cpu").to(memory_format=fmt), lr=0.05)
        stats.append(step.step(x.contiguous(memory_format=fmt), y))
    assert stats[1].loss == pytest.approx(stats[0].loss, rel=1e-5)
    assert list(stats[1].norms) == pytest.approx(list(stats[0].norms), rel=1e-4)


def test_a_run_trains_in_the_workers_and_matches_the_bare_loop(engine: Engine, store: RunStore) -> None:
    assert len(engine.workers()) == 2
    rid = start_run(store, engine, TINY, origin="cli")
    engine.wait(store, rid, poll=0.2)
    run = store.get(rid)
    assert run.status == "done" and run.step == 12 and run.keep
    expected = _by_hand(TINY)
    for net in ("residual", "plain"):
        rows = store.metrics(rid, net)
        assert [r.step for r in rows] == list(range(1, 13))
        assert [r.loss for r in rows] == pytest.approx(expected[net], rel=1e-4)
        assert len(rows[0].norms) == 8 and len(run.nets[net].layers) == 8
    trained = load_final(store, rid, "plain")  # safetensors weights of the finished net
    assert sum(p.numel() for p in trained.parameters()) == sum(
        p.numel() for p in build(cifar_spec(8, plain=True)).parameters()
    )


def test_pressing_start_again_joins_the_same_run(engine: Engine, store: RunStore) -> None:
    config = TINY.__class__(**{**TINY.__dict__, "steps": 400, "seed": 8})
    first = start_run(store, engine, config, session="a")
    second = start_run(store, engine, config, session="b")
    assert first == second and len(store.runs()) == 1
    _wait(lambda: store.get(first).step >= 3)
    assert store.watchers(first, within=60) == 2
    assert not stop_watching(store, first, "a")  # b still watches
    watch_run(store, engine, first, "b")
    assert stop_watching(store, first, "b")  # the last watcher leaves: the run stops
    _wait(lambda: all(n.rate == 0.0 for n in store.get(first).nets.values()), timeout=60)
    held = store.get(first)
    assert held.status == "stopped" and held.step < 400
    # Start with the same settings resumes from the checkpoint, keeping what was recorded
    again = start_run(store, engine, config, session="c")
    assert again == first
    _wait(lambda: store.get(first).step > held.step + 2)
    stop_watching(store, first, "c")


def test_an_unwatched_web_run_stops_by_itself(engine: Engine, store: RunStore) -> None:
    config = TINY.__class__(**{**TINY.__dict__, "steps": 10_000, "seed": 9})
    rid = start_run(store, engine, config, session="gone")
    _wait(lambda: store.status(rid) == "stopped", timeout=120)  # nobody polls: idle after 4 s
    err = store.get(rid).error()
    assert err is not None and "Nobody watched this run" in err.message()


def test_a_killed_worker_resumes_from_the_checkpoint_and_loses_nothing(engine: Engine, store: RunStore) -> None:
    # long enough that it cannot finish (and drop its checkpoints) before the kill
    config = TINY.__class__(**{**TINY.__dict__, "steps": 500, "seed": 11})
    rid = start_run(store, engine, config, origin="cli")
    blobs: dict[str, int] = {}

    def both_checkpointed() -> bool:
        for net in ("residual", "plain"):
            blob = store.get_blob(rid, net, "checkpoint")  # type: ignore[arg-type]
            if blob is None or blob[0] == 0:
                return False
            blobs[net] = blob[0]
        return True

    _wait(both_checkpointed)
    before = store.metrics(rid, "residual")
    assert store.results(rid, "resumed") == []  # each worker kept its net in memory from slice to slice
    pids = engine.client.run(os.getpid)  # {worker address: pid}
    victim = next(iter(sorted(pids.items())))
    assert store.status(rid) == "running", "the run ended before the kill; raise its steps"
    os.kill(victim[1], signal.SIGKILL)  # one worker process dies mid-run; its nanny starts another
    engine.wait(store, rid, poll=0.2)
    run = store.get(rid)
    assert run.status == "done", run.error()
    # the net the dead worker held went on from its checkpoint (taken at or after the one seen before the kill),
    # not from step 0: a worker that did not hold it rebuilt it from there
    resumed = store.results(rid, "resumed")
    assert resumed, "no worker took a net up from its checkpoint"
    for r in resumed:
        assert 0 < blobs[r["net"]] <= r["checkpoint"] <= r["at"] < 500
    expected = _by_hand(config)
    for net in ("residual", "plain"):
        rows = store.metrics(rid, net)
        assert [r.step for r in rows] == list(range(1, 501))  # no step lost, none twice
        assert [r.loss for r in rows] == pytest.approx(expected[net], rel=1e-4)  # resumed exactly
    kept = {r.step: r.loss for r in store.metrics(rid, "residual")}
    assert all(kept[r.step] == r.loss for r in before)  # what was recorded before the kill stays as it was


def test_a_diverging_run_stops_cleanly_and_keeps_its_history(engine: Engine, store: RunStore) -> None:
    config = TINY.__class__(
        **{**TINY.__dict__, "lr": 1e6, "steps": 50, "seed": 12, "spec": cifar_spec(8, batch_norm=False)}
    )
    rid = start_run(store, engine, config, origin="cli")
    engine.wait(store, rid, poll=0.2)
    run = store.get(rid)
    assert run.status == "diverged"
    err = run.error()
    assert err is not None and "diverged at step" in err.message()
    step = int(run.error_values["step"])
    assert 1 < step <= 50
    assert max(r.step for r in store.metrics(rid, "residual") + store.metrics(rid, "plain")) >= step - 1


def test_a_bad_scheduler_address_is_one_sentence() -> None:
    with pytest.raises(EngineError) as e:
        Engine("tcp://127.0.0.1:1")
    assert e.value.message().startswith("No training scheduler answers at tcp://127.0.0.1:1")
    with pytest.raises(EngineError):
        Engine("not an address")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_lab_runs_on_a_scheduler_and_two_workers_started_with_dasks_own_tools(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RESNET_VIZ_TORCH_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": str(2**30)}
    bindir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]  # fmt: skip
    address = f"tcp://127.0.0.1:{port}"
    try:
        for i in range(2):
            procs.append(subprocess.Popen(
                [str(bindir / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads", "2",
                 "--resources", "train=2", "--name", f"w{i}", "--no-dashboard"],
                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        _wait(lambda: _connects(address), timeout=60)
        eng = _connect(address)
        try:
            _wait(lambda: len(eng.workers()) == 2, timeout=60)
            store = RunStore(f"sqlite:///{tmp_path / 'lab.sqlite'}")
            rid = start_run(store, eng, TINY, origin="cli")
            eng.wait(store, rid, poll=0.2)
            assert store.get(rid).status == "done"
            assert [r.loss for r in store.metrics(rid, "plain")] == pytest.approx(_by_hand(TINY)["plain"], rel=1e-4)
        finally:
            eng.close()
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _connects(address: str) -> bool:
    host, port = address.removeprefix("tcp://").split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


def test_an_engine_that_does_not_start_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from resnet_viz.lab import engine as engine_module

    def broken(*_a: object, **_k: object) -> None:
        raise OSError("no ports left")

    monkeypatch.setattr(engine_module.Engine, "_local", staticmethod(broken))
    with pytest.raises(EngineError) as e:
        Engine("")
    assert e.value.message() == (
        "The training engine did not start (OSError: no ports left). The rest of the app keeps working."
    )


def _connect(address: str, tries: int = 3) -> Engine:
    """The engine on ``address``; Dask's client gives its IO thread 10 s to start, which a loaded CI machine
    can miss, so a failed start is tried again (a bad address is refused at once: see the test above)."""
    for i in range(tries):
        try:
            return Engine(address)
        except AssertionError:
            if i == tries - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


SLICE = 5  # steps per slice in the one-slot engine below: the tests count slices, never seconds


@pytest.fixture(scope="module")
def one_slot() -> Iterator[Engine]:
    """One worker that trains one slice at a time, of SLICE steps, on one torch thread: a one-core server's engine."""
    from resnet_viz.lab import engine as engine_module

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "usable_cores", lambda: 1)
        eng = Engine("", budget=Budget(seconds=0, steps=SLICE))
    try:
        yield eng
    finally:
        eng.close()


def _slice_log(store: RunStore) -> Callable[[], list[tuple[str, str, int]]]:
    """Every move of a net's step in the store, in the order they happened (a trigger on the store's own table):
    a slice moves its net's step once, when it ends."""
    import sqlalchemy as sa

    with store.engine.begin() as c:
        c.execute(sa.text("CREATE TABLE slice_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id, net, step)"))
        c.execute(sa.text(
            "CREATE TRIGGER log_slice AFTER UPDATE OF step ON nets WHEN NEW.step != OLD.step BEGIN "
            "INSERT INTO slice_log (run_id, net, step) VALUES (NEW.run_id, NEW.net, NEW.step); END"
        ))  # fmt: skip

    def read() -> list[tuple[str, str, int]]:
        with store.engine.connect() as c:
            rows = c.execute(sa.text("SELECT run_id, net, step FROM slice_log ORDER BY seq"))
            return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    return read


def test_three_runs_on_a_one_slot_engine_take_turns(one_slot: Engine, store: RunStore) -> None:
    """Issue 23: three runs started together on one worker thread all train from the start, slice by slice in
    turn, instead of one after the other; and each run's history is the bare loop's."""
    assert len(one_slot.workers()) == 1
    log = _slice_log(store)
    steps = 8 * SLICE
    configs = [TINY.__class__(**{**TINY.__dict__, "steps": steps, "seed": s}) for s in (21, 22, 23)]
    rids = [start_run(store, one_slot, c, origin="cli") for c in configs]
    for rid in rids:
        one_slot.wait(store, rid, poll=0.1)
    assert [store.status(r) for r in rids] == ["done"] * 3
    moves = log()
    assert len(moves) == 3 * 2 * 8  # every slice of every net, each once: SLICE steps a slice
    at = {(rid, net): 0 for rid in rids for net in ("residual", "plain")}
    for rid, net, step in moves:
        assert step == at[(rid, net)] + SLICE  # a slice is SLICE steps, and none is recorded twice
        at[(rid, net)] = step
        assert max(at.values()) - min(at.values()) <= SLICE, f"a net fell more than a slice behind: {at}"
    first_done = next(i for i, m in enumerate(moves) if m[2] == steps)
    assert all(any(m[0] == rid for m in moves[:first_done]) for rid in rids)  # all trained before any finished
    assert [r.loss for r in store.metrics(rids[1], "plain")] == pytest.approx(_by_hand(configs[1])["plain"], rel=1e-4)


def test_runs_past_the_cap_wait_in_line_and_say_where(one_slot: Engine, store: RunStore) -> None:
    from resnet_viz.lab.queue import describe, run_state

    log = _slice_log(store)
    configs = [TINY.__class__(**{**TINY.__dict__, "steps": 4 * SLICE, "seed": s}) for s in (31, 32, 33)]
    one_slot.max_runs = 2
    try:
        rids = [start_run(store, one_slot, c, origin="cli") for c in configs]
        third = store.get(rids[2])
        state = run_state(store, third, slots=2)
        assert (state.phase, state.position) == ("waiting", 1)
        assert describe(third, state, slots=2)[0] == "waiting in line"
        # the same settings and seed again are the same run: it never waits behind itself
        assert start_run(store, one_slot, configs[0], origin="cli") == rids[0]
        assert run_state(store, store.get(rids[0]), slots=2).phase in ("starting", "running")
        for rid in rids:
            one_slot.wait(store, rid, poll=0.1)
    finally:
        one_slot.max_runs = 3
    moves = log()
    first_of_third = next(i for i, m in enumerate(moves) if m[0] == rids[2])
    done_before = {m[0] for m in moves[:first_of_third] if m[2] == 4 * SLICE}
    assert done_before & set(rids[:2])  # the third started only when one of the first two had finished
    assert [store.status(r) for r in rids] == ["done"] * 3

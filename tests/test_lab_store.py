"""The run store: content-addressed ids, joining, metrics, truncation on resume, blobs, watchers, copying."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from resnet_viz import cifar_spec
from resnet_viz.lab.config import RunConfig, config_from_dict, run_id
from resnet_viz.lab.store import MetricRow, RunStore, StoreError

CONFIG = RunConfig(spec=cifar_spec(8), steps=5, batch_size=4, seed=3)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'lab.sqlite'}")


def test_run_id_is_a_hash_of_everything_that_determines_the_run() -> None:
    assert run_id(CONFIG) == run_id(RunConfig(spec=cifar_spec(8), steps=5, batch_size=4, seed=3))
    changed = [
        CONFIG.__class__(**{**CONFIG.__dict__, field: value})
        for field, value in [("seed", 4), ("lr", 0.05), ("steps", 6), ("batch_size", 8), ("optimizer", "adam"),
                             ("warmup", 10), ("dataset", "cifar10"), ("device", "cuda"), ("clip", 1.0)]
    ]  # fmt: skip
    changed.append(RunConfig(spec=cifar_spec(8, batch_norm=False), steps=5, batch_size=4, seed=3))
    ids = {run_id(c) for c in changed}
    assert len(ids) == len(changed) and run_id(CONFIG) not in ids
    assert config_from_dict(CONFIG.to_dict()) == CONFIG


def test_create_twice_joins_the_same_run(store: RunStore) -> None:
    rid, created = store.create(CONFIG)
    again, created_again = store.create(CONFIG)
    assert (rid, created, created_again) == (again, True, False)
    run = store.get(rid)
    assert run.status == "queued" and run.total == 5 and run.origin == "web" and not run.keep
    assert run.nets["plain"].title == "plain-resnet8 (depth 8)" and run.title == "resnet8 (depth 8)"
    assert len(store.runs()) == 1


def test_metrics_append_read_and_truncate(store: RunStore) -> None:
    rid, _ = store.create(CONFIG)
    rows = [MetricRow(s, 2.0 / s, s / 10, (float(s), 1.0)) for s in range(1, 5)]
    store.append(rid, "residual", rows[:2], rate=2.0)
    store.append(rid, "residual", rows[2:], rate=3.0)
    assert store.metrics(rid, "residual") == rows
    assert store.metrics(rid, "residual", after=3) == rows[3:]
    assert store.get(rid).nets["residual"].step == 4 and store.get(rid).step == 0  # the plain net has none
    store.truncate(rid, "residual", 2)  # resumed from a checkpoint at step 2
    assert store.metrics(rid, "residual") == rows[:2] and store.get(rid).nets["residual"].step == 2
    store.append(rid, "plain", [MetricRow(1, float("inf"), 0.0, (1.0,))], rate=1.0)
    assert math.isnan(store.metrics(rid, "plain")[0].loss)  # a non-finite loss is kept as "no number"


def test_status_moves_only_from_given_states_and_errors_keep_their_sentence(store: RunStore) -> None:
    rid, _ = store.create(CONFIG)
    assert store.set_status(rid, "running", only_from=("queued",))
    assert not store.set_status(rid, "running", only_from=("queued",))
    store.set_status(rid, "diverged", error_code="lab.error.diverged", net="plain-resnet8", step=3, loss="nan")
    err = store.get(rid).error()
    assert (
        err is not None
        and err.message()
        == "plain-resnet8 diverged at step 3 (loss nan); its history so far is kept. Try a lower learning rate."
    )
    store.set_status(rid, "queued")
    assert store.get(rid).error() is None


def test_both_nets_done_makes_the_run_done(store: RunStore) -> None:
    rid, _ = store.create(CONFIG)
    store.set_status(rid, "running")
    assert not store.mark_net_done(rid, "residual")
    assert store.mark_net_done(rid, "plain") and store.status(rid) == "done"


def test_blobs_watchers_results_and_copy(store: RunStore, tmp_path: Path) -> None:
    rid, _ = store.create(CONFIG)
    store.put_blob(rid, "plain", "checkpoint", 3, b"abc")
    store.put_blob(rid, "plain", "checkpoint", 4, b"abcd")
    assert store.get_blob(rid, "plain", "checkpoint") == (4, b"abcd")
    assert store.get_blob(rid, "residual", "final") is None
    store.watch(rid, "s1")
    store.watch(rid, "s1")
    store.watch(rid, "s2")
    assert store.watchers(rid, within=60) == 2
    store.unwatch(rid, "s1")
    assert store.watchers(rid, within=60) == 1 and store.last_seen(rid, other_than="s2") is None
    store.put_result(rid, "lesion", "k", {"a": [1, 2]})
    assert store.get_result(rid, "lesion", "k") == {"a": [1, 2]} and store.get_result(rid, "lesion", "x") is None
    other = RunStore(f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert store.copy_run_to(rid, other) and not store.copy_run_to(rid, other)
    assert other.get_blob(rid, "plain", "checkpoint") == (4, b"abcd") and other.get(rid).config == CONFIG


def test_unknown_run_and_unreachable_store_are_one_sentence(store: RunStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="No run has the id nope"):
        store.get("nope")
    with pytest.raises(StoreError) as e:
        RunStore("postgresql+psycopg://u:secret@127.0.0.1:1/db")
    assert "secret" not in e.value.message() and "127.0.0.1:1" in e.value.message()
    with pytest.raises(StoreError):
        RunStore("nosuchdb://x")


def test_queue_position_start_estimate_and_status_words_come_from_the_store(store: RunStore) -> None:
    import dataclasses

    from resnet_viz.lab.queue import STALL_S, describe, run_state, waiting_line

    ids = []
    for seed in range(4):
        rid, _ = store.create(dataclasses.replace(CONFIG, seed=seed, steps=100))
        ids.append(rid)
    store.set_status(ids[0], "running")
    store.append(ids[0], "residual", [MetricRow(40, 1.0, 0.5, (1.0,))], rate=2.0)
    store.append(ids[0], "plain", [MetricRow(40, 1.0, 0.5, (1.0,))], rate=2.0)
    assert waiting_line(store, slots=1) == (ids[:1], ids[1:])
    runs = {r: store.get(r) for r in ids}
    running, first, second = (run_state(store, runs[r], slots=1) for r in ids[:3])
    assert running.phase == "running"
    # one slot: the running run has 60 steps left at 2/s (30 s); then each run ahead takes 100 / 2 = 50 s
    assert (first.phase, first.position, first.seconds) == ("waiting", 1, 30.0)
    assert (second.phase, second.position, second.seconds) == ("waiting", 2, 80.0)
    assert describe(runs[ids[0]], running) == ("running", "")
    assert describe(runs[ids[1]], first, "en", slots=1) == (
        "waiting in line",
        "Waiting in line: position 1. Runs train 1 at a time, taking turns; this one starts in about 1 min.",
    )
    assert describe(runs[ids[2]], second, "zh", slots=1) == (
        "排队等候",
        "排队等候：第 2 位。同时最多训练 1 个运行，轮流进行；此运行将在约 1 分钟后开始。",
    )
    starting = run_state(store, runs[ids[1]], slots=2)  # its turn came; no step made yet
    assert starting.phase == "starting"
    assert describe(runs[ids[1]], starting, "zh")[0] == "等待工作进程"
    assert describe(runs[ids[1]], starting)[1].startswith("Waiting for a worker:")

    # no step for longer than STALL_S: the run is stalled, and no longer holds the slot
    later = store.get(ids[0]).updated + STALL_S + 5
    stalled = run_state(store, store.get(ids[0]), slots=1, now=later)
    assert (stalled.phase, stalled.seconds) == ("stalled", pytest.approx(STALL_S + 5))
    word, why = describe(runs[ids[0]], stalled, "en")
    assert word == "stalled"
    assert why.startswith(f"No step for {STALL_S + 5:.0f} s: the worker training this run was lost")
    assert describe(runs[ids[0]], stalled, "zh")[1].startswith(f"已有 {STALL_S + 5:.0f} 秒没有新步")
    assert waiting_line(store, slots=1, now=later) == (ids[:2], ids[2:])
    store.set_status(ids[0], "stopped")
    assert describe(store.get(ids[0]), run_state(store, store.get(ids[0]))) == ("stopped", "")

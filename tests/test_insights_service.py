"""The insights as a service: CLI subcommands computed by the engine's workers on a tiny trained run, checked
against evaluations of the stored weights made here; results cached in the store; bad input is one error line."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import torch
from torch import nn

from resnet_viz import build, cifar_spec
from resnet_viz.cli import main
from resnet_viz.lab.config import RunConfig
from resnet_viz.lab.engine import Engine
from resnet_viz.lab.insights import (
    effective_receptive_field,
    evaluate,
    grid_axis,
    held_out,
    hessian_extremes,
    loss_landscape,
    response_std,
)
from resnet_viz.lab.insights.jobs import plan
from resnet_viz.lab.insights.kinds import normalize, settings_key
from resnet_viz.lab.insights.landscape import landscape_points, point_losses, surface_from
from resnet_viz.lab.insights.service import Done, Failed, Pending, compute_now, request
from resnet_viz.lab.runs import start_run
from resnet_viz.lab.store import RunStore
from resnet_viz.lab.train import load_final
from tests.conftest import store_for_app

TINY = RunConfig(spec=cifar_spec(8), steps=6, batch_size=8, seed=7, lr=0.05)
NETS = ("residual", "plain")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine("")
    os.environ["RESNET_VIZ_SCHEDULER"] = str(eng.client.scheduler.address)  # the CLI joins this cluster
    try:
        yield eng
    finally:
        del os.environ["RESNET_VIZ_SCHEDULER"]
        eng.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunStore]:
    with store_for_app(tmp_path_factory.mktemp("insights") / "lab.sqlite") as s:
        yield s


@pytest.fixture(scope="module")
def rid(engine: Engine, store: RunStore) -> str:
    """A depth-8 pair trained for 6 steps by the engine's workers."""
    run = start_run(store, engine, TINY, origin="cli")
    engine.wait(store, run, poll=0.2)
    assert store.status(run) == "done"
    return run


@pytest.fixture(scope="module", autouse=True)
def worker_threads(engine: Engine) -> Iterator[None]:
    """The oracles here run on as many torch threads as the workers, so float sums add up in the same order."""
    before = torch.get_num_threads()
    threads = next(iter(engine.client.run(lambda: os.environ.get("RESNET_VIZ_TORCH_THREADS", "1")).values()))
    torch.set_num_threads(int(threads))
    yield
    torch.set_num_threads(before)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def created(store: RunStore, rid: str, kind: str) -> list[float]:
    with store.engine.connect() as c:
        rows = c.execute(sa.text("SELECT created FROM results WHERE run_id = :r AND kind = :k"), {"r": rid, "k": kind})
        return [float(r[0]) for r in rows]


def models(store: RunStore, rid: str) -> dict[str, nn.Module]:
    return {n: load_final(store, rid, n) for n in NETS}  # type: ignore[arg-type]


# -- the landscape, split into pieces -----------------------------------------------------------------------------


def test_landscape_pieces_give_what_the_whole_computation_gives() -> None:
    torch.manual_seed(0)
    model = build(cifar_spec(8), device="cpu").eval()
    x, y = held_out(8)
    whole = loss_landscape({"residual": model}, x, y, grid=4, seed=3, hessian_images=4, power_iters=1)
    axis = grid_axis(4)
    points = landscape_points(axis)
    assert len(points) == 16 + 4  # the 4×4 grid, then the slice β = 0 (not on an even grid)
    values = point_losses(model, x, y, points[:7], seed=3) + point_losses(model, x, y, points[7:], seed=3)
    curvature = hessian_extremes(model, x[:4], y[:4], iterations=1, seed=3)
    surface = surface_from("residual", axis, centre=evaluate(model, x, y), losses=dict(zip(points, values)),
                           curvature=curvature)  # fmt: skip
    assert surface == whole.nets[0]
    line = loss_landscape({"residual": model}, x, y, grid=4, dims=1, seed=3, hessian_images=4, power_iters=1)
    assert line.betas == () and line.nets[0].grid_loss == ()
    assert line.nets[0].slice_loss == whole.nets[0].slice_loss
    f = line.nets[0].slice_loss  # the slice's second differences, by hand
    assert line.nets[0].upward_share == sum(f[j - 1] - 2 * f[j] + f[j + 1] > 0 for j in (1, 2)) / 2


def test_the_plan_covers_every_point_once() -> None:
    s = normalize("landscape", {"grid": 21}, TINY)
    pieces = plan("landscape", s)
    todo = len(landscape_points(grid_axis(21)))
    for net in NETS:
        blocks = [p for p in pieces if p.net == net and p.part == "points"]
        assert [i for p in blocks for i in range(p.start, p.stop)] == list(range(todo))
        assert sum(p.weight for p in blocks) == todo == 440
    assert [p.name for p in plan("erf", normalize("erf", {}, TINY))] == [
        "residual.trained", "residual.init", "plain.trained", "plain.init"
    ]  # fmt: skip
    assert settings_key("landscape", s) == settings_key("landscape", normalize("landscape", {}, TINY))


# -- the CLI through the engine ------------------------------------------------------------------------------------


def test_landscape_cli_centre_is_the_stored_weights_loss_and_a_second_call_is_cached(store, rid, capsys) -> None:
    args = ("landscape", "--run", rid, "--grid", "3", "--images", "16")
    out = cli(capsys, *args)
    assert out["alphas"] == [-1.0, 0.0, 1.0] and out["betas"] == [-1.0, 0.0, 1.0] and out["dims"] == 2
    assert set(out["measures"]) == {"eig_ratio", "upward_share"}
    x, y = held_out(16)
    for net, model in models(store, rid).items():
        s = out[net]
        assert len(s["loss"]) == 3 and all(len(row) == 3 for row in s["loss"])
        oracle = evaluate(model, x, y)
        assert s["loss"][1][1] == s["centre_loss"] == oracle.loss and s["centre_accuracy"] == oracle.accuracy
        assert s["slice"] == s["loss"][1]
        assert s["eig_ratio"] == pytest.approx(abs(s["eig_min"]) / s["eig_max"])
        assert s["upward_share"] in (0.0, 1.0)  # one interior point on a 3×3 grid
    first = created(store, rid, "landscape")
    assert len(first) == 1
    assert cli(capsys, *args) == out  # from the store: the row was not written again
    assert created(store, rid, "landscape") == first
    line = cli(capsys, *args, "--dims", "1")
    assert line["betas"] == [] and line["dims"] == 1
    assert [line[n]["loss"] for n in NETS] == [out[n]["slice"] for n in NETS]  # other pieces, the same slice
    asked = [{"grid": 3, "images": 16, "dims": d} for d in (1, 2)]
    keys = {settings_key("landscape", normalize("landscape", a, TINY)) for a in asked}
    with store.engine.connect() as c:
        rows = c.execute(sa.text("SELECT key FROM results WHERE run_id = :r AND kind = 'landscape'"), {"r": rid})
        assert {r[0] for r in rows} == keys  # one record per run and settings


def test_lesion_cli_baseline_is_the_stored_weights_evaluation(store, rid, capsys) -> None:
    out = cli(capsys, "lesion", "--run", rid, "--images", "16")
    x, y = held_out(16)
    for net, model in models(store, rid).items():
        oracle = evaluate(model, x, y)
        assert out[net]["baseline"] == {"loss": oracle.loss, "accuracy": oracle.accuracy}
        assert [b["name"] for b in out[net]["blocks"]] == ["layer1.0", "layer2.0", "layer3.0"]
        assert [b["downsamples"] for b in out[net]["blocks"]] == [False, True, True]
    assert [b["accuracy"] is None for b in out["plain"]["blocks"]] == [False, True, True]  # shapes change: no y = x
    assert all(b["accuracy"] is not None for b in out["residual"]["blocks"])


def test_erf_cli_at_initialization_is_the_run_seeds_untrained_net(store, rid, capsys) -> None:
    out = cli(capsys, "erf", "--run", rid, "--stage", "layer2", "--images", "2")
    assert out["stage"] == "layer2" and out["images"] == 2 and out["fill"] == "reflect"
    x, _ = held_out(2)
    for net, spec in TINY.specs().items():
        torch.manual_seed(TINY.seed)  # what training started from
        init = effective_receptive_field(build(spec, device="cpu"), x, stage="layer2", net=net)
        trained = effective_receptive_field(load_final(store, rid, net), x, stage="layer2", net=net)
        for got, oracle in ((out[net]["init"], init), (out[net]["trained"], trained)):
            assert (got["rf"], got["side50"], got["side95"]) == (oracle.rf, oracle.side50, oracle.side95)
            assert torch.allclose(torch.tensor(got["heat"]), torch.tensor(oracle.heat), rtol=1e-5, atol=1e-9)
        assert out[net]["init"]["heat"] != out[net]["trained"]["heat"]  # six steps moved the weights
    assert out["residual"]["trained"]["rf"] == 13  # stem 3; + 2 + 2 (layer1's 3×3s); + 2, then + 4 after stride 2


def test_responses_cli_has_one_std_per_3x3_conv(store, rid, capsys) -> None:
    out = cli(capsys, "responses", "--run", rid, "--images", "16")
    x, _ = held_out(16)
    for net, model in models(store, rid).items():
        convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
        assert out[net]["layers"] == convs and len(convs) == 7
        assert out[net]["std"] == pytest.approx(list(response_std(model, x).values()), rel=1e-9)
        assert out[net]["sorted_std"] == sorted(out[net]["std"], reverse=True)


def test_shattered_cli_runs_here_and_adds_the_runs_neighbours(rid, capsys) -> None:
    toy = cli(capsys, "shattered")
    names = [s["name"] for s in toy["series"]]
    assert names == ["shallow", "feedforward", "feedforward_bn", "resnet", "resnet_bn", "brown", "white"]
    assert len(toy["xs"]) == 256 and toy["series"][0]["autocorrelation"][0] == 1.0
    both = cli(capsys, "shattered", "--run", rid, "--images", "4")
    assert both["series"] == toy["series"]
    lab = both["neighbours"]
    assert lab["images"] == 4 and len(lab["residual"]["correlation"]) == len(lab["residual"]["distances"]) == 7


# -- the service: pending, done, failed ---------------------------------------------------------------------------


def test_a_failing_job_is_one_sentence_until_asked_again(engine: Engine, store: RunStore) -> None:
    config = TINY.__class__(**{**TINY.__dict__, "seed": 99})
    broken, _ = store.create(config, origin="cli")
    store.set_status(broken, "done")  # finished on paper, but no weights were ever stored
    outcome = request(store, engine, broken, "responses", {"images": 4}, retry=True)
    assert isinstance(outcome, Pending) and 0.0 <= outcome.progress <= 1.0
    deadline = time.monotonic() + 120
    while isinstance(outcome, Pending):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        outcome = request(store, engine, broken, "responses", {"images": 4})
    assert isinstance(outcome, Failed)
    assert outcome.error.message().startswith(f"Run {broken} has not finished")
    assert isinstance(request(store, engine, broken, "responses", {"images": 4}), Failed)  # stays failed


def test_compute_now_joins_a_stored_result(engine: Engine, store: RunStore, rid: str) -> None:
    first = compute_now(store, engine, rid, "responses", {"images": 16}, poll=0.1)
    again = request(store, engine, rid, "responses", {"images": 16})
    assert isinstance(again, Done) and again.record == first


# -- bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["landscape", "--run", "0123456789abcdef"], "error: No run has the id 0123456789abcdef;"),
        (["lesion", "--run", "nope"], "error: argument --run: nope is not a run id"),
        (["landscape", "--run", "RID", "--grid", "0"], "error: A landscape grid needs 2 to 51 points per axis; got 0."),
        (["landscape", "--run", "RID", "--grid", "1"], "error: A landscape grid needs 2 to 51 points per axis; got 1."),
        (["landscape", "--run", "RID", "--dims", "3"], "error: argument --dims: invalid choice"),
        (["erf", "--run", "RID", "--stage", "layer9"], "error: resnet8 (depth 8) has no stage layer9; pick one of"),
        (["responses", "--run", "RID", "--images", "0"], "error: The number of held-out images must be a whole"),
        (["lesion", "--run", "RID", "--images", "-3"], "error: The number of held-out images must be a whole"),
        (["erf", "--run", "UNFINISHED"], "error: Run UNFINISHED has not finished (it is queued)"),
        (["shattered", "--images", "4"], "error: --images counts held-out images of a run: give --run ID too."),
    ],
)
def test_bad_input_exits_2_with_one_error_line(store, rid, capsys, args, message) -> None:
    unfinished, _ = store.create(TINY.__class__(**{**TINY.__dict__, "seed": 98}), origin="cli")
    args = [a.replace("UNFINISHED", unfinished).replace("RID", rid) for a in args]
    with pytest.raises(SystemExit) as e:
        main([*args, "--json"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith(message.replace("UNFINISHED", unfinished)), err
    assert err.count("\n") == 1

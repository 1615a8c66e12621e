"""Per-layer gradient norms against a hand computation, the plain twin's graph, the plots and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_viz import build, cifar_spec
from resnet_viz.i18n import t
from resnet_viz.lab.data import synthetic
from resnet_viz.lab.gradients import LayerNorm, TrainStep, fused_norms, gradient_profile, layer_weights
from resnet_viz.plots.gradients import profile_figure
from tests.conftest import ROOT


def _batch(n: int = 4, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_layers_are_the_main_path_in_depth_order() -> None:
    spec = cifar_spec(20)
    names = [n for n, _ in layer_weights(build(spec, device="cpu"))]
    assert len(names) == spec.depth == 20
    assert names[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert names[-2:] == ["layer3.2.conv2", "fc"]
    # option B projections are shortcuts, not main-path layers: left out, so both twins list the same layers
    b = build(cifar_spec(20, shortcut="B"), device="cpu")
    assert [n for n, _ in layer_weights(b)] == names
    assert any("downsample" in n for n, _ in b.named_parameters())


def test_fused_norms_equal_a_hand_computation() -> None:
    torch.manual_seed(0)
    model = build(cifar_spec(14), device="cpu")
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()
    by_hand = []
    for m in model.modules():  # the oracle: every conv / linear weight, in registration order, norm by norm
        if isinstance(m, nn.Conv2d | nn.Linear):
            by_hand.append(m.weight.grad.pow(2).sum().sqrt().item())
    fused = fused_norms([p for _, p in layer_weights(model)]).tolist()
    assert fused == pytest.approx(by_hand, rel=1e-5)
    assert len(fused) == 14


def test_train_step_reports_loss_accuracy_norms_of_that_step() -> None:
    x, y = _batch(8)
    torch.manual_seed(3)
    a = build(cifar_spec(8), device="cpu")
    torch.manual_seed(3)
    b = build(cifar_spec(8), device="cpu")
    stats = TrainStep(a, optimizer="sgd", lr=0.1).step(x, y)
    b.train()
    logits = b(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    assert stats.loss == pytest.approx(loss.item(), rel=1e-6)
    assert stats.accuracy == (logits.argmax(1) == y).float().mean().item()
    hand = [m.weight.grad.norm().item() for m in b.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert list(stats.norms) == pytest.approx(hand, rel=1e-5)
    # and the step did update the weights (SGD with momentum: w - lr * (g + wd * w) on the first step)
    assert isinstance(a.fc, nn.Linear) and isinstance(b.fc, nn.Linear)
    w0 = b.fc.weight.detach()
    assert torch.allclose(a.fc.weight, w0 - 0.1 * (b.fc.weight.grad + 1e-4 * w0), atol=1e-6)


def _count_adds(output: torch.Tensor) -> int:
    """AddBackward nodes in the autograd graph: each is a residual add (BN and linear use other nodes)."""
    seen, stack, adds = set(), [output.grad_fn], 0
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        adds += type(fn).__name__ == "AddBackward0"
        stack.extend(f for f, _ in fn.next_functions)
    return adds


def test_plain_twin_has_no_shortcut_in_its_autograd_graph() -> None:
    x, _ = _batch(2)
    torch.manual_seed(0)
    res = build(cifar_spec(20), device="cpu")
    torch.manual_seed(0)
    plain = build(cifar_spec(20, plain=True), device="cpu")
    # the same seed gives the same weights (option A has no projection weights)
    assert all(torch.equal(p, q) for p, q in zip(res.state_dict().values(), plain.state_dict().values()))
    assert _count_adds(res(x)) == 9  # one per basic block: 3 stages × 3 blocks
    assert _count_adds(plain(x)) == 0
    # ablation: only the shortcut tells the blocks apart
    res.eval(), plain.eval()
    block, pblock = res.layer1[0], plain.layer1[0]
    h = torch.relu(res.bn1(res.conv1(x)))
    branch = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(h)))))
    assert torch.allclose(block(h), torch.relu(branch + h))
    assert torch.allclose(pblock(h), torch.relu(branch))


def test_profile_at_init_same_seed_and_plot_holds_the_records() -> None:
    batch = _batch(8)
    res = gradient_profile(cifar_spec(20), batch=batch, seed=0)
    plain = gradient_profile(cifar_spec(20, plain=True), batch=batch, seed=0)
    assert [r.index for r in res] == list(range(1, 21)) and [r.name for r in res] == [r.name for r in plain]
    # the last layer (fc) is the same weight in both nets but sees a different feature: norms differ
    assert res[-1].norm != plain[-1].norm
    fig = profile_figure({"resnet20": res, "plain-resnet20": plain}, "en")
    assert fig.layout.yaxis.type == "log"
    assert list(fig.data[0].y) == [r.norm for r in res] and list(fig.data[1].y) == [r.norm for r in plain]
    assert fig.layout.title.text == t("grad.plot.profile_title", "en")
    assert isinstance(res[0], LayerNorm)


def _cli(*args: str, db: str = "sqlite:///:memory:", command: str = "gradflow") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RESNET_VIZ_DB": db}
    return subprocess.run(
        [sys.executable, "-m", "resnet_viz", command, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=env,
    )  # fmt: skip


def test_cli_trains_in_the_engine_and_the_run_is_in_the_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lab.sqlite'}"
    r = _cli(
        "--family", "cifar", "--depth", "8", "--steps", "2", "--batch-size", "4", "--json", "--device", "cpu", db=db
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "done" and out["steps"] == 2
    assert set(out["nets"]) == {"residual", "plain"}
    assert out["nets"]["plain"]["title"] == "plain-resnet8 (depth 8)"
    assert [len(row) for row in out["nets"]["residual"]["grad_norms"]] == [8, 8]
    # the same run, read back from the store by the runs subcommand
    listed = json.loads(_cli("list", "--json", db=db, command="runs").stdout)
    assert [x["id"] for x in listed] == [out["id"]] and listed[0]["origin"] == "cli"
    exported = json.loads(_cli("export", out["id"], "--format", "json", db=db, command="runs").stdout)
    assert exported["nets"]["residual"]["loss"] == out["nets"]["residual"]["loss"]
    csv = _cli("export", out["id"], "--format", "csv", db=db, command="runs").stdout.splitlines()
    assert csv[0].startswith("net,step,loss,accuracy,conv1,") and len(csv) == 1 + 2 * 2
    assert float(csv[1].split(",")[2]) == out["nets"]["residual"]["loss"][0]
    for args, needle in ((["show", "0123456789abcdef"], "No run has the id"), (["show", "x"], "not a run id"),
                         (["export", out["id"], "--format", "xml"], "invalid choice")):  # fmt: skip
        bad = _cli(*args, db=db, command="runs")
        assert bad.returncode == 2 and bad.stderr.startswith("error:") and needle in bad.stderr


def test_cli_steps_0_is_one_forward_and_backward_at_initialization() -> None:
    r = _cli("--family", "cifar", "--depth", "8", "--steps", "0", "--batch-size", "4", "--seed", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["steps"] == 0 and out["id"] is None
    # oracle, written here and sharing none of the lab's gradient code: the net drawn from the seed, one
    # cross-entropy forward/backward of the first batch (the first batch_size images of the seed's permutation),
    # and each main-path conv's and the classifier's weight-gradient norm in float64, in module order
    data = synthetic(seed=3)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(3))[:4]
    for net, plain in (("residual", False), ("plain", True)):
        torch.manual_seed(3)
        model = build(cifar_spec(8, plain=plain), device="cpu").train()
        F.cross_entropy(model(data.images[idx]), data.labels[idx]).backward()
        layers = [
            m for name, m in model.named_modules()
            if isinstance(m, nn.Conv2d | nn.Linear) and "downsample" not in name and "shortcut" not in name
        ]  # fmt: skip
        assert len(layers) == 8  # the stem conv, six block convs and the classifier: CIFAR ResNet-8's depth
        norms = [float(torch.linalg.vector_norm(m.weight.grad.double())) for m in layers]
        assert out["nets"][net]["grad_norms"] == [pytest.approx(norms, rel=1e-5)]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--arch", "resnet20", "--steps", "-1"], "--steps"),
        (["--arch", "resnet20", "--lr", "nan"], "--lr"),
        (["--arch", "nope"], "Unknown architecture"),
        (["--arch", "resnet20", "--dataset", "folder", "--folder", "../../etc"], "outside the data root"),
    ],
)
def test_cli_bad_input_is_one_error_line(args: list[str], needle: str) -> None:
    r = _cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_warmup_ramps_the_learning_rate_from_a_tenth() -> None:
    # torch's LinearLR: factor = 0.1 + 0.9 * step / warmup, so lr goes 0.01, 0.019, ... 0.1 after `warmup` steps.
    torch.manual_seed(0)
    trainer = TrainStep(build(cifar_spec(8), device="cpu"), optimizer="sgd", lr=0.1, warmup=10)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    seen = []
    for _ in range(12):
        seen.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.step(x, y)
    assert seen[0] == pytest.approx(0.01) and seen[1] == pytest.approx(0.019)
    assert seen[10] == pytest.approx(0.1) and seen[11] == pytest.approx(0.1)

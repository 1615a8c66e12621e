"""The instrumented training step (fused per-layer gradient norms, one transfer) against a bare PyTorch step.

Both steps train the same model on the same batch; they alternate, so machine noise hits both alike.
Goal: instrumented / bare <= 1.05. Also prints steps per second of one net at depth 20 and 56, batch 64.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from resnet_viz import build, cifar_spec
from resnet_viz.lab.gradients import TrainStep, make_optimizer


def _bare_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()  # a bare loop reads its loss too: one sync per step, as the instrumented one


def measure(depth: int, *, batch: int = 64, rounds: int = 6, device: str = "cpu") -> tuple[float, float, float]:
    """(bare seconds per step, instrumented seconds per step, ratio), medians over alternating rounds."""
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, device=device)  # (N, 3, 32, 32)
    y = torch.randint(0, 10, (batch,), device=device)
    bare_model = build(cifar_spec(depth), device=device)
    bare_opt = make_optimizer(list(bare_model.parameters()), "sgd", 0.01)
    inst = TrainStep(build(cifar_spec(depth), device=device), optimizer="sgd", lr=0.01)
    for _ in range(2):  # warm-up
        _bare_step(bare_model, bare_opt, x, y)
        inst.step(x, y)
    bare, instrumented = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        _bare_step(bare_model, bare_opt, x, y)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        inst.step(x, y)
        instrumented.append(time.perf_counter() - t)
    b, i = statistics.median(bare), statistics.median(instrumented)
    return b, i, i / b


def main() -> None:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch 64")
    for depth in (20, 56):
        b, i, r = measure(depth, device=device)
        print(
            f"resnet{depth}: bare {1 / b:.2f} steps/s, instrumented {1 / i:.2f} steps/s, "
            f"ratio instrumented/bare {r:.3f} (goal <= 1.05)"
        )

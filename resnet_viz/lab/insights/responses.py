"""Standard deviation of every 3×3 layer's response, as in He et al. 2015, Fig. 7."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .evaluate import BATCH_SIZE, Progress, device_of, eval_mode, inputs_for, report
from .record import Record

__all__ = ["NetResponses", "Responses", "layer_responses", "response_layers", "response_std"]


@dataclass(frozen=True)
class NetResponses(Record):
    """One net's response std per 3×3 layer: ``std`` in forward order (``layers`` names the convs), and
    ``sorted_std`` in descending order (the two panels of He et al. 2015, Fig. 7)."""

    net: str
    layers: tuple[str, ...]
    std: tuple[float, ...]
    sorted_std: tuple[float, ...]


@dataclass(frozen=True)
class Responses(Record):
    images: int
    nets: tuple[NetResponses, ...]


def response_layers(model: nn.Module, sample: Tensor) -> dict[str, str]:
    """For every 3×3 conv (forward order), the module whose output is its "response" (He et al. 2015 §4.2:
    after BN, before the addition and the ReLU): the BatchNorm2d that takes the conv's output as its input,
    found by following tensors through one forward pass; the conv itself when none does (batch norm off, or
    a pre-activation net's last conv of a block, whose output goes straight to the addition)."""
    names = {m: n for n, m in model.named_modules()}
    made_by: dict[int, tuple[Tensor, str]] = {}  # id(conv output) -> (the tensor, kept alive: ids stay unique)
    pairs: dict[str, str] = {}

    def on_conv(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
        made_by[id(output)] = (output, names[module])
        pairs.setdefault(names[module], names[module])

    def on_bn(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
        found = made_by.get(id(args[0]))
        if found is not None and found[0] is args[0] and pairs[found[1]] == found[1]:
            pairs[found[1]] = names[module]

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (3, 3):
            handles.append(m.register_forward_hook(on_conv))
        elif isinstance(m, nn.BatchNorm2d):
            handles.append(m.register_forward_hook(on_bn))
    try:
        with eval_mode(model), torch.no_grad():
            model(inputs_for(model, sample[:1]))
    finally:
        for h in handles:
            h.remove()
    return pairs


def response_std(model: nn.Module, images: Tensor, *, batch_size: int = BATCH_SIZE) -> dict[str, float]:
    """Std over all images, channels and positions of each 3×3 conv's response (conv name -> std), eval mode."""
    pairs = response_layers(model, images)
    tapped = dict(model.named_modules())
    # float64 running sums: count, Σx, Σx² per tapped module, combined into the sample std at the end
    sums: dict[str, Tensor] = {n: torch.zeros(3, dtype=torch.float64, device=device_of(model)) for n in pairs}

    def tap(conv: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
            y = output.detach().double()  # (B, C, H, W)
            sums[conv] += torch.stack([y.new_tensor(float(y.numel())), y.sum(), (y * y).sum()])

        return hook

    handles = [tapped[response].register_forward_hook(tap(conv)) for conv, response in pairs.items()]
    try:
        with eval_mode(model), torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(inputs_for(model, images[start : start + batch_size]))
    finally:
        for h in handles:
            h.remove()
    out = {}
    for conv, (n, s, sq) in ((c, v.tolist()) for c, v in sums.items()):
        var = (sq - s * s / n) / (n - 1)  # Bessel-corrected, as Tensor.std()
        out[conv] = max(var, 0.0) ** 0.5
    return out


def layer_responses(
    models: Mapping[str, nn.Module],
    images: Tensor,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Responses:
    """:func:`response_std` of every net, as plot-ready records."""
    nets = []
    for i, (net, model) in enumerate(models.items()):
        std = response_std(model, images, batch_size=batch_size)
        values = tuple(std.values())
        nets.append(
            NetResponses(net=net, layers=tuple(std), std=values, sorted_std=tuple(sorted(values, reverse=True)))
        )
        report(progress, (i + 1) / len(models))
    return Responses(images=len(images), nets=tuple(nets))

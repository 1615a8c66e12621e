"""Effective receptive fields: how a unit's gradient spreads over the input pixels (Luo et al. 2016)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import torch
from torch import Tensor, nn

from ...nets.trace import trace_module
from .evaluate import Progress, device_of, eval_mode, inputs_for, report
from .record import Record

__all__ = ["ERF", "MARGIN", "Fill", "effective_receptive_field", "effective_receptive_fields", "theoretical_field"]

Fill = Literal["reflect", "zeros", "noise"]
MARGIN: Final = 8  # pixels of canvas beyond the theoretical field on every side: the field is never clipped
BATCH: Final = 2  # images per backward: ResNet-56 on a 288x288 canvas keeps about 0.6 GB of activations each
_STAGE = re.compile(r"layer\d+")


@dataclass(frozen=True)
class ERF(Record):
    """The effective receptive field of the centre unit of ``stage`` (Luo et al. 2016).

    ``heat[i][j]`` is the mean over the images of Σ_channels |∂y/∂x| at input pixel (i, j), where y is the
    unit's output summed over its channels; the crop (side ``size`` = 2·(rf // 2 + margin) + 1) is centred on
    the unit's theoretical field, which is the centred rf×rf square, and normalised to sum 1.
    ``side50`` / ``side95``: the side of the smallest centred square holding 50% / 95% of the gradient mass.
    ``canvas`` is the side of the inputs fed: images extended by ``fill`` (see :func:`effective_receptive_field`).
    """

    net: str
    stage: str
    size: int
    canvas: int
    rf: int
    jump: int
    images: int
    fill: str
    heat: tuple[tuple[float, ...], ...]
    side50: int
    side95: int


def _default_stage(model: nn.Module) -> str:
    """The last top-level ``layerN`` stage, else "" (the model's own output)."""
    stages = [n for n, _ in model.named_children() if _STAGE.fullmatch(n)]
    return stages[-1] if stages else ""


def theoretical_field(model: nn.Module, *, stage: str, in_channels: int = 3) -> tuple[int, int]:
    """(rf, jump) of ``stage``'s output (a module name; "" for the model's output), from the tracer.

    The tracer runs on a meta-device copy, so no weights are touched; the rf does not depend on the size traced.
    """
    meta = nn.Sequential(copy.deepcopy(model).to("meta"))  # wrapped: a bare layer becomes a traced leaf "0"
    with torch.no_grad():
        report_ = trace_module(meta, (in_channels, 64, 64))
    root = f"0.{stage}" if stage else "0"
    inside = [r for r in report_.layers if r.name.split("#")[0] == root or r.name.startswith(root + ".")]
    if not inside:
        raise ValueError(f"no traced layer inside {stage or 'the model'!r}")
    last = inside[-1]  # the subtree's last operation in forward order produces its output
    return last.rf[0], last.jump[0]


def _canvas(rf: int, jump: int, margin: int) -> int:
    """The smallest multiple of ``jump`` that holds the centre unit's field with ``margin`` on every side."""
    half = rf // 2 + margin
    side = jump * max(1, -(-(2 * half + 1) // jump))
    while not (jump * ((side // jump) // 2) - half >= 0 and jump * ((side // jump) // 2) + half <= side - 1):
        side += jump
    return side


def _inputs(images: Tensor, side: int, centre: int, fill: Fill, generator: torch.Generator) -> Tensor:
    """(B, C, side, side): the images centred on ``centre`` and extended by mirroring, zeros, or Gaussian noise."""
    b, c, h, w = images.shape
    if fill == "noise":  # Luo et al. 2016 also feed random inputs; N(0, 1) matches normalised pixels' scale
        return torch.randn((b, c, side, side), generator=generator).to(images)
    pos = torch.arange(side, device=images.device)  # (side,)
    rows, cols = pos - (centre - h // 2), pos - (centre - w // 2)  # image coordinates of each canvas pixel
    x = images[:, :, _mirror(rows, h)][:, :, :, _mirror(cols, w)]  # (B, C, side, side)
    if fill == "zeros":  # zero is the dataset mean after normalisation: the image on a grey canvas
        inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]  # (side, side)
        x = x * inside
    return x


def _mirror(v: Tensor, n: int) -> Tensor:
    """Symmetric reflection of coordinates into 0..n-1 (…, 1, 0 | 0, 1, …, n-1 | n-1, …): no seams."""
    m = v % (2 * n)
    return torch.where(m < n, m, 2 * n - 1 - m)


class _Reached(Exception):
    """Raised by a hook to stop the forward pass once the stage has its output."""

    def __init__(self, output: Tensor) -> None:
        super().__init__("stage reached")
        self.output = output


def _stage_output(model: nn.Module, stage: str, x: Tensor) -> Tensor:
    if not stage:
        out: Tensor = model(x)
        return out

    def hook(module: nn.Module, args: tuple[Any, ...], output: Tensor) -> None:
        raise _Reached(output)

    handle = dict(model.named_modules())[stage].register_forward_hook(hook)
    try:
        model(x)
    except _Reached as reached:
        return reached.output
    finally:
        handle.remove()
    raise RuntimeError(f"{stage!r} did not run in the forward pass")


def effective_receptive_field(
    model: nn.Module,
    images: Tensor,
    *,
    stage: str | None = None,
    net: str = "",
    fill: Fill = "reflect",
    margin: int = MARGIN,
    batch_size: int = BATCH,
    seed: int = 0,
    progress: Progress | None = None,
) -> ERF:
    """The ERF of ``stage`` (a module name; None: the last ``layerN``, else the model's output), eval mode.

    Inputs must be larger than the theoretical field, which for deep stages exceeds a 32×32 image (ResNet-56's
    last stage sees 249 pixels), so each image is extended to a canvas of rf + 2·margin or more: ``reflect``
    (default) mirrors it around its edges, so every pixel has the statistics the net was trained on and no
    seams; ``zeros`` puts it on a grey (mean) canvas; ``noise`` ignores the images' pixels and feeds N(0, 1)
    noise of the same count, seeded. Works on any module, trained or at initialization; weights are untouched.
    The unit's field is centred at input pixel jump·(h // 2) of a 'same'-padded net: true of every conv here.
    """
    name = _default_stage(model) if stage is None else stage
    rf, jump = theoretical_field(model, stage=name, in_channels=images.shape[1])
    side = _canvas(rf, jump, margin)
    half = rf // 2 + margin
    dev = device_of(model)
    g = torch.Generator().manual_seed(seed)
    heat = torch.zeros((side, side), dtype=torch.float64, device=dev)  # (S, S)
    centre = jump * ((side // jump) // 2)
    with eval_mode(model), torch.enable_grad():
        for start in range(0, len(images), batch_size):
            x = _inputs(inputs_for(model, images[start : start + batch_size]), side, centre, fill, g).requires_grad_(
                True
            )
            y = _stage_output(model, name, x)  # (B, C', h, w)
            h, w = y.shape[-2:]
            if (jump * (h // 2), jump * (w // 2)) != (centre, centre):
                raise ValueError(f"{name or 'the output'} is not 'same'-padded: its centre unit is off the canvas")
            (grad,) = torch.autograd.grad(y[:, :, h // 2, w // 2].sum(), x)  # (B, C, S, S); images independent
            heat += grad.abs().sum(dim=(0, 1)).double()
            report(progress, (start + len(x)) / len(images))
    crop = heat[centre - half : centre + half + 1, centre - half : centre + half + 1] / len(images)  # (size, size)
    total = float(crop.sum())
    if total > 0:
        crop = crop / total
    return ERF(
        net=net,
        stage=name or "output",
        size=2 * half + 1,
        canvas=side,
        rf=rf,
        jump=jump,
        images=len(images),
        fill=fill,
        heat=tuple(tuple(row) for row in crop.cpu().tolist()),
        side50=_side(crop, 0.5),
        side95=_side(crop, 0.95),
    )


def _side(crop: Tensor, share: float) -> int:
    """Side of the smallest centred (odd) square holding ``share`` of the crop's mass (the crop sums to 1)."""
    half = crop.shape[0] // 2
    for r in range(half + 1):
        if float(crop[half - r : half + r + 1, half - r : half + r + 1].sum()) >= share - 1e-9:
            return 2 * r + 1
    return crop.shape[0]


def effective_receptive_fields(
    models: Mapping[str, nn.Module],
    images: Tensor,
    *,
    stage: str | None = None,
    fill: Fill = "reflect",
    margin: int = MARGIN,
    batch_size: int = BATCH,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[ERF, ...]:
    """:func:`effective_receptive_field` of every net, on the same images and canvas."""
    out = []
    for i, (net, model) in enumerate(models.items()):

        def part(f: float, i: int = i) -> None:
            report(progress, (i + f) / len(models))

        out.append(
            effective_receptive_field(
                model, images, stage=stage, net=net, fill=fill, margin=margin, batch_size=batch_size, seed=seed,
                progress=part,
            )
        )  # fmt: skip
    return tuple(out)

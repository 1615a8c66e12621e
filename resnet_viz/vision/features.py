"""One forward pass with hooks gives each stage's (and block's) activations as records; these draw them.

Drawing takes records and arrays, never modules: a montage of the top-k channels as one picture, one
channel large, and the mean over channels laid over the input picture.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

__all__ = [
    "ActivationRecord",
    "FeatureResult",
    "Prediction",
    "activation_record",
    "capture",
    "channel_image",
    "colorize",
    "heat_overlay",
    "mean_overlay",
    "montage",
    "predictions",
    "to_png",
    "top_channels",
]

Kind = Literal["stem", "stage", "block", "layer"]  # "layer": any other node of the graph (node_maps)

# Viridis (van der Walt & Smith, matplotlib's default): perceptually uniform, readable in grey.
_VIRIDIS: Final = np.array(
    [
        [68, 1, 84],
        [72, 40, 120],
        [62, 74, 137],
        [49, 104, 142],
        [38, 130, 142],
        [31, 158, 137],
        [53, 183, 121],
        [109, 205, 89],
        [180, 222, 44],
        [253, 231, 37],
    ],
    dtype=np.float32,
)
_LUT: Final = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_VIRIDIS)), _VIRIDIS[:, c]) for c in range(3)], axis=1
).astype(np.uint8)  # (256, 3)


@dataclass(frozen=True)
class ActivationRecord:
    """The output of one stage (or block) for one picture."""

    name: str  # "stem", "layer1", ..., "layer3.1" for a block, or any layer's module path ("layer3.1.conv2")
    kind: Kind
    shape: tuple[int, int, int]  # (C, H, W)
    values: np.ndarray  # (C, H, W) float32
    channel_means: np.ndarray  # (C,) mean activation of each channel
    vmin: float
    vmax: float
    mean: float

    def top(self, k: int) -> tuple[int, ...]:
        return top_channels(self.channel_means, k)


@dataclass(frozen=True)
class Prediction:
    index: int
    probability: float
    label: str  # the class name, or "class {index}" when the weights carry none


@dataclass(frozen=True)
class FeatureResult:
    activations: tuple[ActivationRecord, ...]
    logits: np.ndarray  # (num_classes,)

    def get(self, name: str) -> ActivationRecord:
        return next(a for a in self.activations if a.name == name)

    def stages(self) -> tuple[ActivationRecord, ...]:
        return tuple(a for a in self.activations if a.kind != "block")

    def predictions(self, k: int = 5, categories: tuple[str, ...] | None = None) -> tuple[Prediction, ...]:
        """The k most likely classes (softmax over the logits), best first."""
        return predictions(self.logits, k, categories)


def predictions(logits: np.ndarray, k: int = 5, categories: tuple[str, ...] | None = None) -> tuple[Prediction, ...]:
    """The k most likely classes of (num_classes,) logits (softmax), best first."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max())
    p /= p.sum()
    order = np.argsort(-p, kind="stable")[:k]
    return tuple(Prediction(int(i), float(p[i]), categories[i] if categories else f"class {int(i)}") for i in order)


def top_channels(channel_means: np.ndarray, k: int) -> tuple[int, ...]:
    """Indices of the k channels with the highest mean activation, highest first (ties: lower index)."""
    order = np.argsort(-channel_means, kind="stable")
    return tuple(int(i) for i in order[: max(1, k)])


def activation_record(name: str, kind: Kind, t: Tensor) -> ActivationRecord:
    """The record of one output (1, C, H, W): its values as float32 numpy, each channel's mean, its range."""
    v = t.detach()[0].float().cpu().numpy()  # (C, H, W)
    return ActivationRecord(
        name=name,
        kind=kind,
        shape=(int(v.shape[0]), int(v.shape[1]), int(v.shape[2])),
        values=v,
        channel_means=v.mean(axis=(1, 2)),
        vmin=float(v.min()),
        vmax=float(v.max()),
        mean=float(v.mean()),
    )


def capture(model: nn.Module, x: Tensor, *, blocks: bool = False) -> FeatureResult:
    """Run ``model`` (a ResNet with ``stages()``) once on ``x`` (1, C, H, W) and keep what each stage makes.

    The stem's output is the first stage's input (as the tracer defines it). Hooks come from closure
    factories and are removed in ``finally``; the model's train/eval mode is restored.
    """
    stages: list[nn.Sequential] = list(model.stages())  # type: ignore[operator]
    names: list[str] = list(model.stage_names)  # type: ignore[arg-type]
    seen: list[tuple[int, ActivationRecord]] = []  # (order, record)

    def on_output(name: str, kind: Kind, order: int) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inputs: Any, output: Any) -> None:
            seen.append((order, activation_record(name, kind, output)))

        return hook

    def on_stem(order: int) -> Callable[[nn.Module, Any], None]:
        def hook(_m: nn.Module, inputs: Any) -> None:
            seen.append((order, activation_record("stem", "stem", inputs[0])))

        return hook

    handles = [stages[0].register_forward_pre_hook(on_stem(0))]
    was_training = model.training
    try:
        order = 1
        for name, stage in zip(names, stages):
            if blocks:
                for j, block in enumerate(stage):
                    handles.append(block.register_forward_hook(on_output(f"{name}.{j}", "block", order)))
                    order += 1
            handles.append(stage.register_forward_hook(on_output(name, "stage", order)))
            order += 1
        model.eval()
        with torch.inference_mode():
            logits = model(x)  # (1, num_classes)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    records = tuple(r for _, r in sorted(seen, key=lambda p: p[0]))
    return FeatureResult(records, logits[0].float().cpu().numpy())


def colorize(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 viridis; a flat map is drawn in the lowest colour."""
    lo = float(values.min()) if lo is None else lo
    hi = float(values.max()) if hi is None else hi
    span = hi - lo
    scaled = (values - lo) / span if span > 0 else np.zeros_like(values)
    idx = np.clip(scaled * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _LUT[idx]


def _upscale(rgb: np.ndarray, cell: int) -> np.ndarray:
    """Nearest-neighbour upscaling by a whole factor, so each activation stays a visible square."""
    f = max(1, cell // max(rgb.shape[0], rgb.shape[1]))
    return rgb.repeat(f, axis=0).repeat(f, axis=1) if f > 1 else rgb


def montage(
    record: ActivationRecord, channels: tuple[int, ...], *, cols: int | None = None, cell: int = 96, gap: int = 2
) -> np.ndarray:
    """The chosen channels as one picture (rows × cols cells), each scaled to its own min..max.

    Returns (H, W, 3) uint8. Each cell is upscaled by a whole factor (nearest) to about ``cell`` pixels.
    """
    n = len(channels)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    tiles = [_upscale(colorize(record.values[c]), cell) for c in channels]
    th, tw = tiles[0].shape[:2]
    out = np.full((rows * th + (rows - 1) * gap, cols * tw + (cols - 1) * gap, 3), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw] = tile
    return out


def channel_image(record: ActivationRecord, channel: int, *, size: int = 384) -> np.ndarray:
    """One channel large: (h, w, 3) uint8, nearest-upscaled so single activations stay sharp."""
    return _upscale(colorize(record.values[channel]), size)


def mean_overlay(picture: Image.Image, record: ActivationRecord, *, alpha: float = 0.55) -> np.ndarray:
    """The mean over channels, stretched to ``picture``'s size (bilinear) and blended over it: (H, W, 3) uint8."""
    mean_map = record.values.mean(axis=0)  # (h, w)
    return heat_overlay(picture, mean_map, alpha=alpha)


def heat_overlay(picture: Image.Image, heat: np.ndarray, *, alpha: float = 0.55) -> np.ndarray:
    """Any (h, w) map, min..max coloured, resized to the picture and blended over it: (H, W, 3) uint8."""
    rgb = Image.fromarray(colorize(heat)).resize(picture.size, Image.Resampling.BILINEAR)
    base = np.asarray(picture.convert("RGB"), dtype=np.float32)
    blend = (1 - alpha) * base + alpha * np.asarray(rgb, dtype=np.float32)
    return np.clip(blend + 0.5, 0, 255).astype(np.uint8)


def to_png(rgb: np.ndarray | Image.Image) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 array or a PIL image, for downloads and files."""
    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # level 1: 3-5x faster than the default, files ~20% larger
    return buf.getvalue()

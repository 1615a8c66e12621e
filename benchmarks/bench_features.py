"""Feature maps of ResNet-50 at 224: upload -> every stage's grid as PNG, against a bare forward pass.

Goal (issue 5): under 1 s, and at most 1.5x (bare forward + rendering the grids). The steps are timed
interleaved, round after round, so a neighbour's load on a shared machine hits them all alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from resnet_viz.nets.spec import preset
from resnet_viz.vision.features import capture, mean_overlay, montage, to_png
from resnet_viz.vision.images import load_image, preprocess
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.weights import load_model, twin_of

ROUNDS = 7


def main() -> None:
    model, info = load_model(preset("resnet50"), "imagenet")
    twin = twin_of(model)
    data = sample_bytes("cat")
    pre = preprocess(load_image(data, min_side=256), size=224)
    x = pre.tensor  # (1, 3, 224, 224)
    result = capture(model, x)

    def bare() -> None:
        with torch.inference_mode():
            model(x)

    def hooked() -> None:
        capture(model, x)

    def render() -> None:
        for rec in result.activations:
            to_png(montage(rec, rec.top(16)))
            to_png(mean_overlay(pre.cropped, rec))

    def pipeline(net: torch.nn.Module = model) -> None:
        p = preprocess(load_image(data, min_side=256), size=224)
        for rec in capture(net, p.tensor).activations:
            to_png(montage(rec, rec.top(16)))
            to_png(mean_overlay(p.cropped, rec))

    def both() -> None:
        pipeline(model)
        pipeline(twin)

    steps: dict[str, Callable[[], None]] = {
        "bare": bare,
        "hooked": hooked,
        "render": render,
        "pipeline": pipeline,
        "both": both,
    }
    for fn in steps.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(ROUNDS):
        for name, fn in steps.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"resnet50 @224, weights: {info.source}, torch threads: {torch.get_num_threads()}, median of {ROUNDS}")
    print(f"  bare forward                      {med['bare'] * 1e3:8.1f} ms")
    print(
        f"  forward with hooks (capture)      {med['hooked'] * 1e3:8.1f} ms   {med['hooked'] / med['bare']:.2f}x bare"
    )
    print(f"  rendering (5 grids + 5 overlays)  {med['render'] * 1e3:8.1f} ms")
    print(f"  upload -> every grid as PNG       {med['pipeline'] * 1e3:8.1f} ms   goal < 1000 ms")
    ratio = med["pipeline"] / (med["bare"] + med["render"])
    print(f"  ratio to bare forward + render    {ratio:8.2f} x    goal <= 1.5 x")
    print(f"  residual net and plain twin       {med['both'] * 1e3:8.1f} ms")

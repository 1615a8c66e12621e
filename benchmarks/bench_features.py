"""Feature maps of ResNet-50 at 224: upload -> every stage's grid as PNG, against a bare forward pass.

Goal (issue 5): under 1 s, and at most 1.5x (bare forward + rendering the grids).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from resnet_viz.features import capture, mean_overlay, montage, to_png
from resnet_viz.images import load_image, preprocess
from resnet_viz.samples import sample_bytes
from resnet_viz.weights import load_model, twin_of

REPEATS = 5


def _median(fn: Callable[[], object]) -> float:
    fn()  # warm-up: first-call allocations and kernel selection
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    model, info = load_model("resnet50", "imagenet")  # type: ignore[arg-type]
    twin = twin_of(model)
    data = sample_bytes("cat")
    pre = preprocess(load_image(data), size=224)
    x = pre.tensor
    result = capture(model, x)

    def bare() -> None:
        with torch.inference_mode():
            model(x)

    def render() -> None:
        for rec in result.activations:
            to_png(montage(rec, rec.top(16)))
            to_png(mean_overlay(pre.cropped, rec))

    def pipeline(net: torch.nn.Module = model) -> None:
        p = preprocess(load_image(data, min_side=256), size=224)
        r = capture(net, p.tensor)
        for rec in r.activations:
            to_png(montage(rec, rec.top(16)))
            to_png(mean_overlay(p.cropped, rec))

    t_bare, t_render, t_pipe = _median(bare), _median(render), _median(pipeline)

    def both() -> None:
        pipeline(model)
        pipeline(twin)

    t_both = _median(both)
    print(f"resnet50 @224, weights: {info.source}, torch threads: {torch.get_num_threads()}, median of {REPEATS}")
    print(f"  bare forward                    {t_bare * 1e3:8.1f} ms")
    print(f"  rendering (5 grids + 5 overlays) {t_render * 1e3:7.1f} ms")
    print(f"  upload -> every grid as PNG     {t_pipe * 1e3:8.1f} ms   goal < 1000 ms")
    print(f"  ratio to bare forward + render  {t_pipe / (t_bare + t_render):8.2f} x   goal <= 1.5 x")
    print(f"  with the plain twin as well     {t_both * 1e3:8.1f} ms")

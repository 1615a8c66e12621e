"""Feature maps of ResNet-50 at 224: upload -> every stage's grid as PNG, against a bare forward pass; and every
graph node's activation statistics (issue 26) against the page's every-block capture.

Goal (issue 5): under 1 s, and at most 1.5x (bare forward + rendering the grids). The steps are timed
interleaved, round after round, so a neighbour's load on a shared machine hits them all alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from resnet_viz.nets.spec import preset
from resnet_viz.vision.activations import node_stats
from resnet_viz.vision.budget import footprint
from resnet_viz.vision.features import capture, mean_overlay, montage, to_png
from resnet_viz.vision.images import load_image, preprocess
from resnet_viz.vision.samples import sample_bytes
from resnet_viz.vision.stats_cache import StatsCache, weights_id
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
    stats_arm()


def stats_arm() -> None:
    """Issue 26: every node's statistics in one hooked pass against the feature page's every-block capture, and the
    cache's second call (a lookup: the picture's hash), all interleaved in the same run."""
    model, info = load_model(preset("resnet50"), "imagenet")
    twin = twin_of(model)
    x = preprocess(load_image(sample_bytes("cat"), min_side=256), size=224).tensor  # (1, 3, 224, 224)
    t = time.perf_counter()
    wid = weights_id(info, model)
    id_s = time.perf_counter() - t
    cache = StatsCache()
    stats = node_stats(model, x)

    def bare() -> None:
        with torch.inference_mode():
            model(x)

    def stats_both() -> None:
        node_stats(model, x)
        node_stats(twin, x)

    def blocks_both() -> None:
        capture(model, x, blocks=True)
        capture(twin, x, blocks=True)

    steps: dict[str, Callable[[], object]] = {
        "bare": bare,
        "stats": lambda: node_stats(model, x),
        "blocks": lambda: capture(model, x, blocks=True),
        "stats_both": stats_both,
        "blocks_both": blocks_both,
        "cached": lambda: cache.stats(model, x, weights=wid),
    }
    for fn in steps.values():
        fn()  # warm-up (and the cache's one computation)
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(ROUNDS):
        for name, fn in steps.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    fp = footprint(model.spec, (224, 224))
    print(f"\nstatistics of every node (issue 26): resnet50 @224, weights: {info.source}, median of {ROUNDS}")
    print(f"  nodes with statistics             {len(stats.nodes):8d}")
    print(f"  bare forward                      {med['bare'] * 1e3:8.1f} ms")
    print(f"  stats pass (one, hooked)          {med['stats'] * 1e3:8.1f} ms   {med['stats'] / med['bare']:.2f}x bare")
    print(
        f"  feature page, every block         {med['blocks'] * 1e3:8.1f} ms   stats / this: "
        f"{med['stats'] / med['blocks']:.2f}x"
    )
    print(f"  stats, net and plain twin         {med['stats_both'] * 1e3:8.1f} ms")
    print(f"  every block, net and plain twin   {med['blocks_both'] * 1e3:8.1f} ms")
    print(f"  cached second call (hash+lookup)  {med['cached'] * 1e3:8.1f} ms")
    print(f"  weights id (once per model)       {id_s * 1e3:8.1f} ms")
    print(f"  memory: streamed {fp.streamed / 2**20:.0f} MiB, kept (Grad-CAM) {fp.kept / 2**20:.0f} MiB (estimates)")

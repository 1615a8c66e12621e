"""`python -m resnet_viz features`: a picture through a ResNet; each stage's top channels as PNG grids, or with
``--stats`` every node's activation statistics (mean, standard deviation, dead-ReLU share) from one pass."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from ..nets.checkpoint import read_class_names
from ..nets.hf_config import check_config
from ..nets.infer import Inferred, load_weights
from ..nets.resnet import ResNet
from ..vision.activations import ActivationStats, node_stats
from ..vision.features import FeatureResult, capture, mean_overlay, montage, to_png
from ..vision.images import load_image, preprocess, resize_size
from ..vision.weights import WeightsInfo, load_model, twin_of
from .checkpoint import add_checkpoint_flag, hf_config, net_from_args
from .common import add_spec_flags, positive_int

__all__ = ["features_json", "register", "stats_json"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("features", help="feature maps of every stage for one image, as PNG grids")
    add_spec_flags(p, input_size=False)
    add_checkpoint_flag(p)
    p.add_argument("--class-names", type=Path, metavar="FILE", help="with --checkpoint: one class name per line")
    p.add_argument("--image", required=True, help="JPEG, PNG, WebP, BMP, TIFF or GIF (first frame)")
    p.add_argument("--input-size", type=positive_int, default=224, help="center-crop size (default 224)")
    p.add_argument("--weights", help="random, imagenet (the default; random offline), or a file that fits the flags")
    p.add_argument("--top-k", type=positive_int, default=16, help="channels per grid, by mean activation")
    p.add_argument("--blocks", action="store_true", help="every block too, not only the stem and stages")
    p.add_argument("--out-dir", type=Path, help="write <stage>.png grids and <stage>_mean.png overlays here")
    p.add_argument(
        "--stats", action="store_true", help="every node's mean, std and dead-ReLU share (one pass) instead of grids"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _weights_label(info: WeightsInfo) -> str:
    if info.source == "imagenet":
        return info.detail
    if info.source == "file":
        return f"file:{info.detail}"
    return "random" if info.fallback is None else f"random ({info.fallback})"


def features_json(
    arch: str, info: WeightsInfo, input_shape: tuple[int, ...], result: FeatureResult, k: int, *, classes: bool = True
) -> dict[str, object]:
    """The --json object: what was used, each stage's shape, mean and top channels, and the prediction."""
    out: dict[str, object] = {
        "arch": arch,
        "weights": _weights_label(info),
        "input_shape": list(input_shape),
        "stages": [
            {"name": a.name, "shape": list(a.shape), "mean": a.mean, "top_channels": list(a.top(k))}
            for a in result.activations
        ],
    }
    if info.pretrained and not info.classifier_reset and classes:  # a headless net has no class scores
        out["prediction"] = [
            {"index": p.index, "label": p.label, "probability": p.probability}
            for p in result.predictions(5, info.categories)
        ]
    return out


def stats_json(arch: str, info: WeightsInfo, result: ActivationStats, *, classes: bool = True) -> dict[str, object]:
    """The --stats --json object: what was used, then every graph node's statistics in the order they ran."""
    out: dict[str, object] = {
        "arch": arch,
        "weights": _weights_label(info),
        "input_shape": list(result.input_shape),
        "nodes": [
            {
                "node": s.node,
                "kind": s.kind,
                "type": s.type,
                "shape": list(s.shape),
                "mean": s.mean,
                "std": s.std,
                "dead": s.dead,
            }
            for s in result.nodes.values()
        ],
    }
    if info.pretrained and not info.classifier_reset and classes:
        out["prediction"] = [
            {"index": p.index, "label": p.label, "probability": p.probability}
            for p in result.predictions(5, info.categories)
        ]
    return out


def _print_stats(title: str, info: WeightsInfo, result: ActivationStats) -> None:
    print(f"{title}  weights: {_weights_label(info)}  input {'×'.join(map(str, result.input_shape))}")
    print(f"  {'node':<24} {'type':<18} {'shape':>14} {'mean':>10} {'std':>10} {'dead':>7}")
    for s in result.nodes.values():
        dead = "" if s.dead is None else f"{s.dead:7.1%}"
        shape = "×".join(map(str, s.shape))
        print(f"  {s.node:<24} {s.type:<18} {shape:>14} {s.mean:10.4g} {s.std:10.4g} {dead:>7}")


def _checkpoint_model(a: argparse.Namespace, inferred: Inferred) -> tuple[ResNet, WeightsInfo]:
    """The checkpoint's own net and weights (its plain twin with --plain), with the class names given."""
    if a.weights is not None:
        raise InputError("conflict", first="--checkpoint", second="--weights")
    if inferred.spec.in_channels != 3:
        raise InputError("ckpt_in_channels", n=inferred.spec.in_channels)
    config = hf_config(a)
    names = check_config(config, inferred.spec) if config is not None else None
    if a.class_names is not None:
        if config is not None:
            raise InputError("conflict", first="--class-names", second="--config")
        if not a.class_names.is_file():
            raise InputError("checkpoint_missing_file", path=str(a.class_names))
        names = read_class_names(a.class_names.read_bytes(), inferred.spec.num_classes)
    model = load_weights(inferred)  # a plain file's net is plain already
    twin = a.plain and not inferred.spec.plain
    return (twin_of(model) if twin else model), WeightsInfo("file", detail=inferred.source.name, categories=names)


def run(a: argparse.Namespace) -> int:
    spec, inferred = net_from_args(a)
    path = Path(a.image)
    if not path.is_file():
        raise InputError("image_missing", path=str(path))
    pre = preprocess(load_image(path.read_bytes(), min_side=resize_size(a.input_size)), size=a.input_size)
    if inferred is not None:
        model, info = _checkpoint_model(a, inferred)
    elif a.weights in (None, "random", "imagenet"):
        model, info = load_model(spec, a.weights or "imagenet")
    else:
        ckpt = Path(a.weights)
        if not ckpt.is_file():
            raise InputError("checkpoint_missing_file", path=str(ckpt))
        model, info = load_model(spec, "file", checkpoint=(ckpt.name, ckpt.read_bytes()))
    if a.stats:
        if a.out_dir is not None:
            raise InputError("conflict", first="--stats", second="--out-dir")
        stats = node_stats(model, pre.tensor)
        if a.json:
            print(json.dumps(stats_json(spec.name, info, stats, classes=spec.num_classes > 0)))
        else:
            _print_stats(spec.title, info, stats)
        return 0
    result = capture(model, pre.tensor, blocks=a.blocks)
    if a.out_dir is not None:
        a.out_dir.mkdir(parents=True, exist_ok=True)
        for rec in result.activations:
            (a.out_dir / f"{rec.name}.png").write_bytes(to_png(montage(rec, rec.top(a.top_k))))
            if rec.kind != "block":
                (a.out_dir / f"{rec.name}_mean.png").write_bytes(to_png(mean_overlay(pre.cropped, rec)))
    if a.json:
        print(
            json.dumps(
                features_json(
                    spec.name, info, tuple(pre.tensor.shape[1:]), result, a.top_k, classes=spec.num_classes > 0
                )
            )
        )
    else:
        print(f"{spec.title}  weights: {_weights_label(info)}  input {'×'.join(map(str, pre.tensor.shape[1:]))}")
        for rec in result.activations:
            shape = "×".join(map(str, rec.shape))
            print(f"  {rec.name:<10} {shape:>12}  mean {rec.mean:8.4f}  top {list(rec.top(min(a.top_k, 5)))}")
        if inferred is not None:
            print(f"{inferred.source.name}: {inferred.line()}")
        if info.pretrained and not info.classifier_reset and spec.num_classes:
            for p in result.predictions(5, info.categories):
                print(f"  {p.probability:6.1%}  {p.label}")
        if a.out_dir is not None:
            print(f"grids written to {a.out_dir}")
    return 0

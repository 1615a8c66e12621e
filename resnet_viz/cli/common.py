"""What every subcommand shares: an argparse parser that fails with one `error:` line, and the spec flags."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ..errors import InputError
from ..nets.choices import make_spec
from ..nets.spec import ResNetSpec

__all__ = ["Parser", "add_spec_flags", "fail", "input_size_from_args", "positive_int", "spec_from_args"]


class Parser(argparse.ArgumentParser):
    """Bad flags exit 2 with a single ``error: ...`` line on stderr: no usage dump, no traceback."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return value


def add_spec_flags(p: argparse.ArgumentParser, *, input_size: bool = True) -> None:
    g = p.add_argument_group("network")
    g.add_argument(
        "--arch",
        help="a preset, e.g. resnet50, resnet56, preact_resnet164, or timm's seresnet50, "
        "ecaresnet50t, resnetrs101, resnetv2_50x1_bit",
    )
    g.add_argument("--family", choices=["cifar", "imagenet"], help="with --depth or --layers")
    g.add_argument("--depth", type=positive_int, help="6n+2 / 9n+2 (cifar) or 18/34/50/101/152 (imagenet)")
    g.add_argument("--block", choices=["basic", "bottleneck"])
    g.add_argument("--layers", help="blocks per stage, e.g. 3,4,6,3")
    g.add_argument("--widths", help="planes per stage, e.g. 64,128,256,512")
    g.add_argument("--variant", choices=["v1", "v1.5", "preact"])
    g.add_argument("--shortcut", choices=["A", "B", "C"])
    g.add_argument("--groups", type=positive_int)
    g.add_argument("--width-per-group", type=positive_int)
    g.add_argument("--width-multiplier", type=positive_int)
    g.add_argument("--num-classes", type=positive_int)
    g.add_argument("--no-bn", action="store_true", help="build without batch norm")
    g.add_argument("--zero-init-residual", action="store_true")
    g.add_argument("--plain", action="store_true", help="the plain twin: no shortcuts")
    g.add_argument("--attention", choices=["none", "se", "eca"], help="per block: squeeze-excitation or ECA")
    g.add_argument(
        "--anti-alias",
        choices=["none", "avg", "blur"],
        help="strided convs at stride 1, then an average or blur pool (timm's resnetaa / resnetblur); "
        "with --checkpoint, what its weights cannot say",
    )
    if input_size:
        g.add_argument("--input-size", nargs="+", type=positive_int, metavar=("H", "W"), help="default 224 or 32")


def spec_from_args(a: argparse.Namespace) -> ResNetSpec:
    """The spec the flags describe; a mistake becomes one ``error:`` line and exit 2."""
    if a.arch is None and a.family is None and a.depth is None and a.layers is None:
        fail("give --arch NAME, or --family with --depth, or --block with --layers")
    if a.family is not None and a.depth is None and a.layers is None:
        fail("--family needs --depth or --layers")
    return make_spec(
        arch=a.arch,
        family=a.family,
        depth=a.depth,
        block=a.block,
        layers=a.layers,
        widths=a.widths,
        variant=a.variant,
        shortcut=a.shortcut,
        groups=a.groups,
        width_per_group=a.width_per_group,
        width_multiplier=a.width_multiplier,
        num_classes=a.num_classes,
        batch_norm=False if a.no_bn else None,
        zero_init_residual=True if a.zero_init_residual else None,
        plain=True if a.plain else None,
        attention=getattr(a, "attention", None),
        anti_alias=getattr(a, "anti_alias", None),
    )


def input_size_from_args(a: argparse.Namespace) -> tuple[int, ...] | None:
    size = getattr(a, "input_size", None)
    if size is None:
        return None
    if len(size) > 2:
        raise InputError("bad_size", size=" ".join(map(str, size)), limit=16384)
    return tuple(size)

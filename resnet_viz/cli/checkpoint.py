"""`--checkpoint FILE` for summary, graph and features: the net a checkpoint holds, in place of the spec flags."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..nets.checkpoint import read_checkpoint_file
from ..nets.hf_config import HFConfig, read_hf_config
from ..nets.infer import Inferred, infer
from ..nets.spec import AntiAlias, ResNetSpec
from .common import spec_from_args

__all__ = ["add_checkpoint_flag", "hf_config", "net_from_args"]

# Flags that describe a net themselves, so they cannot go with a file that does; --variant picks v1 or v1.5.
_SPEC_FLAGS = (
    "arch",
    "family",
    "depth",
    "block",
    "layers",
    "widths",
    "shortcut",
    "groups",
    "width_per_group",
    "width_multiplier",
    "num_classes",
    "attention",
)


def add_checkpoint_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        type=Path,
        metavar="FILE",
        help="a state_dict, training checkpoint or safetensors file (torchvision's, timm's, Hugging Face "
        "transformers' or the CIFAR scripts' names): its net, read off its names and shapes "
        "(--variant v1 if it was trained with the stride on the first 1x1, --anti-alias avg or blur if it "
        "blurs or pools where it strides: the weights cannot say either)",
    )
    p.add_argument(
        "--shortcuts",
        choices=["A", "none"],
        default="A",
        help="with --checkpoint: a file without shortcut weights holds option A's net (the default) or a plain one",
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="with --checkpoint: the transformers config.json saved beside the weights (class names, v1 or v1.5)",
    )


def hf_config(a: argparse.Namespace) -> HFConfig | None:
    """The ``--config`` file read, or None."""
    if getattr(a, "config", None) is None:
        return None
    if a.checkpoint is None:
        raise InputError("ckpt_flag_needs_file", flag="--config")
    if not a.config.is_file():
        raise InputError("checkpoint_missing_file", path=str(a.config))
    return read_hf_config(a.config.read_bytes())


def net_from_args(a: argparse.Namespace) -> tuple[ResNetSpec, Inferred | None]:
    """The spec the flags name, or the one read off ``--checkpoint`` (with what was read, for its line)."""
    if a.checkpoint is None:
        if getattr(a, "config", None) is not None:  # flags that only say how to read a file, given none
            raise InputError("ckpt_flag_needs_file", flag="--config")
        if getattr(a, "shortcuts", "A") == "none":
            raise InputError("ckpt_flag_needs_file", flag="--shortcuts")
        return spec_from_args(a), None
    for name in _SPEC_FLAGS:
        if getattr(a, name, None) is not None:
            raise InputError("conflict", first="--checkpoint", second="--" + name.replace("_", "-"))
    for flag, on in (
        ("--no-bn", a.no_bn),
        ("--zero-init-residual", a.zero_init_residual),
        ("--variant preact", a.variant == "preact"),
    ):
        if on:
            raise InputError("conflict", first="--checkpoint", second=flag)
    config = hf_config(a)
    variant = a.variant or (config.variant if config is not None else None) or "v1.5"
    aa: AntiAlias | None = getattr(a, "anti_alias", None)  # None: what the file's arch says, else none
    inferred = infer(read_checkpoint_file(a.checkpoint), variant=variant, plain=a.shortcuts == "none", anti_alias=aa)
    spec = inferred.spec.replace(plain=True) if a.plain else inferred.spec
    return spec, inferred

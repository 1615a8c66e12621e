"""Turn a person's choices (CLI flags or sidebar widgets) into a ResNetSpec, with one sentence per mistake."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ..errors import InputError
from .spec import BlockType, ResNetSpec, cifar_spec, imagenet_spec, preset

__all__ = ["Family", "default_widths", "make_spec", "parse_ints"]

Family = Literal["cifar", "imagenet"]


def parse_ints(text: str | Sequence[int], *, field: str = "layers") -> tuple[int, ...]:
    """ "3,4,6,3" -> (3, 4, 6, 3); anything else is refused in one sentence."""
    if not isinstance(text, str):
        return tuple(text)
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError("bad_layers", value=text) from None
    if not values:
        raise InputError("bad_layers", value=text)
    return values


def default_widths(family: Family, stages: int) -> tuple[int, ...]:
    """64, 128, 256, 512... for ImageNet stems; 16, 32, 64... for CIFAR (He et al. 2015)."""
    base = 64 if family == "imagenet" else 16
    return tuple(base * 2**i for i in range(stages))


def make_spec(
    *,
    arch: str | None = None,
    family: Family | None = None,
    depth: int | None = None,
    block: BlockType | None = None,
    layers: str | Sequence[int] | None = None,
    widths: str | Sequence[int] | None = None,
    **fields: object,
) -> ResNetSpec:
    """One of: a preset ``arch``; a ``family`` with a ``depth``; or a ``block`` type with ``layers``.

    ``fields`` are further ResNetSpec fields (variant, shortcut, batch_norm, plain, num_classes, ...).
    """
    fields = {k: v for k, v in fields.items() if v is not None}
    if arch is not None:
        for flag, value in (("--family", family), ("--depth", depth), ("--layers", layers)):
            if value is not None:
                raise InputError("conflict", first="--arch", second=flag)
        if block is not None:
            fields["block"] = block
        if widths is not None:
            fields["widths"] = parse_ints(widths, field="widths")
        return preset(arch, **fields)
    if depth is not None and layers is not None:
        raise InputError("conflict", first="--depth", second="--layers")
    fam: Family = family or "imagenet"
    if widths is not None:
        fields["widths"] = parse_ints(widths, field="widths")
    if depth is not None:
        if fam == "cifar":
            return cifar_spec(depth, block=block or "basic", **fields)
        if block is not None:
            fields["block"] = block
        return imagenet_spec(depth, **fields)
    if layers is None:
        return preset("resnet50", **fields)
    counts = parse_ints(layers)
    fields.setdefault("widths", default_widths(fam, len(counts)))
    if fam == "cifar":
        fields.setdefault("num_classes", 10)
        fields.setdefault("shortcut", "A" if (block or "basic") == "basic" else "B")
    return ResNetSpec(stem=fam, block=block or "basic", layers=counts, **fields)  # type: ignore[arg-type]

"""The tracer's records: plain, frozen data about every layer, block and stage of a net, and its totals.

They import no torch, so what draws them (graphs, tables, the CLI's JSON) can read them without it, and a report
can be read back from its JSON (``TraceReport.to_dict``) by ``report_from_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

__all__ = [
    "BlockRecord",
    "LayerRecord",
    "Pair",
    "ShortcutKind",
    "StageRecord",
    "Totals",
    "TraceReport",
    "report_from_dict",
]

Pair = tuple[int, int]
ShortcutKind = Literal["identity", "projection", "pad", "none", "concat"]


@dataclass(frozen=True)
class LayerRecord:
    name: str  # qualified module name, "#k" appended on the k-th reuse of a module
    type: str  # the module's class name: Conv2d, BatchNorm2d, ReLU, ResidualAdd, ...
    stage: str  # "stem", "layer1".., "head"
    block: str | None  # the qualified block name ("layer1.0"), None outside blocks
    role: Literal["main", "shortcut"]
    kernel: Pair | None
    stride: Pair | None
    input_shape: tuple[int, ...]  # (C, H, W) or (F,) without the batch dimension
    output_shape: tuple[int, ...]
    params: int
    macs: int  # multiply-accumulates of one image: convolutions and the classifier
    rf: Pair  # receptive field (H, W) in input pixels
    jump: Pair  # distance in input pixels between neighbouring outputs (the total stride)
    activation_bytes: int  # this layer's output, float32, one image
    padding: Pair | None = None  # zero padding (H, W) of a convolution or pooling window


@dataclass(frozen=True)
class BlockRecord:
    name: str  # "layer1.0"
    stage: str
    type: str  # Bottleneck, BasicBlock, _DenseLayer, ...
    shortcut: ShortcutKind
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    rf: Pair
    downsamples: bool  # spatial size shrinks in this block


@dataclass(frozen=True)
class StageRecord:
    name: str  # "stem", "layer1", ...: the side outputs detectors and segmenters tap
    output_shape: tuple[int, ...]
    stride: Pair  # output stride relative to the input
    rf: Pair
    params: int
    macs: int


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int
    activation_bytes: int
    depth: int  # convs and linears on the main path
    layers: int


@dataclass(frozen=True)
class TraceReport:
    arch: str
    title: str
    input_shape: tuple[int, int, int]
    layers: tuple[LayerRecord, ...]
    blocks: tuple[BlockRecord, ...]
    stages: tuple[StageRecord, ...]
    totals: Totals

    @property
    def depth(self) -> int:
        return self.totals.depth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_PAIRS: Final = frozenset({"kernel", "stride", "rf", "jump", "padding"})
_SHAPES: Final = frozenset({"input_shape", "output_shape"})


def _fields(x: dict[str, Any]) -> dict[str, Any]:
    """One record's fields read back from JSON: its pairs and shapes as tuples again."""
    out = dict(x)
    for k, v in x.items():
        if k in _SHAPES:
            out[k] = tuple(int(i) for i in v)
        elif k in _PAIRS and v is not None:
            out[k] = (int(v[0]), int(v[1]))
    return out


def report_from_dict(d: dict[str, Any]) -> TraceReport:
    """A report from its ``to_dict()`` (lists for tuples, as JSON keeps them)."""
    c, h, w = (int(v) for v in d["input_shape"])
    return TraceReport(
        arch=d["arch"],
        title=d["title"],
        input_shape=(c, h, w),
        layers=tuple(LayerRecord(**_fields(x)) for x in d["layers"]),
        blocks=tuple(BlockRecord(**_fields(x)) for x in d["blocks"]),
        stages=tuple(StageRecord(**_fields(x)) for x in d["stages"]),
        totals=Totals(**d["totals"]),
    )

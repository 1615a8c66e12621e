"""DenseNet (Huang et al. 2017) as the counterpoint to ResNet: torchvision's DenseNet through the same tracer.

A dense layer concatenates its k new channels onto everything before it instead of adding, so the
channel count grows by the growth rate k inside a dense block. torchvision's ``_DenseLayer`` receives a
*list* of tensors; the tracer takes the first tensor as a block's input, so :func:`trace_densenet`
rewrites each dense layer's input to the concatenation it really reads (the input of its ``norm1``)
and makes each transition (BN, ReLU, 1x1 conv, 2x2 average pool: a Sequential the tracer does not
count as a block, since it is a stage itself) one block record, so graphs show it as one unit.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final

import torch
from torchvision.models import DenseNet

from .spec import TORCHVISION_PRESETS
from .trace import BlockRecord, LayerRecord, TraceReport, normalize_size, trace, trace_module

__all__ = [
    "DENSENET121",
    "DenseConfig",
    "GrowthStep",
    "NetCost",
    "channel_growth",
    "dense_layer_params",
    "growth_what_if",
    "similar_resnet",
    "stage_growth",
    "trace_densenet",
]


@dataclass(frozen=True)
class DenseConfig:
    """torchvision's DenseNet constructor arguments; the defaults are DenseNet-121 (Huang et al. 2017, Table 1)."""

    growth_rate: int = 32  # k: channels each dense layer adds
    block_config: tuple[int, ...] = (6, 12, 24, 16)  # dense layers per block
    num_init_features: int = 64  # the stem's width (2k)
    bn_size: int = 4  # the bottleneck 1x1 outputs bn_size * k channels

    @property
    def depth(self) -> int:
        """Weighted layers: the stem conv, two convs per dense layer, one per transition, the classifier."""
        return 1 + 2 * sum(self.block_config) + (len(self.block_config) - 1) + 1

    @property
    def name(self) -> str:
        return f"densenet{self.depth}" + ("" if self.growth_rate == 32 else f"-k{self.growth_rate}")


DENSENET121: Final = DenseConfig()


@dataclass(frozen=True)
class GrowthStep:
    """One dense layer: the channels it reads (everything before it) and the channels after it appends k."""

    stage: str  # "denseblock1", ...
    index: int  # 1-based position inside its dense block
    channels_in: int
    channels_out: int
    params: int
    macs: int


@dataclass(frozen=True)
class NetCost:
    """One net's totals at one input size, for side-by-side tables."""

    name: str
    depth: int
    params: int
    macs: int
    out_channels: int  # channels of the last feature map, what the classifier reads
    rf: int  # receptive field (height) of the last stage


def _transition_name(layer_name: str) -> str:
    """ "features.transition1.conv" -> "features.transition1"."""
    parts = layer_name.split(".")
    i = next(i for i, p in enumerate(parts) if p.startswith("transition"))
    return ".".join(parts[: i + 1])


def _fix_dense_records(report: TraceReport) -> TraceReport:
    """Dense layers read the concatenation of a list of tensors; a transition is one block of its own stage."""
    first_in: dict[str, tuple[int, ...]] = {}
    for r in report.layers:
        if r.block is not None and r.block not in first_in:
            first_in[r.block] = r.input_shape  # norm1 runs on the concatenated input
    dense = {b.name: dataclasses.replace(b, input_shape=first_in[b.name]) for b in report.blocks}
    layers = tuple(
        dataclasses.replace(r, block=_transition_name(r.name)) if r.stage.startswith("transition") else r
        for r in report.layers
    )
    members: dict[str, list[LayerRecord]] = {}
    for r in layers:
        if r.stage.startswith("transition") and r.block is not None:
            members.setdefault(r.block, []).append(r)
    transitions = {
        name: BlockRecord(
            name=name,
            stage=rs[0].stage,
            type="_Transition",
            shortcut="none",
            input_shape=rs[0].input_shape,
            output_shape=rs[-1].output_shape,
            params=sum(r.params for r in rs),
            macs=sum(r.macs for r in rs),
            rf=max((r.rf for r in rs), key=lambda p: p[0] * p[1]),
            downsamples=rs[0].input_shape[-2:] != rs[-1].output_shape[-2:],
        )
        for name, rs in members.items()
    }
    order = [r.block for r in layers if r.block is not None]
    blocks = {**dense, **transitions}
    ordered = tuple(blocks[name] for name in dict.fromkeys(order) if name in blocks)
    return dataclasses.replace(report, blocks=ordered, layers=layers)


def trace_densenet(
    config: DenseConfig = DENSENET121, *, input_size: int | tuple[int, int] | None = None
) -> TraceReport:
    """Build torchvision's DenseNet on the meta device (nothing allocated) and trace it like a ResNet."""
    h, w = normalize_size(input_size, 224)
    with torch.device("meta"):
        model = DenseNet(
            growth_rate=config.growth_rate,
            block_config=config.block_config,
            num_init_features=config.num_init_features,
            bn_size=config.bn_size,
        )
    title = f"{config.name} (depth {config.depth})"
    return _fix_dense_records(trace_module(model, (3, h, w), arch=config.name, title=title))


def channel_growth(report: TraceReport) -> tuple[GrowthStep, ...]:
    """Every dense layer's channels in and out, read from the traced records."""
    steps: list[GrowthStep] = []
    index: dict[str, int] = {}
    for b in report.blocks:
        if b.shortcut != "concat":  # transitions
            continue
        index[b.stage] = index.get(b.stage, 0) + 1
        c_in, k = b.input_shape[0], b.output_shape[0]
        steps.append(GrowthStep(b.stage, index[b.stage], c_in, c_in + k, b.params, b.macs))
    return tuple(steps)


def dense_layer_params(channels_in: int, growth_rate: int, bn_size: int = 4) -> int:
    """BN(c) + 1x1 conv c -> bn_size*k + BN(bn_size*k) + 3x3 conv bn_size*k -> k, no biases (by hand)."""
    inner = bn_size * growth_rate
    return 2 * channels_in + channels_in * inner + 2 * inner + inner * growth_rate * 9


def _cost(report: TraceReport) -> NetCost:
    last = report.stages[-1]
    return NetCost(
        report.arch, report.depth, report.totals.params, report.totals.macs, last.output_shape[0], last.rf[0]
    )


def growth_what_if(
    rates: tuple[int, ...], *, base: DenseConfig = DENSENET121, input_size: int | tuple[int, int] | None = None
) -> tuple[NetCost, ...]:
    """Params and MACs of DenseNet with each growth rate k (everything else as ``base``), traced."""
    return tuple(_cost(trace_densenet(dataclasses.replace(base, growth_rate=k), input_size=input_size)) for k in rates)


def similar_resnet(report: TraceReport, *, input_size: int | tuple[int, int] | None = None) -> tuple[NetCost, NetCost]:
    """The DenseNet's costs and those of the torchvision ResNet preset whose MACs are closest to it."""
    size = input_size if input_size is not None else report.input_shape[1:]
    resnets = [_cost(trace(name, input_size=size)) for name in TORCHVISION_PRESETS if name.startswith("resnet")]
    dense = _cost(report)
    best = min(resnets, key=lambda c: abs(c.macs - dense.macs))
    return dense, best


def stage_growth(report: TraceReport) -> tuple[tuple[str, int, int], ...]:
    """(stage, channels in, channels out) of every stage after the stem: dense blocks grow, transitions halve."""
    rows: list[tuple[str, int, int]] = []
    prev = report.stages[0].output_shape[0]
    for s in report.stages[1:]:
        rows.append((s.name, prev, s.output_shape[0]))
        prev = s.output_shape[0]
    return tuple(rows)

"""The numbers the chapter "What each layer sees" quotes: one picture through a net and its plain twin.

``layer_facts`` reads them off the two nets' activation statistics for the same picture (``vision.activations``)
and the net's trace (shapes, strides, receptive fields), so the text quotes what this machine computed, for the
weights it has (ImageNet's, or random ones offline).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..nets.records import ShortcutKind
from ..nets.trace import TraceReport
from ..vision.activations import ActivationStats

__all__ = ["BlockPair", "LayerFacts", "Seen", "layer_facts"]


@dataclass(frozen=True)
class Seen:
    """Where a node stands in the net: its output's shape, its stride and its receptive field, in input pixels."""

    node: str
    shape: tuple[int, ...]  # (C, H, W)
    stride: int
    rf: int


@dataclass(frozen=True)
class BlockPair:
    """One block's output (its ReLU after the add) in the residual net and in the plain twin, for one picture."""

    block: str  # "layer3.1"
    shortcut: ShortcutKind  # the residual net's: identity or projection
    net_dead: float  # share of zeros after the block's last ReLU
    twin_dead: float
    net_std: float  # population standard deviation of the block's output
    twin_std: float
    net_mean: float
    twin_mean: float


@dataclass(frozen=True)
class LayerFacts:
    size: int  # the picture's side, in pixels
    stem: Seen
    first: Seen  # the first block
    node: Seen  # the block the chapter opens at
    last: Seen  # the last stage
    blocks: tuple[BlockPair, ...]  # every block, in order

    @property
    def selected(self) -> BlockPair:
        return next(b for b in self.blocks if b.block == self.node.node)

    @property
    def identity(self) -> tuple[BlockPair, ...]:
        """The blocks whose shortcut is the identity: there the add brings back x >= 0, the last block's output."""
        return tuple(b for b in self.blocks if b.shortcut == "identity")

    @property
    def fewer_zeros(self) -> int:
        """Of the identity blocks, how many have fewer zeros after their ReLU in the residual net than in the twin."""
        return sum(b.net_dead < b.twin_dead for b in self.identity)


def _dead(stats: ActivationStats, node: str) -> float:
    value = stats[node].dead
    if value is None:  # a post-activation block always ends in a ReLU
        raise ValueError(f"{node} has no ReLU in {stats.arch}")
    return value


def layer_facts(net: ActivationStats, twin: ActivationStats, report: TraceReport, node: str) -> LayerFacts:
    """The chapter's numbers for one picture: ``net`` and ``twin`` are the statistics of the residual net and its
    plain twin, ``report`` the residual net's trace at the picture's size, ``node`` a block id (``layer3.1``)."""
    strides = {s.name: s.stride[0] for s in report.stages}
    first, final = report.stages[0], report.stages[-1]

    def seen(name: str) -> Seen:
        b = next(b for b in report.blocks if b.name == name)
        return Seen(name, b.output_shape, strides[b.stage], b.rf[0])

    pairs = tuple(
        BlockPair(
            block=b.name,
            shortcut=b.shortcut,
            net_dead=_dead(net, b.name),
            twin_dead=_dead(twin, b.name),
            net_std=net[b.name].std,
            twin_std=twin[b.name].std,
            net_mean=net[b.name].mean,
            twin_mean=twin[b.name].mean,
        )
        for b in report.blocks
    )
    return LayerFacts(
        size=report.input_shape[1],
        stem=Seen(first.name, first.output_shape, first.stride[0], first.rf[0]),
        first=seen(report.blocks[0].name),
        node=seen(node),
        last=Seen(final.name, final.output_shape, final.stride[0], final.rf[0]),
        blocks=pairs,
    )

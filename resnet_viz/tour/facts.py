"""The numbers each chapter of the guided tour quotes, computed by the app.

The ``*_facts`` functions return plain records whose fields fill the text's placeholders, so every number a
student reads comes from the tracer or the lab's stored runs, not from a typed-in constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ..lab.config import RunConfig
from ..lab.defaults import DEFAULT, REFERENCE_DEPTHS
from ..lab.history import SweepCurve, read_history
from ..lab.insights.kinds import Kind
from ..lab.insights.landscape import Landscape
from ..lab.insights.lesion import Lesions
from ..lab.insights.readings import LesionSummary, lesion_summary
from ..lab.insights.record import Record
from ..lab.insights.service import cached
from ..lab.store import RunRecord, RunStore
from ..nets.spec import IMAGENET_LAYERS, ResNetSpec, preset
from ..nets.trace import BlockRecord, TraceReport, trace

__all__ = [
    "BASIC_DEMO",
    "BOTTLENECK_DEMO",
    "END_WINDOW",
    "LESION_K",
    "PAPER_GFLOPS",
    "SMOOTH",
    "WIDE_BASIC_DEMO",
    "BlockFacts",
    "FamilyRow",
    "LandscapeFacts",
    "LesionFacts",
    "NetLesionFacts",
    "ShortcutRow",
    "SurfaceFacts",
    "SweepEnd",
    "block_facts",
    "family_rows",
    "landscape_facts",
    "lesion_facts",
    "reference_curves",
    "reference_insight",
    "reference_runs",
    "shortcut_rows",
    "smoothed",
    "sweep_ends",
    "v1_vs_v15",
]

# He et al. 2015, Table 1, last row: FLOPs (they count multiply-adds) of the ImageNet nets, in 1e9.
PAPER_GFLOPS: Final[dict[int, float]] = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}


# -- chapter 2: the residual block ------------------------------------------------------------------


# One-block nets (an ImageNet stem, one block, the head), so a block can be drawn layer by layer.
BASIC_DEMO: Final = ResNetSpec(block="basic", layers=(1,), widths=(64,))
BOTTLENECK_DEMO: Final = ResNetSpec(block="bottleneck", layers=(1,), widths=(64,), stem_width=256)
WIDE_BASIC_DEMO: Final = ResNetSpec(block="basic", layers=(1,), widths=(256,), stem_width=256)


@dataclass(frozen=True)
class BlockFacts:
    """A basic block, a bottleneck and a basic block as wide as the bottleneck, at one input size.

    Each is ``layer1.0`` of a one-block net whose stem gives it the input ResNet-34's and ResNet-50's
    ``layer1.1`` see, so the numbers are theirs.
    """

    input_shape: tuple[int, int, int]
    basic: BlockRecord  # two 3x3 convs on 64 channels
    bottleneck: BlockRecord  # 1x1 256->64, 3x3 64->64, 1x1 64->256
    wide_basic: BlockRecord  # two 3x3 convs on 256 channels: what the bottleneck replaces
    basic_report: TraceReport
    bottleneck_report: TraceReport

    @property
    def bottleneck_inner(self) -> int:
        return self.bottleneck.output_shape[0] // BOTTLENECK_DEMO.expansion

    @property
    def saving(self) -> float:
        """How many times fewer MACs the bottleneck needs than two 3x3 convs at its in/out width."""
        return self.wide_basic.macs / self.bottleneck.macs


def block_facts(*, input_size: int | tuple[int, int] | None = None) -> BlockFacts:
    """Trace the three one-block nets at ``input_size`` (default 224)."""
    basic = trace(BASIC_DEMO, input_size=input_size)
    bottle = trace(BOTTLENECK_DEMO, input_size=input_size)
    wide = trace(WIDE_BASIC_DEMO, input_size=input_size)
    return BlockFacts(basic.input_shape, basic.blocks[0], bottle.blocks[0], wide.blocks[0], basic, bottle)


# -- chapter 3: shortcuts when shapes change -------------------------------------------------------------


@dataclass(frozen=True)
class ShortcutRow:
    option: Literal["A", "B", "C"]
    params: int
    macs: int
    shortcut_params: int  # parameters on the shortcut paths alone
    projections: int  # blocks with a 1x1 projection on the shortcut


def shortcut_rows(
    arch: str = "resnet34", *, input_size: int | tuple[int, int] | None = None
) -> tuple[ShortcutRow, ...]:
    """He et al. 2015 Table 3 compares options A, B and C on ResNet-34: their cost, traced."""
    rows = []
    for option in ("A", "B", "C"):
        r = trace(preset(arch, shortcut=option), input_size=input_size)
        rows.append(
            ShortcutRow(
                option=option,  # type: ignore[arg-type]
                params=r.totals.params,
                macs=r.totals.macs,
                shortcut_params=sum(x.params for x in r.layers if x.role == "shortcut"),
                projections=sum(1 for b in r.blocks if b.shortcut == "projection"),
            )
        )
    return tuple(rows)


# -- chapter 5: the family -------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyRow:
    name: str
    depth: int
    block: str
    layers: tuple[int, ...]
    params: int
    macs: int
    macs_v1: int
    paper_gflops: float


def family_rows(*, input_size: int | tuple[int, int] | None = None) -> tuple[FamilyRow, ...]:
    """He et al. 2015 Table 1, computed: ResNet-18..152 as torchvision builds them (v1.5) and as the paper (v1)."""
    rows = []
    for depth, (block, layers) in IMAGENET_LAYERS.items():
        name = f"resnet{depth}"
        r = trace(name, input_size=input_size)
        v1 = trace(preset(name, variant="v1"), input_size=input_size)
        rows.append(FamilyRow(name, r.depth, block, layers, r.totals.params, r.totals.macs, v1.totals.macs,
                              PAPER_GFLOPS[depth]))  # fmt: skip
    return tuple(rows)


def v1_vs_v15(rows: tuple[FamilyRow, ...]) -> tuple[int, int]:
    """ResNet-50's MACs as the paper built it (v1) and as torchvision does (v1.5)."""
    r50 = next(r for r in rows if r.name == "resnet50")
    return r50.macs_v1, r50.macs


# -- chapter 1: the degradation problem --------------------------------------------------------------

SMOOTH: Final = 20  # steps in the moving average the chart draws (the raw loss of one batch is noisy)


def reference_runs(store: RunStore) -> dict[int, RunRecord]:
    """The finished reference runs of the defaults at each depth of ``REFERENCE_DEPTHS``, whatever device trained
    them and however long; where a depth has several (an older release shipped shorter ones), the longest."""
    runs: dict[int, RunRecord] = {}
    for run in store.runs(statuses=("done",)):
        ignore = {"spec": None, "device": None, "steps": None}  # any depth, device and length
        same = {**run.config.to_dict(), **ignore} == {**DEFAULT.to_dict(), **ignore}
        depth = run.config.spec.depth
        longer = depth not in runs or run.config.steps > runs[depth].config.steps
        if run.reference and same and depth in REFERENCE_DEPTHS and longer:
            runs[depth] = run
    return runs


def reference_curves(store: RunStore) -> tuple[RunConfig | None, tuple[SweepCurve, ...]]:
    """He et al. 2015 Fig. 6 on the embedded data: the shipped reference runs, plain then residual, by depth.

    Returns the deepest run's settings (None when no reference run is in the store) and every net's loss.
    """
    runs = reference_runs(store)
    curves = tuple(
        SweepCurve(depth, net == "plain", h.title, h.loss)
        for depth in sorted(runs)
        for net in ("plain", "residual")
        for h in [read_history(store, runs[depth].id, net)]
    )
    return (runs[max(runs)].config if runs else None), curves


def smoothed(values: tuple[float, ...], window: int = SMOOTH) -> tuple[float, ...]:
    """The trailing moving average over ``window`` steps (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return tuple(out)


@dataclass(frozen=True)
class SweepEnd:
    """Where one curve ends: the mean training loss of its last ``window`` steps."""

    depth: int
    plain: bool
    title: str
    final_loss: float


END_WINDOW: Final = 20  # steps averaged at the end of a curve


def sweep_ends(curves: tuple[SweepCurve, ...], *, window: int = END_WINDOW) -> tuple[SweepEnd, ...]:
    """The end of every curve, averaged over a window so one noisy batch does not decide."""
    return tuple(
        SweepEnd(c.depth, c.plain, c.title, sum(c.loss[-window:]) / len(c.loss[-window:])) for c in curves if c.loss
    )


# -- chapters 5 and 6: why it trains, measured on the deepest reference run ---------------------------------


def reference_insight(store: RunStore, kind: Kind) -> tuple[RunRecord, Record] | None:
    """The deepest reference run and its stored ``kind`` record at the Insights page's default settings; None when
    either is missing (the records ship with the reference runs: scripts/precompute_insights.py)."""
    runs = reference_runs(store)
    if not runs:
        return None
    run = runs[max(runs)]
    record = cached(store, run.id, kind, {})
    return None if record is None else (run, record)


@dataclass(frozen=True)
class SurfaceFacts:
    """One net's landscape in four numbers: the loss at its weights, the mean loss at the slice's ends
    (α = ±1: one filter-normalised step away), and the two convexity measures of Li et al. 2018 §6."""

    net: str
    centre_loss: float
    edge_loss: float
    eig_ratio: float  # |λ_min| / |λ_max| of the Hessian at the weights: near 0 is (almost) convex there
    upward_share: float | None  # share of the grid curving upward

    @property
    def rise(self) -> float:
        return self.edge_loss - self.centre_loss


@dataclass(frozen=True)
class LandscapeFacts:
    grid: int
    images: int
    residual: SurfaceFacts
    plain: SurfaceFacts

    @property
    def reading(self) -> Literal["paper", "mixed", "against"]:
        """How many of the two convexity measures find the residual net's surface the more convex one, as Li et
        al. 2018 read theirs: both ("paper"), one ("mixed") or neither ("against"). The measures are a smaller
        eigenvalue ratio at the centre and a larger share of the grid curving upward."""
        r, p = self.residual, self.plain
        votes = (r.eig_ratio < p.eig_ratio) + ((r.upward_share or 0.0) > (p.upward_share or 0.0))
        return ("against", "mixed", "paper")[votes]


def landscape_facts(record: Landscape) -> LandscapeFacts:
    nets = {}
    for s in record.nets:
        edge = (s.slice_loss[0] + s.slice_loss[-1]) / 2
        nets[s.net] = SurfaceFacts(s.net, s.centre_loss, edge, s.eig_ratio, s.upward_share)
    return LandscapeFacts(len(record.alphas), record.images, nets["residual"], nets["plain"])


LESION_K: Final = 5  # the chapter quotes the error after deleting this many random blocks


@dataclass(frozen=True)
class NetLesionFacts:
    net: str
    summary: LesionSummary
    blocks: int
    skippable: int  # blocks that can be deleted at all
    error_k: float | None  # mean error after deleting LESION_K random blocks; None when that many cannot be


@dataclass(frozen=True)
class LesionFacts:
    images: int
    residual: NetLesionFacts
    plain: NetLesionFacts

    @property
    def shows_paper(self) -> bool:
        """Veit et al. 2016's reading holds here: deleting one block hurts the residual net less, on average,
        than deleting one (skippable) block hurts the plain net."""
        r, p = self.residual.summary.mean_single, self.plain.summary.mean_single
        return r is not None and p is not None and r < p


def lesion_facts(record: Lesions) -> LesionFacts:
    summaries = {x.net: x for x in lesion_summary(record)}
    nets = {}
    for n in record.nets:
        at_k = [r.error for r in n.random_k if r.k == LESION_K]
        nets[n.net] = NetLesionFacts(
            n.net, summaries[n.net], len(n.blocks), sum(b.skippable for b in n.blocks), at_k[0] if at_k else None
        )
    return LesionFacts(record.images, nets["residual"], nets["plain"])

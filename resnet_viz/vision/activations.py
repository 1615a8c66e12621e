"""Per-node activation statistics of one picture (mean, standard deviation, dead-ReLU share), from one forward pass.

Every node the graph shows gets a record, keyed by the graph's node id: each module the tracer records (convs,
batch norms, ReLUs, residual adds, pools, the classifier; ``layer3.5.conv2``), each block (``layer3.5``), each
stage (``layer3``) and the ``stem`` and ``head`` groups. Hooks reduce each output to its numbers at once and keep
no tensor, so the pass holds what a bare forward pass holds (``budget.footprint``).

The statistics of a node are those of its output for the one picture, over every element (channels × height ×
width): ``mean``; ``std``, the population standard deviation (divided by the number of elements, not one less: it
describes this activation, it estimates nothing); both in float32, as the activations are, to about 1e-6 of their
size (float64 reductions made the pass 2.4 times as long as a bare forward pass; these 1.3 to 1.5 times). ``dead`` is
the share of exact zeros in a ReLU's output (units the picture leaves switched off). A group (block, stage, stem,
head) takes ``dead`` from the last ReLU that runs inside it: for torchvision's post-activation blocks that is the
ReLU after the add, the block's own output; for the stem its ReLU before the max-pool; for a pre-activation block,
whose output is not rectified, its last branch ReLU. Other layers, and groups without a ReLU, have ``dead`` None.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..nets.resnet import ResNet
from .budget import check_fits
from .features import Prediction, predictions
from .stat_kinds import STATS, Stat

__all__ = ["STATS", "ActivationStats", "NodeKind", "NodeStats", "Stat", "node_stats", "shared_scale"]

NodeKind = Literal["layer", "block", "stage", "group"]  # as the graph's nodes: "group" is the stem or the head


@dataclass(frozen=True)
class NodeStats:
    """One node's output for one picture, reduced to its numbers."""

    node: str  # the graph's node id: "layer3.5.conv2", "layer3.5", "layer3", "stem", "head"
    kind: NodeKind
    type: str  # Conv2d, ReLU, Bottleneck, stage, stem, head, ...
    shape: tuple[int, ...]  # (C, H, W), or (F,) in the head
    mean: float
    std: float  # population standard deviation
    dead: float | None  # share of exact zeros at the node's (last) ReLU; None where it has none

    def value(self, stat: Stat) -> float | None:
        return self.dead if stat == "dead" else self.mean if stat == "mean" else self.std


@dataclass(frozen=True)
class ActivationStats:
    """Every node's statistics for one picture through one net, and the class scores of the same pass."""

    arch: str
    input_shape: tuple[int, int, int]  # (C, H, W)
    nodes: Mapping[str, NodeStats]  # node id -> record: stem, layers in the order they ran, blocks, stages, head
    logits: np.ndarray  # (num_classes,), or the pooled features of a headless net

    def __getitem__(self, node: str) -> NodeStats:
        return self.nodes[node]

    def values(self, stat: Stat) -> dict[str, float]:
        """Node id -> the statistic, for every node that has it (``dead``: ReLUs and groups holding one)."""
        out: dict[str, float] = {}
        for n, s in self.nodes.items():
            v = s.value(stat)
            if v is not None:
                out[n] = v
        return out

    def predictions(self, k: int = 5, categories: tuple[str, ...] | None = None) -> tuple[Prediction, ...]:
        """The k most likely classes of this pass, best first: the classes Grad-CAM offers."""
        return predictions(self.logits, k, categories)


def shared_scale(results: Iterable[ActivationStats], stat: Stat) -> tuple[float, float]:
    """One colour range (lo, hi) of ``stat`` over several results (a net and its plain twin), so both share a scale.

    ``dead`` is a share, so its range is always 0..1; the others span the smallest to the largest value found.
    """
    if stat == "dead":
        return 0.0, 1.0
    vals = [v for r in results for v in r.values(stat).values() if math.isfinite(v)]
    return (min(vals), max(vals)) if vals else (0.0, 1.0)


@dataclass(frozen=True)
class _Reduced:
    shape: tuple[int, ...]
    mean: float
    std: float
    dead: float | None


def _reduce(t: Tensor, *, relu: bool) -> _Reduced:
    """The numbers of one output (1, ...): its mean, its population std (two passes: the mean, then the mean square
    of the deviations from it, stable where the mean dwarfs the spread), and for a ReLU its share of exact zeros."""
    v = t.detach()[0]  # (C, H, W) or (F,)
    flat = v.reshape(-1)  # (n,)
    n = flat.numel()
    mean = flat.sum() / n  # float32; torch sums in blocks, so the error grows with log n, not n
    dev = (flat - mean).square_()  # (n,) squared deviations, in the one float32 copy: a second one costed 2x
    var = dev.sum() / n  # torch's blocked sum: ~1e-8 relative at 800k elements, where BLAS's dot gave 1e-5
    dead = int(torch.count_nonzero(flat == 0)) / n if relu else None
    return _Reduced(tuple(v.shape), float(mean), math.sqrt(float(var)), dead)


def _groups(model: ResNet) -> dict[nn.Module, tuple[str, NodeKind, str]]:
    """Each block and stage module -> (node id, kind, type), as the tracer and the graph name them."""
    out: dict[nn.Module, tuple[str, NodeKind, str]] = {}
    for name, stage in zip(model.stage_names, model.stages()):
        for j, block in enumerate(stage):
            out[block] = (f"{name}.{j}", "block", type(block).__name__)
        out[stage] = (name, "stage", "stage")
    return out


def node_stats(model: ResNet, x: Tensor, *, limit: int | None = None) -> ActivationStats:
    """Every node's statistics for the picture ``x`` (1, C, H, W) through ``model``, in one forward pass with hooks.

    The pass's memory is estimated on the meta device first; beyond ``limit`` (default ``budget.activation_limit()``)
    it is refused with a ``ResourceError`` before anything is allocated. Hooks come from closure factories, act only
    on this thread's pass (another session's forward through the same shared model passes them by) and are removed
    in ``finally``; the model's train/eval mode is restored. Callers sharing a model should still hold its lock.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError(f"one picture (1, C, H, W) expected, got {tuple(x.shape)}")
    h, w = int(x.shape[2]), int(x.shape[3])
    check_fits(model.spec, (h, w), kept=False, limit=limit)
    names = {m: n for n, m in model.named_modules()}
    groups = _groups(model)
    owner = threading.get_ident()
    layers: dict[str, tuple[str, str, _Reduced]] = {}  # label -> (type, section: a stage, "stem" or "head", numbers)
    outputs: dict[str, _Reduced] = {}  # block / stage id -> numbers of its output
    calls: dict[str, int] = {}
    where = {"section": "stem"}  # the stage running now; "stem" before the first, "head" after the last
    # The last output reduced: a block's output is its last ReLU's tensor, a stage's its last block's, so each is
    # reduced once. Holding it until the next hook keeps alive only what the pass itself still holds.
    last: list[tuple[Tensor, _Reduced]] = []

    def on_leaf(module: nn.Module) -> Callable[[nn.Module, Any, Any], None]:
        name, relu = names[module], isinstance(module, nn.ReLU)

        def hook(_m: nn.Module, _inputs: Any, output: Any) -> None:
            if threading.get_ident() != owner or not isinstance(output, Tensor):
                return
            calls[name] = calls.get(name, 0) + 1
            label = name if calls[name] == 1 else f"{name}#{calls[name]}"  # a reused module, as the tracer labels it
            reduced = _reduce(output, relu=relu)
            last[:] = [(output, reduced)]
            layers[label] = (type(module).__name__, where["section"], reduced)

        return hook

    def on_stage_enter(stage: str) -> Callable[[nn.Module, Any], None]:
        def hook(_m: nn.Module, _inputs: Any) -> None:
            if threading.get_ident() == owner:
                where["section"] = stage

        return hook

    def on_group(node: str, stage: bool) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inputs: Any, output: Any) -> None:
            if threading.get_ident() != owner:
                return
            outputs[node] = last[0][1] if last and last[0][0] is output else _reduce(output, relu=False)
            if stage:
                where["section"] = "head"  # until the next stage begins

        return hook

    handles = []
    was_training = model.training
    try:
        for module in names:
            if module in groups:
                node, kind, _ = groups[module]
                handles.append(module.register_forward_hook(on_group(node, kind == "stage")))
                if kind == "stage":
                    handles.append(module.register_forward_pre_hook(on_stage_enter(node)))
            elif (
                module is not model and not any(True for _ in module.children()) and not isinstance(module, nn.Identity)
            ):
                handles.append(module.register_forward_hook(on_leaf(module)))
        model.eval()
        with torch.inference_mode():
            logits = model(x)  # (1, num_classes)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        last.clear()
    nodes = _assemble(layers, outputs, groups)
    return ActivationStats(model.spec.name, (int(x.shape[1]), h, w), nodes, logits[0].float().cpu().numpy())


def _assemble(
    layers: Mapping[str, tuple[str, str, _Reduced]],
    outputs: Mapping[str, _Reduced],
    groups: Mapping[nn.Module, tuple[str, NodeKind, str]],
) -> dict[str, NodeStats]:
    """Records of the stem, every layer in the order they ran, every block and stage, then the head."""
    kinds = {node: (kind, type_) for node, kind, type_ in groups.values()}
    nodes: dict[str, NodeStats] = {}

    def group(node: str, kind: NodeKind, type_: str, members: list[str], out: _Reduced) -> NodeStats:
        relus = [layers[k][2].dead for k in members if layers[k][0] == "ReLU"]
        return NodeStats(node, kind, type_, out.shape, out.mean, out.std, relus[-1] if relus else None)

    stem = [k for k, (_, section, _) in layers.items() if section == "stem"]
    head = [k for k, (_, section, _) in layers.items() if section == "head"]
    if stem:  # the stem's output is its last layer's (the first stage's input, as the tracer defines it)
        nodes["stem"] = group("stem", "group", "stem", stem, layers[stem[-1]][2])
    for label, (type_, _, r) in layers.items():
        nodes[label] = NodeStats(label, "layer", type_, r.shape, r.mean, r.std, r.dead)
    for node, out in outputs.items():
        kind, type_ = kinds[node]
        nodes[node] = group(node, kind, type_, [k for k in layers if k.startswith(node + ".")], out)
    if head:
        nodes["head"] = group("head", "group", "head", head, layers[head[-1]][2])
    return nodes

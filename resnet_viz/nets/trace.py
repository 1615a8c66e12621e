"""Shapes, params, MACs and receptive fields of every layer, traced on the meta device (nothing allocated).

The net is built on PyTorch's ``meta`` device, whose tensors carry shapes but no storage, and one forward
pass runs with hooks on every module. Receptive fields follow every tensor through a thread-local
``TorchFunctionMode`` (so adds and concatenations between modules are seen too), using
r_out = r_in + (k - 1) * d * j_in and j_out = j_in * s (Araujo et al. 2019, "Computing Receptive Fields").
The output is plain records; graphs, tables and plots take these, never modules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ..errors import InputError
from .antialias import BlurPool2d
from .blocks import PadShortcut
from .layers import Part
from .records import BlockRecord, LayerRecord, Pair, ShortcutKind, StageRecord, Totals, TraceReport
from .resnet import ResNet
from .sizes import MAX_INPUT, normalize_size
from .spec import ResNetSpec, spec_from

__all__ = [
    "MAX_INPUT",
    "WEIGHTED",
    "BlockRecord",
    "LayerRecord",
    "StageRecord",
    "Totals",
    "TraceReport",
    "normalize_size",
    "trace",
    "trace_module",
]

WEIGHTED = frozenset({"Conv2d", "StdConv2d", "Linear"})  # the layers a net's depth counts
_STAGE = re.compile(r"^(layer|denseblock|transition)\d+$")
_SHAPE_PRESERVING = frozenset({F.batch_norm, F.relu, torch.relu})
_ELEMENTWISE = frozenset({Tensor.__add__, Tensor.__iadd__, torch.add, Tensor.add})
# The parameters of F.conv2d and F.max_pool2d in order, with their defaults (their signatures)
_CONV2D: dict[str, Any] = {"input": None, "weight": None, "bias": None, "stride": 1, "padding": 0, "dilation": 1,
                           "groups": 1}  # fmt: skip
_AVG_POOL2D: dict[str, Any] = {"input": None, "kernel_size": None, "stride": None, "padding": 0, "ceil_mode": False,
                               "count_include_pad": True, "divisor_override": None}  # fmt: skip
_MAX_POOL2D: dict[str, Any] = {"input": None, "kernel_size": None, "stride": None, "padding": 0, "dilation": 1,
                               "ceil_mode": False, "return_indices": False}  # fmt: skip


def _same_shape_result(func: Any, args: tuple[Any, ...]) -> bool:
    """Ops whose meta result is just ``empty_like(args[0])``: batch norm, ReLU, same-shape adds."""
    if not args or not isinstance(args[0], Tensor) or not args[0].is_meta:
        return False
    if func in _SHAPE_PRESERVING:
        return True
    return func in _ELEMENTWISE and isinstance(args[1], Tensor) and args[1].shape == args[0].shape


def trace(arch_or_spec: str | ResNetSpec, *, input_size: int | Iterable[int] | None = None) -> TraceReport:
    """Trace a ResNet (preset name or spec) at ``input_size`` (default 224, or 32 for CIFAR-stem nets)."""
    spec = spec_from(arch_or_spec)
    h, w = normalize_size(input_size, 32 if spec.stem == "cifar" else 224)
    if min(h, w) < spec.total_stride:
        raise InputError("input_too_small", h=h, w=w, stride=spec.total_stride, name=spec.title)
    with torch.device("meta"):
        model = ResNet(spec)
    try:
        return trace_module(model, (spec.in_channels, h, w), arch=spec.name, title=spec.title)
    except RuntimeError as e:
        # timm's average-pool anti-aliasing rounds odd sizes down where its ResNet-D projection rounds up, so the two
        # paths of a block meet at different sizes (timm's own resnetaa nets fail there too): the input is at fault
        if spec.anti_alias != "avg" or "broadcast" not in str(e):
            raise
        raise InputError("input_paths_clash", h=h, w=w, name=spec.title, stride=spec.total_stride) from e


def _pair(v: int | tuple[int, ...]) -> Pair:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[-1]))


def _stage_of(name: str) -> tuple[str | None, str | None]:
    """("layer2", "layer2.3") for "layer2.3.conv1"; (None, None) outside any stage."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if _STAGE.match(part):
            block = ".".join(parts[: i + 2]) if len(parts) > i + 1 else None
            return part, block
    return None, None


class _Fields(TorchFunctionMode):
    """Receptive field and jump of every tensor the forward pass makes; thread-local, so sessions don't mix."""

    def __init__(self) -> None:
        super().__init__()
        self.info: dict[int, tuple[Tensor, Pair, Pair]] = {}

    def get(self, t: Any) -> tuple[Pair, Pair] | None:
        hit = self.info.get(id(t)) if isinstance(t, Tensor) else None
        return (hit[1], hit[2]) if hit is not None and hit[0] is t else None

    def put(self, t: Tensor, rf: Pair, jump: Pair) -> None:
        self.info[id(t)] = (t, rf, jump)  # keeps t alive, so ids stay unique

    def merge(self, tensors: Iterable[Any]) -> tuple[Pair, Pair] | None:
        known = [f for f in map(self.get, tensors) if f is not None]
        if not known:
            return None
        rf = (max(f[0][0] for f in known), max(f[0][1] for f in known))
        jump = (max(f[1][0] for f in known), max(f[1][1] for f in known))
        return rf, jump

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        if _same_shape_result(func, args):
            # empty_like and the meta kernels of these ops run slow Python decompositions; empty does not
            out = torch.empty(args[0].shape, dtype=args[0].dtype, device="meta")
        elif (shape := _meta_shape(func, args, kwargs or {})) is not None:
            out = torch.empty(shape, dtype=args[0].dtype, device="meta")
        else:
            out = func(*args, **(kwargs or {}))
        if isinstance(out, Tensor) and out.dim() >= 1:
            ins = [a for a in _flat(args) if isinstance(a, Tensor)]
            merged = self.merge(ins)
            if merged is not None and (self.get(out) is None or any(a is out for a in ins)):
                self.put(out, *merged)
        return out


def _meta_shape(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    """The output shape of a convolution, max pooling, the head's pooling or its classifier on meta, else None.

    Their meta kernels are Python (``meta_conv``, ``torch._refs.mean``, the ``addmm`` decomposition), and their
    first calls import sympy and ``torch._dynamo``: about 2.5 s of a fresh server's first trace (the Home page's)
    on 2 busy cores, for shapes that are plain arithmetic. The tests check the traced shapes against torchvision's.
    """
    if not args or not isinstance(args[0], Tensor) or not args[0].is_meta:
        return None
    x = args[0].shape
    if func is F.conv2d:
        conv = {**_CONV2D, **dict(zip(_CONV2D, args)), **kwargs}
        if isinstance(conv["padding"], str) or len(x) != 4:
            return None  # "same" / "valid" padding, or an unbatched input: left to torch
        k = conv["weight"].shape[-2:]
        return (x[0], conv["weight"].shape[0], *_windows(x, k, conv["stride"], conv["padding"], conv["dilation"]))
    if func is F.max_pool2d:
        pool = {**_MAX_POOL2D, **dict(zip(_MAX_POOL2D, args)), **kwargs}
        if pool["ceil_mode"] or pool["return_indices"] or len(x) != 4:
            return None
        k = _pair(pool["kernel_size"])
        return (*x[:2], *_windows(x, k, pool["stride"] or k, pool["padding"], pool["dilation"]))
    if func is F.avg_pool2d and len(x) == 4:
        pool = {**_AVG_POOL2D, **dict(zip(_AVG_POOL2D, args)), **kwargs}
        k = _pair(pool["kernel_size"])
        return (*x[:2], *_windows(x, k, pool["stride"] or k, pool["padding"], 1, ceil=pool["ceil_mode"]))
    if func is F.adaptive_avg_pool2d:
        size = args[1] if len(args) > 1 else kwargs["output_size"]
        out = (size, size) if isinstance(size, int) else tuple(size)
        return (*x[:-2], *(x[-2 + i] if v is None else int(v) for i, v in enumerate(out)))
    if func is F.linear:
        weight = args[1] if len(args) > 1 else kwargs["weight"]
        return (*x[:-1], weight.shape[0])
    return _part_shape(func, x, args, kwargs)


# The ops timm's parts run (SE's squeeze, ECA's 1-D conv, a blur pool's padding, GroupNorm, EvoNorm, FRN, StdConv):
# their meta kernels are Python too, and the first of them would import sympy (~1.4 s), so their shapes are said here.
_UNARY = frozenset({torch.sigmoid, Tensor.sigmoid, torch.square, Tensor.square, torch.sqrt, Tensor.sqrt, torch.rsqrt,
                    Tensor.rsqrt, F.group_norm})  # fmt: skip
_BROADCAST = frozenset({Tensor.__mul__, Tensor.__rmul__, Tensor.__truediv__, Tensor.__add__, Tensor.__radd__,
                        Tensor.__sub__, Tensor.__rsub__, Tensor.mul, Tensor.div, Tensor.add, torch.mul, torch.div,
                        torch.add, torch.maximum})  # fmt: skip
_REDUCE = frozenset({Tensor.mean, torch.mean, Tensor.var, torch.var, Tensor.sum, torch.sum})


def _part_shape(func: Any, x: torch.Size, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    if func in _UNARY:
        return tuple(x)
    if func in _BROADCAST:
        other = tuple(args[1].shape) if len(args) > 1 and isinstance(args[1], Tensor) else ()
        return _broadcast(tuple(x), other)
    if func in _REDUCE:
        dim = kwargs.get("dim", args[1] if len(args) > 1 and not isinstance(args[1], bool) else None)
        if dim is None or kwargs.get("correction") is not None:
            return None
        dims = {d % len(x) for d in ((dim,) if isinstance(dim, int) else dim)}
        keep = kwargs.get("keepdim", False)
        return tuple(1 if i in dims else n for i, n in enumerate(x) if keep or i not in dims)
    if (
        func is F.pad
        and len(args) > 1
        and kwargs.get("mode", args[2] if len(args) > 2 else "constant")
        in (
            "constant",
            "reflect",
        )
    ):
        pad, out = args[1], list(x)
        for i in range(len(pad) // 2):
            out[-1 - i] += pad[2 * i] + pad[2 * i + 1]
        return tuple(out)
    if func is F.conv1d and len(x) == 3 and len(args) > 1:
        conv = {**_CONV2D, **dict(zip(_CONV2D, args)), **kwargs}
        k, s, p, d = conv["weight"].shape[-1], conv["stride"], conv["padding"], conv["dilation"]
        if isinstance(p, str):
            return None
        s, p, d = (v if isinstance(v, int) else v[0] for v in (s, p, d))
        return (x[0], conv["weight"].shape[0], (x[2] + 2 * p - d * (k - 1) - 1) // s + 1)
    return None


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """numpy's broadcasting of two shapes (torch.broadcast_shapes would import sympy), None where they clash."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    if any(p != q and 1 not in (p, q) for p, q in zip(a, b)):
        return None
    return tuple(max(p, q) if 1 in (p, q) else p for p, q in zip(a, b))


def _windows(
    x: torch.Size, kernel: Sequence[int], stride: Any, padding: Any, dilation: Any, *, ceil: bool = False
) -> Pair:
    """(H, W) of a sliding window's output, rounding down, or up with ``ceil`` (torch's pooling formula: a last
    window that would start in the right padding is dropped)."""
    s, p, d = _pair(stride), _pair(padding), _pair(dilation)
    out = []
    for i in range(2):
        span = x[2 + i] + 2 * p[i] - d[i] * (kernel[i] - 1) - 1
        n = (-(-span // s[i]) if ceil else span // s[i]) + 1
        if ceil and (n - 1) * s[i] >= x[2 + i] + p[i]:
            n -= 1
        out.append(n)
    return (out[0], out[1])


def _flat(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item


def _window(module: nn.Module, in_hw: Pair, out_hw: Pair) -> tuple[Pair, Pair, Pair] | None:
    """(kernel, stride, dilation) of a sliding-window module, None for point-wise modules."""
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, BlurPool2d)):
        k, s = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        d = _pair(getattr(module, "dilation", 1))
        return k, s, d
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        s = (max(1, in_hw[0] // out_hw[0]), max(1, in_hw[1] // out_hw[1]))
        k = (math.ceil(in_hw[0] / out_hw[0]), math.ceil(in_hw[1] / out_hw[1]))
        return k, s, (1, 1)
    return None


def _macs(module: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    if isinstance(module, Part):  # attention, blur pools: they say their own
        return module.macs(in_shape, out_shape)
    if isinstance(module, nn.Conv2d):
        kh, kw = _pair(module.kernel_size)
        return math.prod(out_shape) * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def _padding(module: nn.Module) -> Pair | None:
    """A window's zero padding as (H, W); None where the module sets none (adaptive pooling) or pads by name."""
    pad = getattr(module, "padding", None)
    if isinstance(pad, int):
        return (pad, pad)
    if isinstance(pad, tuple) and len(pad) == 2 and all(isinstance(v, int) for v in pad):
        return (pad[0], pad[1])
    return None


def _shortcut_kind(block: nn.Module) -> ShortcutKind:
    if type(block).__name__ == "_DenseLayer":
        return "concat"
    if getattr(block, "add", None) is None:
        return "none"
    ds = getattr(block, "downsample", None)
    if ds is None:
        return "identity"
    return "pad" if isinstance(ds, PadShortcut) else "projection"


def trace_module(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    *,
    arch: str = "model",
    title: str | None = None,
    stage_of: Callable[[str], tuple[str | None, str | None]] = _stage_of,
) -> TraceReport:
    """Trace any meta-device CNN whose stages are named layerN / denseblockN / transitionN."""
    names = {m: n for n, m in model.named_modules()}
    fields = _Fields()
    layers: list[LayerRecord] = []
    stage_out: dict[str, tuple[Tensor, tuple[int, ...]]] = {}
    block_io: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    calls: dict[str, int] = {}
    seen_stage = False
    x = torch.empty((1, *input_shape), device="meta")  # (1, C, H, W), no storage
    fields.put(x, (1, 1), (1, 1))

    def on_leaf(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        nonlocal seen_stage
        if not isinstance(output, Tensor) or isinstance(module, nn.Identity):
            return
        name = names[module]
        calls[name] = calls.get(name, 0) + 1
        label = name if calls[name] == 1 else f"{name}#{calls[name]}"
        stage, block = stage_of(name)
        seen_stage = seen_stage or stage is not None
        stage = stage or ("head" if seen_stage else "stem")
        src = next(a for a in _flat(inputs) if isinstance(a, Tensor))
        in_shape, out_shape = tuple(src.shape[1:]), tuple(output.shape[1:])
        merged = fields.merge(_flat(inputs)) or ((1, 1), (1, 1))
        rf, jump = merged
        win = _window(module, in_shape[-2:], out_shape[-2:]) if len(in_shape) == 3 else None  # type: ignore[arg-type]
        kernel = stride = None
        if win is not None:
            kernel, stride, dil = win
            rf = (rf[0] + (kernel[0] - 1) * dil[0] * jump[0], rf[1] + (kernel[1] - 1) * dil[1] * jump[1])
            jump = (jump[0] * stride[0], jump[1] * stride[1])
        fields.put(output, rf, jump)
        layers.append(
            LayerRecord(
                name=label,
                type=type(module).__name__,
                stage=stage,
                block=block,
                role="shortcut" if ".downsample" in f".{name}" else "main",
                kernel=kernel,
                stride=stride,
                input_shape=in_shape,
                output_shape=out_shape,
                params=sum(p.numel() for p in module.parameters()) if calls[name] == 1 else 0,
                macs=_macs(module, in_shape, out_shape),
                rf=rf,
                jump=jump,
                activation_bytes=output.numel() * output.element_size(),
                padding=_padding(module) if kernel is not None else None,
            )
        )

    def on_container(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        name = names[module]
        if not isinstance(output, Tensor):
            return
        src = next(a for a in _flat(inputs) if isinstance(a, Tensor))
        if _STAGE.match(name.split(".")[-1]):
            if not stage_out:
                stage_out["stem"] = (src, tuple(src.shape[1:]))
            stage_out[name.split(".")[-1]] = (output, tuple(output.shape[1:]))
        else:
            block_io[name] = (tuple(src.shape[1:]), tuple(output.shape[1:]))

    handles = []
    inside = {m for part in names if isinstance(part, Part) for m in part.modules() if m is not part}
    try:
        for module, name in names.items():
            if module is model or module in inside:  # a Part is one node: what it holds is not traced apart
                continue
            leaf = isinstance(module, Part) or not any(True for _ in module.children())
            if leaf:
                handles.append(module.register_forward_hook(on_leaf))
            elif _STAGE.match(name.split(".")[-1]) or stage_of(name)[1] == name:
                handles.append(module.register_forward_hook(on_container))
        was_training = model.training
        model.eval()  # shapes are the same; eval skips batch norm's running-stat updates
        try:
            with torch.no_grad(), fields:
                model(x)
        finally:
            model.train(was_training)
    finally:
        for h in handles:
            h.remove()

    return _report(model, names, layers, stage_out, block_io, fields, input_shape, arch, title or arch)


def _report(
    model: nn.Module,
    names: dict[nn.Module, str],
    layers: list[LayerRecord],
    stage_out: dict[str, tuple[Tensor, tuple[int, ...]]],
    block_io: dict[str, tuple[tuple[int, ...], tuple[int, ...]]],
    fields: _Fields,
    input_shape: tuple[int, int, int],
    arch: str,
    title: str,
) -> TraceReport:
    by_module = {n: m for m, n in names.items()}
    by_block: dict[str | None, list[LayerRecord]] = {}
    by_stage: dict[str, list[LayerRecord]] = {}
    for r in layers:
        by_block.setdefault(r.block, []).append(r)
        by_stage.setdefault(r.stage, []).append(r)
    blocks: list[BlockRecord] = []
    for name, (ins, outs) in block_io.items():
        members = by_block.get(name, [])
        if not members:
            continue
        blocks.append(
            BlockRecord(
                name=name,
                stage=members[0].stage,
                type=type(by_module[name]).__name__,
                shortcut=_shortcut_kind(by_module[name]),
                input_shape=ins,
                output_shape=outs,
                params=sum(r.params for r in members),
                macs=sum(r.macs for r in members),
                rf=max((r.rf for r in members), key=lambda p: p[0] * p[1]),
                downsamples=ins[-1] != outs[-1] or ins[-2] != outs[-2],
            )
        )
    stages: list[StageRecord] = []
    for stage, (tensor, shape) in stage_out.items():
        rf, jump = fields.get(tensor) or ((1, 1), (1, 1))
        members = by_stage.get(stage, [])
        stages.append(StageRecord(stage, shape, jump, rf, sum(r.params for r in members), sum(r.macs for r in members)))
    totals = Totals(
        params=sum(p.numel() for p in model.parameters()),
        buffers=sum(b.numel() for b in model.buffers()),
        macs=sum(r.macs for r in layers),
        activation_bytes=sum(r.activation_bytes for r in layers),
        depth=sum(1 for r in layers if r.role == "main" and r.type in WEIGHTED),
        layers=len(layers),
    )
    return TraceReport(arch, title, input_shape, tuple(layers), tuple(blocks), tuple(stages), totals)

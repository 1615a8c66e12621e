"""A selected node's maps, computed when asked for: its activation (for a top-k channel grid) and Grad-CAM there.

Any node of the graph can be chosen by its id: a layer's module path (``layer3.5.conv2``), a block (``layer3.5``),
a folded run of blocks (``layer3.1-5``: its last block's output), a stage (``layer3``) or the ``stem`` (its output,
the first stage's input). The head's nodes make vectors, not maps, and are refused in one sentence, as is a name
the net does not have. The top-5 classes to offer for Grad-CAM come with the statistics of the same picture
(``ActivationStats.predictions``), whose one pass already computed the class scores.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from typing import Any, Final

import torch
from torch import Tensor, nn

from ..errors import InputError
from ..nets.resnet import ResNet
from .budget import check_fits
from .features import ActivationRecord, Kind, activation_record
from .gradcam import CamRecord, cam_at

__all__ = ["node_activation", "node_gradcam", "resolve_node"]

_RUN: Final = re.compile(r"^(?P<stage>[A-Za-z_]\w*)\.(?P<first>\d+)-(?P<last>\d+)$")  # "layer3.1-5", as graph/model


def resolve_node(model: ResNet, node: str) -> tuple[nn.Module, Kind, bool]:
    """The module whose output is ``node``'s (or, for the ``stem``, whose input), its kind, and whether to tap the
    module's input rather than its output; an id that is no node of the graph raises InputError ``node_unknown``."""
    stages = dict(zip(model.stage_names, model.stages()))
    if node == "stem":
        return stages[model.stage_names[0]], "stem", True
    if node == "head":
        head = model.fc if not isinstance(model.fc, nn.Identity) else model.avgpool
        return head, "layer", False
    if (run := _RUN.match(node)) is not None:
        node = f"{run['stage']}.{run['last']}"
    if node in stages:
        return stages[node], "stage", False
    for name, stage in stages.items():
        for j, block in enumerate(stage):
            if node == f"{name}.{j}":
                return block, "block", False
    try:
        module = model.get_submodule(node) if node else None
    except AttributeError:
        module = None
    # a graph layer is a leaf module with a forward of its own; containers (a projection's Sequential) are not nodes
    if module is None or isinstance(module, nn.Identity) or any(True for _ in module.children()):
        raise InputError("node_unknown", node=node)
    return module, "layer", False


def _check_spatial(node: str, t: Tensor) -> None:
    if t.dim() != 4:
        raise InputError("node_not_spatial", node=node, size=math.prod(t.shape[1:]))


class _Stop(Exception):
    """Raised by the hook once the node's output is kept: the rest of the net need not run."""


def node_activation(model: ResNet, x: Tensor, *, node: str, limit: int | None = None) -> ActivationRecord:
    """``node``'s output for picture ``x`` (1, C, H, W), as the record the feature page's grids are drawn from.

    ``record.top(k)`` gives the grid's channels and ``features.montage`` draws it. The forward pass stops at the
    node. Refused beyond the memory ceiling (``budget.check_fits``) before anything is allocated.
    """
    check_fits(model.spec, (int(x.shape[2]), int(x.shape[3])), kept=False, limit=limit)
    module, kind, on_input = resolve_node(model, node)
    kept: list[ActivationRecord] = []
    owner = threading.get_ident()  # another session's pass through the same shared model is let by, never stopped

    def keep(t: Tensor) -> None:
        if threading.get_ident() != owner:
            return
        _check_spatial(node, t)
        kept.append(activation_record(node, kind, t))
        raise _Stop

    def keep_input() -> Callable[[nn.Module, Any], None]:
        def hook(_m: nn.Module, inputs: Any) -> None:
            keep(inputs[0])

        return hook

    def keep_output() -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inputs: Any, output: Any) -> None:
            keep(output)

        return hook

    handle = module.register_forward_pre_hook(keep_input()) if on_input else module.register_forward_hook(keep_output())
    was_training = model.training
    try:
        model.eval()
        with torch.inference_mode():
            model(x)
    except _Stop:
        pass
    finally:
        handle.remove()
        model.train(was_training)
    return kept[0]


def node_gradcam(
    model: ResNet, x: Tensor, *, node: str, class_index: int | None = None, limit: int | None = None
) -> CamRecord:
    """Grad-CAM (Selvaraju et al. 2017) at any node with feature maps, for ``class_index`` (None: the predicted one).

    As ``gradcam.gradcam`` at its taps, exactly: alpha_c is the gradient of the class score with respect to the
    node's channel c, averaged over space, and the map is ReLU(sum_c alpha_c A_c), at the node's resolution. Only
    the node's gradient is computed (``torch.autograd.grad``), so no ``.grad`` lands on the shared model. The
    backward pass keeps every activation, so the ceiling is checked against ``Footprint.kept``.
    """
    check_fits(model.spec, (int(x.shape[2]), int(x.shape[3])), kept=True, limit=limit)
    module, _, on_input = resolve_node(model, node)
    return cam_at(
        model, x, module, name=node, on_input=on_input, class_index=class_index, check=lambda a: _check_spatial(node, a)
    )

"""Grad-CAM (Selvaraju et al. 2017): where in the picture a stage's features push a class's score up."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError

__all__ = ["CamRecord", "cam_at", "cam_record", "gradcam", "tap_names"]


@dataclass(frozen=True)
class CamRecord:
    """A class-activation map at one tap, at that tap's resolution."""

    tap: str  # "stem", "layer1", ..., or a block "layer3.1"
    class_index: int
    score: float  # the class's logit
    cam: np.ndarray  # (h, w) float32, ReLU(sum_c alpha_c A_c), not normalised
    weights: np.ndarray  # (C,) alpha_c: the gradient averaged over space


def tap_names(model: nn.Module, *, blocks: bool = False) -> list[str]:
    """Where Grad-CAM (and the feature maps) can tap: the stem, every stage, and on request every block."""
    out = ["stem"]
    for name, stage in zip(model.stage_names, model.stages()):  # type: ignore[arg-type, operator]
        if blocks:
            out += [f"{name}.{j}" for j in range(len(stage))]
        out.append(name)
    return out


def gradcam(model: nn.Module, x: Tensor, *, tap: str, class_index: int | None = None) -> CamRecord:
    """Grad-CAM at ``tap`` for ``class_index`` (None: the predicted class), in one forward and one backward.

    alpha_c is the gradient of the class score with respect to channel c, averaged over space; the map is
    ReLU(sum_c alpha_c A_c) (Selvaraju et al. 2017, eq. 1-2). Only the tap's gradient is computed
    (``torch.autograd.grad``), so no ``.grad`` lands on the shared model's parameters.
    """
    if tap not in tap_names(model, blocks=True):
        raise InputError("gradcam_tap", tap=tap)
    first_stage: nn.Module = model.stages()[0]  # type: ignore[operator]
    module = first_stage if tap == "stem" else model.get_submodule(tap)
    return cam_at(model, x, module, name=tap, on_input=tap == "stem", class_index=class_index)


def cam_at(
    model: nn.Module,
    x: Tensor,
    module: nn.Module,
    *,
    name: str,
    on_input: bool,
    class_index: int | None = None,
    check: Callable[[Tensor], None] | None = None,
) -> CamRecord:
    """Grad-CAM at ``module``'s output (``on_input``: its input, the stem's output before the first stage), in one
    forward and one backward; ``check(activation)`` may refuse it before the backward pass.

    Only this thread's pass is hooked: another session's forward through the same shared model is let by. Only the
    activation's gradient is computed (``torch.autograd.grad``), so no ``.grad`` lands on the model's parameters.
    """
    kept: list[Tensor] = []
    owner = threading.get_ident()

    def keep_input() -> Callable[[nn.Module, Any], None]:
        def hook(_m: nn.Module, inputs: Any) -> None:
            if threading.get_ident() == owner:
                kept.append(inputs[0])

        return hook

    def keep_output() -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _inputs: Any, output: Any) -> None:
            if threading.get_ident() == owner:
                kept.append(output)

        return hook

    handle = module.register_forward_pre_hook(keep_input()) if on_input else module.register_forward_hook(keep_output())
    was_training = model.training
    try:
        model.eval()
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)  # makes the graph even when parameters are frozen
            logits = model(xg)  # (1, num_classes)
            act = kept[0]  # (1, C, h, w)
            if check is not None:
                check(act)
            n = logits.shape[1]
            idx = int(logits[0].argmax()) if class_index is None else class_index
            if not 0 <= idx < n:
                raise InputError("gradcam_class", index=idx, n=n)
            (grad,) = torch.autograd.grad(logits[0, idx], act)
    finally:
        handle.remove()
        model.train(was_training)
    return cam_record(name, idx, float(logits[0, idx].detach()), act, grad)


def cam_record(tap: str, idx: int, score: float, act: Tensor, grad: Tensor) -> CamRecord:
    """Selvaraju et al.'s map from one image's activations and their gradients, both (1, C, h, w): channel weights
    are the gradients' spatial means, the map the ReLU of the weighted sum of channels."""
    a = act.detach()[0].float()  # (C, h, w)
    alpha = grad.detach()[0].float().mean(dim=(1, 2))  # (C,)
    cam = torch.relu((alpha[:, None, None] * a).sum(0))  # (h, w)
    return CamRecord(tap, idx, score, cam.cpu().numpy(), alpha.cpu().numpy())

"""timm as the oracle for its ResNet family (test-only; the app never imports timm): each registered model of timm's
``resnet`` and ``resnetv2`` modules, made with random weights, saved as safetensors, opened through the app's
checkpoint path, compared on parameter count and logits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from safetensors.torch import save
from torch import nn

from resnet_viz.errors import UserError
from resnet_viz.nets.checkpoint import read_checkpoint
from resnet_viz.nets.infer import infer, load_weights
from resnet_viz.nets.spec import AntiAlias

MAX_PARAMS = 250_000_000  # the bound: resnext101_32x32d, resnetv2_101x3_bit and resnetv2_152x4_bit lie above
SIZE = 64  # a small input: layer4 is 2x2, so every 3x3 kernel still reads off-centre taps
# tolerance: float32 through up to ~300 layers; relative to the largest logit
RTOL, ATOL_REL = 1e-4, 1e-4

# families in the order; the first pattern that matches names a model's family
FAMILIES: tuple[tuple[str, str], ...] = (
    ("resnetv2", r"resnetv2_.*"),
    ("resnetrs", r"resnetrs\d+"),
    ("seresnetaa/seresnextaa", r"seres(net|next)aa.*"),
    ("resnetaa", r"resnetaa.*"),
    ("resnetblur", r"resnetblur.*"),
    ("ecaresnetlight", r"ecaresnetlight"),
    ("ecaresnext", r"ecaresnext.*"),
    ("ecaresnet", r"ecaresnet.*"),
    ("senet", r"senet\d+"),
    ("seresnext", r"seresnext.*"),
    ("seresnet", r"seresnet.*"),
    ("wide", r"wide_resnet.*"),
    ("resnext", r"resnext.*"),
    ("resnet", r".*"),
)


def family(name: str) -> str:
    return next(f for f, pattern in FAMILIES if re.fullmatch(pattern, name))


def catalogue(timm: object) -> list[str]:
    """timm's resnet and resnetv2 models up to MAX_PARAMS, counted on the meta device (nothing allocated)."""
    names = []
    for module in ("resnet", "resnetv2"):
        for name in timm.list_models(module=module):  # type: ignore[attr-defined]
            if params(timm, name) <= MAX_PARAMS:
                names.append(name)
    return names


def params(timm: object, name: str) -> int:
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)  # type: ignore[attr-defined]
    return sum(p.numel() for p in model.parameters())


def randomized(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every norm's statistics and vectors (BN, GN, EvoNorm's v, FRN's tau) and every bias drawn at random, so every
    tensor's place shows in the logits (timm zero-initialises some, which would hide a misplaced one)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
        for name, p in model.named_parameters():
            if p.dim() == 1:
                scale = name.endswith(("weight", ".v"))
                p.copy_(
                    torch.rand(p.shape, generator=gen) + 0.5 if scale else torch.randn(p.shape, generator=gen) * 0.1
                )
    return model.eval()


@dataclass(frozen=True)
class Outcome:
    name: str
    family: str
    ok: bool
    why: str = ""  # the app's sentence, or what differed


def check(timm: object, name: str, *, size: int = SIZE, seed: int = 0) -> Outcome:
    """timm's ``name`` with random weights, as a safetensors file, opened strictly by the app: same count, logits."""
    torch.manual_seed(seed)
    ref = randomized(timm.create_model(name, pretrained=False), seed)  # type: ignore[attr-defined]
    data = save({k: v.contiguous() for k, v in ref.state_dict().items()})
    aa: AntiAlias = "blur" if "blur" in name else "avg" if re.search(r"aa\d", name) else "none"
    try:
        inferred = infer(read_checkpoint(data, f"{name}.safetensors", limit=len(data)), anti_alias=aa)
    except UserError as e:
        return Outcome(name, family(name), False, str(e))
    ours = load_weights(inferred)
    want_params = sum(p.numel() for p in ref.parameters())
    got_params = sum(p.numel() for p in ours.parameters())
    if got_params != want_params:
        return Outcome(name, family(name), False, f"{got_params} params, timm {want_params}")
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = ref(x), ours(x)
    tol = ATOL_REL * float(want.abs().max())
    if got.shape != want.shape or not torch.allclose(got, want, rtol=RTOL, atol=tol):
        diff = float((got - want).abs().max()) if got.shape == want.shape else float("nan")
        return Outcome(name, family(name), False, f"logits differ by {diff:.3g} (tolerance {tol:.3g})")
    if inferred.spec.name != name:
        return Outcome(name, family(name), False, f"opened as {inferred.spec.name}, not its preset")
    return Outcome(name, family(name), True)

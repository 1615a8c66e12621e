"""Other code bases' names for a ResNet's tensors, as tables that map them onto torchvision's, chosen from the keys.

A dialect is data: a key only that code base writes (its marker), rules that rename each of its keys, and how its
option-A shortcut pads (where the zero channels go). torchvision's names (timm's ``resnet.py`` writes the same) are
the app's own and need no table. A file is read in its dialect once, when it is opened, so everything after it
(inference, the fit check, the weights) sees torchvision's names only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["DIALECTS", "UNSUPPORTED", "Dialect", "DialectName", "Rule", "canonical", "refuse_unmapped_part"]

DialectName = Literal["torchvision", "transformers", "cifar_akamaster", "cifar_kuangliu"]
Pad = Literal["end", "both"]  # option A's zero channels: after the input's (He et al. 2015), or half on each side


@dataclass(frozen=True)
class Rule:
    """``pattern`` matched against a whole key becomes ``template`` filled with its groups; ``bump`` lists the
    groups that count from 0 in the dialect but from 1 in torchvision's names (stages, convs)."""

    pattern: re.Pattern[str]
    template: str
    bump: tuple[int, ...] = ()

    def apply(self, key: str) -> str | None:
        m = self.pattern.fullmatch(key)
        if m is None:
            return None
        groups = [str(int(g) + 1) if i in self.bump else g for i, g in enumerate(m.groups())]
        return self.template.format(*groups)


def _rule(pattern: str, template: str, *bump: int) -> Rule:
    return Rule(re.compile(pattern), template, bump)


@dataclass(frozen=True)
class Dialect:
    """One code base's names: the first dialect (in ``DIALECTS``' order) with a key matching its ``marker``."""

    name: DialectName
    marker: re.Pattern[str] | None  # None: the app's own names, the dialect when no other's marker is there
    rules: tuple[Rule, ...] = ()  # tried in order, the first that matches renames; a key none matches stays
    pad: Pad = "end"


_P: Final = r"(weight|bias|running_mean|running_var|num_batches_tracked)"  # a conv's or a batch norm's tensors
_CIFAR_RULES: Final = (
    _rule(r"linear\.(weight|bias)", "fc.{0}"),
    _rule(rf"(layer\d+\.\d+)\.shortcut\.([01])\.{_P}", "{0}.downsample.{1}.{2}"),
)

DIALECTS: Final[tuple[Dialect, ...]] = (
    # Hugging Face transformers' ResNetModel / ResNetForImageClassification (modeling_resnet.py): the stem is
    # embedder.embedder, stage S's block J is encoder.stages.S.layers.J, its convs layer.K, its projection shortcut;
    # the classifier is classifier.1 (after a Flatten), and ResNetForImageClassification nests the body in `resnet.`.
    Dialect(
        "transformers",
        marker=re.compile(r"(resnet\.)?embedder\.embedder\.convolution\.weight"),
        rules=(
            _rule(r"(?:resnet\.)?embedder\.embedder\.convolution\.weight", "conv1.weight"),
            _rule(rf"(?:resnet\.)?embedder\.embedder\.normalization\.{_P}", "bn1.{0}"),
            _rule(
                r"(?:resnet\.)?encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.convolution\.weight",
                "layer{0}.{1}.conv{2}.weight",
                0,
                2,
            ),
            _rule(
                rf"(?:resnet\.)?encoder\.stages\.(\d+)\.layers\.(\d+)\.layer\.(\d+)\.normalization\.{_P}",
                "layer{0}.{1}.bn{2}.{3}",
                0,
                2,
            ),
            _rule(
                r"(?:resnet\.)?encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.convolution\.weight",
                "layer{0}.{1}.downsample.0.weight",
                0,
            ),
            _rule(
                rf"(?:resnet\.)?encoder\.stages\.(\d+)\.layers\.(\d+)\.shortcut\.normalization\.{_P}",
                "layer{0}.{1}.downsample.1.{2}",
                0,
            ),
            _rule(r"classifier\.1\.(weight|bias)", "fc.{0}"),
        ),
    ),
    # kuangliu/pytorch-cifar (models/resnet.py): ImageNet widths 64..512 on a 3x3 stem, projections `shortcut.0/1`,
    # the classifier `linear`; its train script saves {'net', 'acc', 'epoch'}. (akamaster's option B names the same.)
    Dialect("cifar_kuangliu", marker=re.compile(r"layer\d+\.\d+\.shortcut\.0\.weight"), rules=_CIFAR_RULES),
    # akamaster/pytorch_resnet_cifar10 (resnet.py): ResNet-20...1202, option A by a LambdaLayer that pads
    # planes // 4 zero channels on each side; saved by DataParallel as {'epoch', 'best_prec1', 'state_dict'}.
    Dialect("cifar_akamaster", marker=re.compile(r"linear\.weight"), rules=_CIFAR_RULES, pad="both"),
    Dialect("torchvision", marker=None),
)

# Parts of other ResNet-like nets that no dialect maps, by a key that shows them: named in the refusal, so a file
# with one is told what is missing rather than that it is not a ResNet.
UNSUPPORTED: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"layer\d+\.\d+\.conv2\.(fc1|fc2|bn0|conv)\..*"), "ckpt_part_resnest"),
    (re.compile(r".*\.(paths\.\d+|attn\.fc_reduce)\..*"), "ckpt_part_selective_kernel"),
    (re.compile(r".*\.cbam\..*"), "ckpt_part_cbam"),
    (re.compile(r"layer\d+\.\d+\.(convs|bns)\.\d+\..*"), "ckpt_part_res2net"),
    (re.compile(r"stages\.\d+\.(conv_down|conv_exp|conv_transition|blocks\.\d+\.conv\d\.conv)\..*"), "ckpt_part_csp"),
)
_RESNET_LIKE: Final = re.compile(r"(layer\d+\.\d+|stages\.\d+\.blocks\.\d+)\..*")


def refuse_unmapped_part(keys: list[str]) -> None:
    """Raise the sentence naming the first part no dialect maps, when the keys are otherwise a ResNet's (its code is
    ``ckpt_part_<part>``); nothing when no key names one."""
    if not any(_RESNET_LIKE.fullmatch(k) for k in keys):
        return
    for key in keys:
        for pattern, code in UNSUPPORTED:
            if pattern.fullmatch(key):
                raise InputError(code, key=key)


def _chosen(keys: list[str]) -> Dialect:
    for d in DIALECTS:
        if d.marker is None:
            return d
        if any(d.marker.fullmatch(k) for k in keys):
            return d
    raise AssertionError("the last dialect has no marker")  # pragma: no cover


def _renamed(d: Dialect, key: str) -> str:
    for rule in d.rules:
        if (new := rule.apply(key)) is not None:
            return new
    return key


def canonical(tensors: Mapping[str, Tensor]) -> tuple[DialectName, dict[str, Tensor]]:
    """The file's tensors under torchvision's names, and the dialect they were read in."""
    keys = list(tensors)
    d = _chosen(keys)
    out = {_renamed(d, k): v for k, v in tensors.items()}
    if d.pad == "both":
        out = _pad_at_end(out)
    return d.name, out


def _pad_at_end(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """An option-A net that pads zero channels on both sides, as one that pads them after (the app's PadShortcut).

    Channels are renumbered, never changed: in each stage the residual stream's channels are permuted, and so is
    every tensor that writes the stream (a block's last conv and batch norm) or reads it (a block's first conv,
    the classifier). The net computes the same function, with shortcuts or without (the plain reading).
    """
    stages = sorted({int(m[1]) for k in sd if (m := re.match(r"layer(\d+)\.0\.conv1\.weight$", k))})
    last = "conv3" if any(re.match(r"layer\d+\.\d+\.conv3\.", k) for k in sd) else "conv2"
    norm = "bn3" if last == "conv3" else "bn2"
    perm: list[int] | None = None  # app channel -> the file's channel, in the stream entering the stage
    out = dict(sd)
    for s in stages:
        cin, cout = sd[f"layer{s}.0.conv1.weight"].shape[1], sd[f"layer{s}.0.{last}.weight"].shape[0]
        before = list(range(cin)) if perm is None else perm
        pad = (cout - cin) // 2
        if cout == cin:
            now = before
        elif cout == cin + 2 * pad and f"layer{s}.0.downsample.0.weight" not in sd:
            kept = [c + pad for c in before]
            taken = set(kept)
            now = kept + [c for c in range(cout) if c not in taken]
        else:
            return sd  # not an option-A net padded on both sides: the fit check says what it is
        j = 0
        while f"layer{s}.{j}.conv1.weight" in sd:
            p = f"layer{s}.{j}"
            _take(out, f"{p}.conv1.weight", before if j == 0 else now, dim=1)
            _take(out, f"{p}.{last}.weight", now, dim=0)
            _take(out, f"{p}.{last}.bias", now, dim=0)
            for t in ("weight", "bias", "running_mean", "running_var"):
                _take(out, f"{p}.{norm}.{t}", now, dim=0)
            j += 1
        perm = now
    if perm is not None:
        _take(out, "fc.weight", perm, dim=1)
    return out


def _take(sd: dict[str, Tensor], key: str, order: list[int], *, dim: int) -> None:
    if key in sd and order != list(range(len(order))):
        sd[key] = sd[key].index_select(dim, torch.tensor(order))

"""Weights for a built ResNet: torchvision's ImageNet weights (torch cache or download), user checkpoints, a finished
lab run's trained nets, or random.

Every ``.pth`` is read with ``torch.load(..., weights_only=True)``, so a pickle can never run code; a file
that is not a plain state_dict is refused, and a mismatch is said in one sentence naming the first one.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import torch
from torch import Tensor

from ..errors import InputError
from ..lab.config import NETS
from ..lab.data import load_dataset
from ..lab.store import RunStore
from ..lab.train import load_final
from ..nets.build import build
from ..nets.checkpoint import WRAPPER_KEYS, strip_prefixes
from ..nets.dialects import canonical
from ..nets.resnet import ResNet, seeded
from ..nets.spec import TORCHVISION_PRESETS, ResNetSpec, preset

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "WeightsInfo",
    "apply_checkpoint",
    "apply_imagenet",
    "cached_weights_path",
    "check_fit",
    "imagenet_weights",
    "load_model",
    "load_run",
    "read_checkpoint",
    "supports_imagenet",
    "twin_of",
]

Source = Literal["random", "imagenet", "file", "lab"]
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".th", ".bin", ".safetensors")
SEED = 0  # random weights are the same on every run, so two views of one net agree


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a net actually carries, so every picture can say what made it."""

    source: Source
    detail: str = ""  # "ResNet50_Weights.IMAGENET1K_V2", a file name, a lab run's id, or "" for random
    categories: tuple[str, ...] | None = None  # class names, when the weights come with them
    classifier_reset: bool = False  # pretrained body, new num_classes: the classifier is freshly initialised
    fallback: str | None = None  # why ImageNet weights were asked for but not used: "no_preset" or "offline"

    @property
    def pretrained(self) -> bool:
        return self.source != "random"


def supports_imagenet(spec: ResNetSpec) -> bool:
    """True when ``spec`` is one of torchvision's ResNets (any num_classes), so its ImageNet weights fit."""
    if spec.name not in TORCHVISION_PRESETS:
        return False
    return spec.replace(num_classes=1000, plain=False) == preset(spec.name)


def imagenet_weights(arch: str) -> Any:
    """torchvision's default ImageNet weights entry for ``arch`` (url, categories, metrics)."""
    from torchvision.models import get_model_weights

    return get_model_weights(arch).DEFAULT


def cached_weights_path(arch: str) -> Path:
    """Where torch keeps a downloaded checkpoint: ``$TORCH_HOME/hub/checkpoints/<file name of the url>``."""
    name = Path(urlparse(imagenet_weights(arch).url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _reachable(url: str, timeout: float = 2.0) -> bool:
    host = urlparse(url).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _imagenet_state_dict(arch: str, *, download: bool) -> dict[str, Tensor] | None:
    """The cached file if present, else a download when allowed and the host answers; None offline."""
    path = cached_weights_path(arch)
    if path.is_file():
        return _as_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    if not download or os.environ.get("RESNET_VIZ_OFFLINE") or not _reachable(imagenet_weights(arch).url):
        return None
    try:
        sd = torch.hub.load_state_dict_from_url(
            imagenet_weights(arch).url, map_location="cpu", progress=False, check_hash=True, weights_only=True
        )
    except (OSError, RuntimeError, ValueError):
        return None
    return _as_state_dict(sd)


def apply_imagenet(model: ResNet, *, download: bool = True) -> WeightsInfo:
    """Load torchvision's ImageNet weights into ``model`` where they exist; else leave it and say why.

    With a num_classes other than 1000 the body is loaded and the classifier keeps its fresh
    initialisation: a 1000-way layer is not sliced into a smaller one.
    """
    spec = model.spec
    if not supports_imagenet(spec):
        return WeightsInfo("random", fallback="no_preset")
    sd = _imagenet_state_dict(spec.name, download=download)
    if sd is None:
        return WeightsInfo("random", fallback="offline")
    entry = imagenet_weights(spec.name)
    reset = spec.num_classes != 1000
    if reset:
        sd = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    check_fit(model, sd, ignore=("fc.",) if reset else ())
    model.load_state_dict(sd, strict=not reset)
    cats = None if reset else tuple(entry.meta["categories"])
    return WeightsInfo("imagenet", detail=str(entry), categories=cats, classifier_reset=reset)


def _as_state_dict(obj: object) -> dict[str, Tensor]:
    """A flat {name: tensor} mapping under torchvision's names: a training checkpoint's wrapper key, its wrappers'
    prefixes (``module.``, ``_orig_mod.``, ...) and another code base's dialect undone as for "My checkpoint"."""
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, Tensor) for v in obj.values()):
        raise InputError("checkpoint_not_state_dict")
    return canonical(strip_prefixes(obj)[0])[1]


def read_checkpoint(data: bytes, filename: str) -> dict[str, Tensor]:
    """A state_dict from ``.pth``/``.pt``/``.bin`` (weights_only pickle) or ``.safetensors`` bytes."""
    suffix = Path(filename).suffix.lower()
    if suffix not in CHECKPOINT_SUFFIXES:
        raise InputError("checkpoint_suffix", name=filename, options=", ".join(CHECKPOINT_SUFFIXES))
    if not data:
        raise InputError("checkpoint_empty", name=filename)
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            return _as_state_dict(load(data))
        except (SafetensorError, ValueError, RuntimeError) as e:
            raise InputError("checkpoint_unreadable", name=filename) from e
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # weights_only refuses any pickle that would build an object (a whole nn.Module, an optimizer class)
        if "weights only" in str(e).lower() or "weights_only" in str(e).lower():
            raise InputError("checkpoint_not_state_dict") from e
        raise InputError("checkpoint_unreadable", name=filename) from e
    except (RuntimeError, EOFError, ValueError, OSError, AttributeError, ImportError, TypeError) as e:
        raise InputError("checkpoint_unreadable", name=filename) from e
    return _as_state_dict(obj)


def _shape(t: Tensor | torch.Size) -> str:
    return "×".join(map(str, t.shape if isinstance(t, Tensor) else t)) or "scalar"


def check_fit(model: ResNet, sd: Mapping[str, Tensor], *, ignore: tuple[str, ...] = ()) -> None:
    """Raise one sentence naming the first mismatch (missing key, wrong shape, unexpected key), with a count."""
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(ignore)}
    problems: list[tuple[str, dict[str, object]]] = []
    for key, want in own.items():
        if key not in sd:
            if not key.endswith("num_batches_tracked"):  # older checkpoints lack this counter
                problems.append(("checkpoint_missing", {"key": key}))
        elif sd[key].shape != want.shape:
            problems.append(("checkpoint_shape", {"key": key, "got": _shape(sd[key]), "want": _shape(want)}))
    problems += [("checkpoint_unexpected", {"key": k}) for k in sd if k not in own and not k.startswith(ignore)]
    if problems:
        code, values = problems[0]
        raise InputError(code, arch=model.spec.title, count=len(problems), **values)


def apply_checkpoint(model: ResNet, data: bytes, filename: str) -> WeightsInfo:
    """Load a user's checkpoint into ``model`` after checking every key and shape fits."""
    sd = read_checkpoint(data, filename)
    check_fit(model, sd)
    own = model.state_dict()
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()}, strict=False)
    return WeightsInfo("file", detail=Path(filename).name)


def load_model(
    spec: ResNetSpec,
    weights: Literal["random", "imagenet", "file"] = "imagenet",
    *,
    checkpoint: tuple[str, bytes] | None = None,
    device: str | torch.device = "cpu",
    download: bool = True,
) -> tuple[ResNet, WeightsInfo]:
    """Build ``spec`` (seeded) and give it the chosen weights; the model comes back in eval mode."""
    with seeded(SEED):
        model = build(spec, device="cpu")
    if weights == "imagenet":
        info = apply_imagenet(model, download=download)
    elif weights == "file":
        if checkpoint is None:
            raise InputError("checkpoint_none")
        info = apply_checkpoint(model, checkpoint[1], checkpoint[0])
    else:
        info = WeightsInfo("random")
    return model.to(device).eval(), info


def twin_of(model: ResNet) -> ResNet:
    """The plain twin carrying the same weights wherever it has the same tensor (no shortcut projections).

    No plain twin was ever trained on ImageNet, so this shows what the residual net's own weights do
    once every shortcut is taken away.
    """
    sd = model.state_dict()
    twin = build(model.spec.twin(), device="meta")
    own = twin.state_dict()
    if all(k in sd and sd[k].shape == v.shape for k, v in own.items()):
        # every tensor is the net's own: the twin shares them (assign), so it costs no second copy of the weights
        twin.load_state_dict({k: sd[k] for k in own}, strict=True, assign=True)
        return twin.eval()
    twin = build(model.spec.twin(), device="cpu")
    own = twin.state_dict()
    twin.load_state_dict({k: sd[k] for k in own if k in sd and sd[k].shape == own[k].shape}, strict=False)
    return twin.to(next(model.parameters()).device).eval()


def load_run(store: RunStore, rid: str, *, device: str | torch.device = "cpu") -> tuple[ResNet, ResNet, WeightsInfo]:
    """A finished lab run's own two trained nets, residual and plain, with the class names of the data they learned.

    The plain net is the one the run trained beside the residual net, not ``twin_of`` the residual net's weights.
    Weights come from the run's safetensors blobs, so loading them never runs code.
    """
    run = store.get(rid)
    residual, plain = (load_final(store, rid, net) for net in NETS)
    if not isinstance(residual, ResNet) or not isinstance(plain, ResNet):
        raise TypeError(f"run {rid} did not rebuild as ResNets")  # load_final builds with build(): a bug if not
    c = run.config  # the data set is read as training read it (load_final has just done the same)
    classes = load_dataset(c.dataset, folder=c.folder, seed=c.seed, download=False).classes
    info = WeightsInfo("lab", detail=rid, categories=classes)
    return residual.to(device).eval(), plain.to(device).eval(), info

"""A checkpoint file read into a flat state_dict without running any code, and the form it came in.

Three forms open: a ``state_dict`` saved with ``torch.save``; a training checkpoint holding one under one of
``WRAPPER_KEYS`` (torchvision's reference scripts, Lightning, timm, the CIFAR scripts' ``net``); and a safetensors
file. ``torch.load`` always runs with ``weights_only=True``, so a pickle that would build an object is refused rather
than run. The prefixes that wrappers add (``module.`` for DataParallel, ``_orig_mod.`` for ``torch.compile``,
``model.``, ``backbone.``, ``encoder.``) are stripped when every key carries them, and the names are then read in
their code base's dialect (``dialects``). Only that state_dict is kept: optimizer state and the rest of a training
checkpoint are dropped as soon as the file is read. Each kind of bad file gets one sentence.
"""

from __future__ import annotations

import argparse
import io
import pickle
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import psutil
import torch
from torch import Tensor

from ..config import max_upload_bytes
from ..errors import InputError, ResourceError
from .dialects import DialectName, canonical

__all__ = [
    "PREFIXES",
    "SUFFIXES",
    "WRAPPER_KEYS",
    "Checkpoint",
    "Form",
    "read_checkpoint",
    "read_checkpoint_file",
    "read_class_names",
    "strip_prefixes",
]

Form = Literal["state_dict", "training", "safetensors"]
# looked for in this order: Lightning and most scripts, torchvision's references, timm (and its EMA), kuangliu's CIFAR
WRAPPER_KEYS: Final = ("state_dict", "model", "model_state_dict", "net", "ema", "state_dict_ema", "model_ema")
PREFIXES: Final = ("module.", "model.", "backbone.", "encoder.", "_orig_mod.")
SUFFIXES: Final = (".pth", ".pt", ".th", ".bin", ".ckpt", ".tar", ".safetensors")
_ZIP: Final = b"PK\x03\x04"  # torch.save's default format is a zip archive
_GLOBAL = re.compile(r"GLOBAL ([\w.]+) was not an allowed global")


@dataclass(frozen=True)
class Checkpoint:
    """A file's tensors by name (prefix stripped) and how they were found."""

    name: str  # the file's name, for sentences
    form: Form
    key: str | None  # the training checkpoint's key that held the state_dict
    prefix: str  # what was stripped from every key ("module.model." for two), "" for none
    tensors: Mapping[str, Tensor] = field(repr=False, compare=False)  # under torchvision's names
    dialect: DialectName = "torchvision"  # the code base whose names the file used
    digest: str = ""  # sha256 of the file's bytes, set by the pool that shares one file between sessions
    arch: str | None = None  # the model's name a training checkpoint states beside its weights (timm's train.py: arch)

    @property
    def nbytes(self) -> int:
        """What the kept tensors hold, in bytes."""
        return sum(v.numel() * v.element_size() for v in self.tensors.values())

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in self.tensors.items()}


def _safetensors_header(data: bytes) -> bool:
    """A safetensors file starts with the length of its JSON header (8 bytes, little-endian), then ``{``."""
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 2 <= n <= len(data) and data[8:9] == b"{"


def _text_start(data: bytes) -> str | None:
    """The first line of a text file (HTML included), or None when the bytes are not text."""
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # only a character cut off at the end of the sample is forgiven
            return None
        text = head[: e.start].decode("utf-8")
    if not text or sum(c.isprintable() or c in "\r\n\t" for c in text) < 0.95 * len(text):
        return None
    return text.lstrip("\ufeff \r\n\t").split("\n", 1)[0].strip()


def _refuse_unreadable(data: bytes, name: str) -> None:
    """Empty files and text files (an HTML page saved by a download link, for one) are said as such."""
    if not data:
        raise InputError("ckpt_empty", name=name)
    if data.startswith(_ZIP) or data[:1] == b"\x80" or _safetensors_header(data):
        return
    first = _text_start(data)
    if first is not None:
        raise InputError("ckpt_html" if first.startswith("<") else "ckpt_text", name=name, start=first[:60])
    raise InputError("ckpt_unknown_format", name=name)


def _torch_load(data: bytes, name: str) -> object:
    # torchvision's reference scripts store their argparse.Namespace of options beside the weights: a bag of
    # attributes that builds nothing else, allowed through the documented allowlist.
    if argparse.Namespace not in torch.serialization.get_safe_globals():
        torch.serialization.add_safe_globals([argparse.Namespace])
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise InputError("ckpt_truncated", name=name) from e
        if "Unsupported operand" in str(e) and data[:1] == b"\x80":  # torch's safe unpickler lacks newer opcodes
            raise InputError("ckpt_old_format", name=name, protocol=data[1]) from e
        found = _GLOBAL.search(str(e))  # the class or function the pickle wanted to call
        if found is None:
            raise InputError("ckpt_pickled_code", name=name) from e
        raise InputError("ckpt_pickled_global", name=name, what=found.group(1)) from e
    except (RuntimeError, EOFError, ValueError, OSError, KeyError, IndexError, struct.error) as e:
        # a zip without its central directory, a pickle that stops early: the file was cut short or damaged
        raise InputError("ckpt_truncated", name=name) from e


def _safetensors_load(data: bytes, name: str) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise InputError("ckpt_truncated", name=name) from e


def _is_state_dict(obj: object) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def _unwrap(obj: object, name: str) -> tuple[Mapping[str, Tensor], str | None]:
    """The state_dict and the training checkpoint's key that held it (None for a bare state_dict)."""
    if _is_state_dict(obj):
        return obj, None  # type: ignore[return-value]
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if _is_state_dict(obj.get(key)):
                return obj[key], key
        keys = ", ".join(map(str, list(obj)[:6])) or "none"
        raise InputError("ckpt_no_state_dict", name=name, keys=keys, wrappers=", ".join(WRAPPER_KEYS))
    raise InputError("ckpt_not_mapping", name=name, kind=type(obj).__name__)


def strip_prefixes(sd: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], str]:
    """Keys without the wrappers' prefixes, stripped while every key carries one (``module.model.`` too)."""
    keys, prefix = [str(k) for k in sd], ""
    while True:
        p = next((p for p in PREFIXES if all(k.startswith(p) for k in keys)), None)
        if p is None:
            break
        keys, prefix = [k.removeprefix(p) for k in keys], prefix + p
    return dict(zip(keys, sd.values())), prefix


def read_checkpoint(data: bytes, name: str, *, limit: int | None = None) -> Checkpoint:
    """The tensors of an upload's bytes (``name`` is for sentences), within the upload limit; a bad file raises one
    InputError."""
    cap = max_upload_bytes() if limit is None else limit
    if len(data) > cap:
        raise InputError("ckpt_too_big", name=name, size=_mb(len(data)), limit=_mb(cap))
    return _read(data, name)


def _read(data: bytes, name: str) -> Checkpoint:
    _refuse_unreadable(data, name)
    sd: Mapping[str, Tensor]
    form: Form
    arch: str | None = None
    if _safetensors_header(data):
        sd, key, form = _safetensors_load(data, name), None, "safetensors"
    else:
        obj = _torch_load(data, name)
        sd, key = _unwrap(obj, name)
        form = "state_dict" if key is None else "training"
        if key is not None and isinstance(obj, Mapping) and isinstance(obj.get("arch"), str):
            arch = obj["arch"]  # the model's name, beside the weights
    if not sd:
        raise InputError("ckpt_no_tensors")
    stripped, prefix = strip_prefixes(sd)
    dialect, tensors = canonical(stripped)
    return Checkpoint(name, form, key, prefix, tensors=tensors, dialect=dialect, arch=arch)


def read_checkpoint_file(path: str | Path, *, available: int | None = None) -> Checkpoint:
    """A checkpoint named on the command line: no upload limit, but it must fit in memory (``available`` bytes,
    by default what the system has free), as its bytes and its tensors are held at once while it is read."""
    p = Path(path)
    if not p.is_file():
        raise InputError("checkpoint_missing_file", path=str(p))
    size = p.stat().st_size
    free = psutil.virtual_memory().available if available is None else available
    if 2 * size > free:
        raise ResourceError("ckpt_no_memory", name=p.name, size=_mb(size), free=_mb(free))
    return _read(p.read_bytes(), p.name)


def read_class_names(data: bytes, num_classes: int) -> tuple[str, ...]:
    """One class name per line (blank lines at the end ignored); there must be exactly one per class."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError("ckpt_class_names_text") from e
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if len(names) != num_classes:
        raise InputError("ckpt_class_names", got=len(names), n=num_classes)
    return tuple(names)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"

"""App configuration: the data root, and resolving a user-named path strictly inside it."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError

__all__ = ["REPO_ROOT", "data_root", "resolve_data_path"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """$RESNET_VIZ_DATA_ROOT, else ``<repo>/data``: the only folder the app reads datasets from."""
    env = os.environ.get("RESNET_VIZ_DATA_ROOT")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / "data"


def resolve_data_path(name: str, *, root: Path | None = None) -> Path:
    """``name`` (relative to the data root) as a real path; anything that lands outside the root is refused.

    Symlinks and ``..`` are resolved before the check, so neither can lead out of the root.
    """
    base = (root or data_root()).resolve()
    text = name.strip()
    if not text or "\x00" in text:
        raise InputError("grad_data_outside_root", name=name, root=str(base))
    target = (base / text).resolve()
    if target != base and not target.is_relative_to(base):
        raise InputError("grad_data_outside_root", name=name, root=str(base))
    return target

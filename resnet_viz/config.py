"""App configuration: the data root, resolving a user-named path strictly inside it, and the upload limit."""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

from .errors import InputError

__all__ = ["REPO_ROOT", "data_root", "max_upload_bytes", "resolve_data_path"]

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


@functools.cache
def max_upload_bytes() -> int:
    """Streamlit's ``server.maxUploadSize`` from ``.streamlit/config.toml`` (in MiB, as Streamlit reads it), in bytes.

    The page's uploader refuses a bigger file before it arrives. The CLI does not apply it: a local file is not
    uploaded, and is checked against the memory free instead.
    """
    with (REPO_ROOT / ".streamlit" / "config.toml").open("rb") as f:
        mb = tomllib.load(f).get("server", {}).get("maxUploadSize", 200)  # 200: Streamlit's own default
    return int(mb) * 2**20


def checkpoint_memory_bytes() -> int:
    """``RESNET_VIZ_CHECKPOINT_MB``: the most checkpoint weights the web server holds at once, over all sessions
    (a file several sessions open counts once); default 4096 MiB. A file that would pass it is refused, and none open
    is lost."""
    raw = os.environ.get("RESNET_VIZ_CHECKPOINT_MB", "").strip()
    mb = int(raw) if raw.isdigit() and int(raw) > 0 else 4096
    return mb * 2**20

"""The sidebar's "My checkpoint": a file uploaded, read in memory, its net inferred and said in one line; and that
net with its own weights for the feature-map page.

A file is read once and kept for the session (leaving "My checkpoint" and coming back finds it open), and the server
holds each distinct file once, by its content, for every session that opened it (``nets.pool``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ...config import checkpoint_memory_bytes, max_upload_bytes
from ...errors import UserError
from ...i18n import t
from ...nets.checkpoint import SUFFIXES, Checkpoint, read_checkpoint, read_class_names
from ...nets.hf_config import check_config, read_hf_config
from ...nets.infer import Inferred, StrideAt, infer, load_weights
from ...nets.pool import CheckpointPool
from ...nets.resnet import ResNet
from ...nets.spec import AntiAlias
from ...vision.weights import WeightsInfo, twin_of
from .text import lang, tr

__all__ = ["MyNet", "checkpoint_models", "checkpoint_sidebar"]

_STRIDES: tuple[StrideAt, ...] = ("v1.5", "v1")
Shortcuts = Literal["A", "plain"]
_SHORTCUTS: tuple[Shortcuts, ...] = ("A", "plain")
_KEPT = "_ckpt_kept"  # (upload id, Checkpoint or its sentence): the file this session has open
_SIDE = ("ckpt_names", "ckpt_config")  # the optional class-names and config uploads, kept as (id, name, bytes)
_AA: tuple[AntiAlias, ...] = ("none", "avg", "blur")


@dataclass(frozen=True)
class MyNet:
    """The uploaded checkpoint's net as the pages use it; ``key`` tells two nets apart (the file's content, the
    choices made on it, the names given)."""

    inferred: Inferred
    class_names: tuple[str, ...] | None  # from the user's text file or config.json, else None ("class 0" ...)
    key: str


@st.cache_resource(show_spinner=False)
def _pool() -> CheckpointPool:
    """The server's one pool of open files (all sessions), within RESNET_VIZ_CHECKPOINT_MB."""
    return CheckpointPool(checkpoint_memory_bytes())


def _opened(up: UploadedFile | None) -> Checkpoint | UserError | None:
    """The session's open file: a new upload read (once; through the server's pool), else the one kept."""
    kept = st.session_state.get(_KEPT)
    if up is None and isinstance(kept, tuple) and isinstance(kept[1], UserError):
        _close()  # a refused file is not kept once its upload is gone
        return None
    if up is None or (isinstance(kept, tuple) and kept[0] == up.file_id):
        return kept[1] if isinstance(kept, tuple) else None
    try:
        opened: Checkpoint | UserError = _pool().open(up.getvalue(), up.name, read_checkpoint)
    except UserError as e:
        opened = e
    st.session_state[_KEPT] = (up.file_id, opened)
    st.session_state.pop("_ckpt_inferred", None)
    return opened


def _side_file(key: str, up: UploadedFile | None) -> tuple[str, bytes] | None:
    """An optional side file (class names, config.json), kept for the session like the checkpoint."""
    if up is not None:
        st.session_state[f"_{key}_kept"] = (up.file_id, up.getvalue())
    kept = st.session_state.get(f"_{key}_kept")
    return kept if isinstance(kept, tuple) else None


def _inferred(ckpt: Checkpoint, stride: StrideAt, plain: bool, aa: AntiAlias | None) -> Inferred:
    """``aa`` None: as the file says (its arch), else none. A few readings of one file are kept (the file's own, the
    one chosen)."""
    key = (ckpt.digest, ckpt.name)
    kept = st.session_state.get("_ckpt_inferred")
    kept = kept if isinstance(kept, dict) and all(k[:2] == key for k in kept) else {}
    if (*key, stride, plain, aa) not in kept:
        kept[(*key, stride, plain, aa)] = infer(ckpt, variant=stride, plain=plain, anti_alias=aa)
        st.session_state["_ckpt_inferred"] = kept
    return kept[(*key, stride, plain, aa)]  # type: ignore[no-any-return]


def _choice(switch: AntiAlias, said: AntiAlias) -> AntiAlias | None:
    """The switch as infer's argument: None while it stays where the file put it, so the line says who said it."""
    return None if switch == said else switch


def _close() -> None:
    for k in (_KEPT, "_ckpt_inferred", "_ckpt_models", *(f"_{s}_kept" for s in _SIDE)):
        st.session_state.pop(k, None)


def _side_uploaders(opened: Checkpoint | UserError | None) -> tuple[UploadedFile | None, UploadedFile | None]:
    """The class-names uploader, and the config.json uploader for a file in transformers' names."""
    sb = st.sidebar
    names_up = sb.file_uploader(
        tr("ckpt.class_names"), type=["txt"], key="ckpt_names", help=tr("ckpt.class_names_help")
    )
    config_up = None
    if isinstance(opened, Checkpoint) and opened.dialect == "transformers":
        config_up = sb.file_uploader(tr("ckpt.config"), type=["json"], key="ckpt_config", help=tr("ckpt.config_help"))
    return names_up, config_up


def _choices(ckpt: Checkpoint, config: tuple[str, StrideAt | None] | None) -> Inferred:
    """The net read off the file, with the switches the weights cannot settle: where the stride sits (bottleneck
    nets; a new transformers config sets it), whether a file without shortcut weights is option A or plain, and
    anti-aliasing (timm's resnetaa / resnetblur hold no weights for it: it starts where the file's arch puts it)."""
    s = st.session_state
    if config is not None and config[1] is not None and s.get("_ckpt_config_applied") != config[0]:
        s["ckpt_stride"], s["_ckpt_config_applied"] = config[1], config[0]
    s.setdefault("ckpt_stride", "v1.5")
    s.setdefault("ckpt_shortcuts", "A")
    said = _inferred(ckpt, s["ckpt_stride"], False, None).spec.anti_alias  # the file's arch, or none
    # a new file (or the switch's state dropped on a run that did not draw it): it starts where the file puts it
    if s.get("_ckpt_aa_file") != (ckpt.digest, ckpt.name) or "ckpt_aa" not in s:
        s["ckpt_aa"], s["_ckpt_aa_file"] = said, (ckpt.digest, ckpt.name)
    inferred = _inferred(ckpt, s["ckpt_stride"], s["ckpt_shortcuts"] == "plain", _choice(s["ckpt_aa"], said))
    spec = inferred.spec
    if spec.block == "bottleneck" and spec.variant != "preact":  # only there does the stride's place matter
        st.sidebar.radio(
            tr("ckpt.stride"),
            _STRIDES,
            key="ckpt_stride",
            horizontal=True,  # "v1" and "v1.5" read the same in every language
            help=tr("ckpt.stride_help"),
        )
    code = lang()  # bound now: AppTest calls format_funcs after the run
    if spec.shortcut == "A":  # no shortcut weights, shapes that change: option A's net or a plain one
        st.sidebar.radio(
            tr("ckpt.shortcuts"),
            _SHORTCUTS,
            key="ckpt_shortcuts",
            horizontal=True,
            help=tr("ckpt.shortcuts_help"),
            format_func=lambda v: t(f"ckpt.shortcuts_{v}", code),
        )
    if spec.stem != "cifar":  # anti-aliasing holds no weights: a choice, and the line says whose
        st.sidebar.radio(
            tr("ckpt.anti_alias"),
            _AA,
            key="ckpt_aa",
            format_func=lambda v: t(f"ckpt.aa_choice_{v}", code),
            help=tr("ckpt.anti_alias_help"),
        )
    return _inferred(ckpt, s["ckpt_stride"], s["ckpt_shortcuts"] == "plain", _choice(s["ckpt_aa"], said))


def checkpoint_sidebar() -> tuple[MyNet | None, UserError | None]:
    """Draw the uploaders and the switches; return the session's net, or the one sentence saying why there is none."""
    up = st.sidebar.file_uploader(
        tr("ckpt.upload"),
        type=[s.lstrip(".") for s in SUFFIXES],
        key="ckpt_file",
        help=tr("ckpt.upload_help", limit=f"{max_upload_bytes() // 2**20} MB"),
    )
    opened = _opened(up)
    names_up, config_up = _side_uploaders(opened)
    names_file, config_file = _side_file("ckpt_names", names_up), _side_file("ckpt_config", config_up)
    if not (isinstance(opened, Checkpoint) and opened.dialect == "transformers"):
        config_file = None  # a config kept from a transformers file says nothing of another's
    if opened is None:
        return None, None
    if isinstance(opened, UserError):
        return None, opened
    if up is None:  # kept from an earlier upload: say so, and offer to close it
        st.sidebar.caption(tr("ckpt.kept", name=opened.name))
        st.sidebar.button(tr("ckpt.close"), key="ckpt_close", on_click=_close)
    try:
        config = read_hf_config(config_file[1]) if config_file is not None else None
        inferred = _choices(opened, (config_file[0], config.variant) if config and config_file else None)
        names = check_config(config, inferred.spec) if config is not None else None
        if names_file is not None:
            names = read_class_names(names_file[1], inferred.spec.num_classes)
    except UserError as e:
        return None, e
    st.sidebar.info(tr("ckpt.inferred", name=opened.name, line=inferred.line(lang())), icon=":material/fact_check:")
    side = ":".join(f[0] for f in (names_file, config_file) if f is not None)
    s = inferred.spec
    return MyNet(
        inferred, names, key=f"{opened.digest}:{opened.name}:{s.variant}:{s.plain}:{s.anti_alias}:{side}"
    ), None


Models = tuple[ResNet, ResNet, WeightsInfo, threading.Lock]


def checkpoint_models(net: MyNet, device: str) -> Models:
    """The checkpoint's net with its own weights, its twin, and a lock (hooks on a shared model: one at a time).

    Kept in the session, not in a server-wide cache: on the CPU the two nets hold the pool's tensors themselves (no
    copy), so they cost the session a few modules; and a cache would keep a file's weights alive after every session
    that opened it has ended, counted against the pool's total though nobody has it open.
    """
    kept = st.session_state.get("_ckpt_models")
    if isinstance(kept, tuple) and kept[0] == (net.key, device):
        return kept[1]  # type: ignore[no-any-return]
    model = load_weights(net.inferred, device=device)
    info = WeightsInfo("file", detail=net.inferred.source.name, categories=net.class_names)
    models: Models = (model, twin_of(model), info, threading.Lock())
    st.session_state["_ckpt_models"] = ((net.key, device), models)
    return models

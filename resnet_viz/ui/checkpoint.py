"""The sidebar's "My checkpoint": a file uploaded, read in memory, its net inferred and said in one line; and that
net with its own weights for the feature-map page."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ..config import max_upload_bytes
from ..errors import UserError
from ..nets.checkpoint import SUFFIXES, Checkpoint, read_checkpoint, read_class_names
from ..nets.infer import Inferred, StrideAt, infer, load_weights
from ..nets.resnet import ResNet
from ..nets.spec import AntiAlias
from ..vision.weights import WeightsInfo, twin_of
from .text import lang, tr

__all__ = ["MyNet", "checkpoint_models", "checkpoint_sidebar"]

_STRIDES: tuple[StrideAt, ...] = ("v1.5", "v1")
_AA: tuple[AntiAlias, ...] = ("none", "avg", "blur")


@dataclass(frozen=True)
class MyNet:
    """The uploaded checkpoint's net as the pages use it; ``key`` tells two uploads apart (same name or not)."""

    inferred: Inferred
    class_names: tuple[str, ...] | None  # from the user's text file, else None ("class 0" ... "class N-1")
    key: str


def _opened(up: UploadedFile) -> Checkpoint | UserError:
    """The upload read once per file and kept in this session's state (a bad file's sentence too)."""
    kept = st.session_state.get("_ckpt_opened")
    if isinstance(kept, tuple) and kept[0] == up.file_id:
        return kept[1]  # type: ignore[no-any-return]
    try:
        opened: Checkpoint | UserError = read_checkpoint(up.getvalue(), up.name)
    except UserError as e:
        opened = e
    st.session_state["_ckpt_opened"] = (up.file_id, opened)
    return opened


def _inferred(key: str, ckpt: Checkpoint, stride: StrideAt, aa: AntiAlias | None) -> Inferred:
    """``aa`` None: as the file says (its arch), else none. A few readings are kept (the file's, the one chosen)."""
    kept = st.session_state.get("_ckpt_inferred")
    kept = kept if isinstance(kept, dict) and all(k[0] == key for k in kept) else {}
    if (key, stride, aa) not in kept:
        kept[(key, stride, aa)] = infer(ckpt, variant=stride, anti_alias=aa)
        st.session_state["_ckpt_inferred"] = kept
    return kept[(key, stride, aa)]  # type: ignore[no-any-return]


def _choice(switch: AntiAlias, said: AntiAlias) -> AntiAlias | None:
    """The switch as infer's argument: None while it stays where the file put it, so the line says who said it."""
    return None if switch == said else switch


def _forget() -> None:
    for k in ("_ckpt_opened", "_ckpt_inferred"):
        st.session_state.pop(k, None)


def checkpoint_sidebar() -> tuple[MyNet | None, UserError | None]:
    """Draw the uploader, the class-names uploader and the v1 / v1.5 switch; return the net, or the one sentence."""
    sb = st.sidebar
    limit = f"{max_upload_bytes() // 2**20} MB"
    up = sb.file_uploader(
        tr("ckpt.upload"),
        type=[s.lstrip(".") for s in SUFFIXES],
        key="ckpt_file",
        help=tr("ckpt.upload_help", limit=limit),
    )
    names_up = sb.file_uploader(
        tr("ckpt.class_names"), type=["txt"], key="ckpt_names", help=tr("ckpt.class_names_help")
    )
    if up is None:
        _forget()  # the file was removed: its tensors leave the session with it
        return None, None
    opened = _opened(up)
    if isinstance(opened, UserError):
        return None, opened
    key = f"{up.name}:{up.file_id}"
    st.session_state.setdefault("ckpt_stride", "v1.5")
    try:
        said = _inferred(key, opened, st.session_state["ckpt_stride"], None).spec.anti_alias  # the file's arch, or none
        if st.session_state.get("_ckpt_aa_file") != key:  # a new file: the switch starts where the file puts it
            st.session_state["ckpt_aa"], st.session_state["_ckpt_aa_file"] = said, key
        inferred = _inferred(key, opened, st.session_state["ckpt_stride"], _choice(st.session_state["ckpt_aa"], said))
        spec = inferred.spec
        if spec.block == "bottleneck" and spec.variant != "preact":  # only there does the stride's place matter
            sb.radio(
                tr("ckpt.stride"),
                _STRIDES,
                key="ckpt_stride",
                horizontal=True,  # "v1" and "v1.5" read the same in every language
                help=tr("ckpt.stride_help"),
            )
        if spec.stem != "cifar":  # anti-aliasing holds no weights (timm's resnetaa / resnetblur): a choice, said so
            sb.radio(
                tr("ckpt.anti_alias"),
                _AA,
                key="ckpt_aa",
                format_func=lambda v: tr(f"ckpt.aa_choice_{v}"),
                help=tr("ckpt.anti_alias_help"),
            )
        inferred = _inferred(key, opened, st.session_state["ckpt_stride"], _choice(st.session_state["ckpt_aa"], said))
        names = read_class_names(names_up.getvalue(), spec.num_classes) if names_up is not None else None
    except UserError as e:
        return None, e
    sb.info(tr("ckpt.inferred", name=up.name, line=inferred.line(lang())), icon=":material/fact_check:")
    spec = inferred.spec
    net_key = f"{key}:{spec.variant}:{spec.anti_alias}:{names_up.file_id if names_up else ''}"
    return MyNet(inferred, names, key=net_key), None


Models = tuple[ResNet, ResNet, WeightsInfo, threading.Lock]


@st.cache_resource(max_entries=2, show_spinner=False)
def _models(key: str, device: str, _net: MyNet) -> Models:
    """The checkpoint's net with its own weights, its plain twin, and a lock (hooks on a shared model: one at a time).

    Keyed by the upload's id: another session never has it.
    """
    model = load_weights(_net.inferred, device=device)
    info = WeightsInfo("file", detail=_net.inferred.source.name, categories=_net.class_names)
    return model, twin_of(model), info, threading.Lock()


def checkpoint_models(net: MyNet, device: str) -> Models:
    return _models(net.key, device, net)

"""The picture's controls, shared by the feature page and the explorer: its source (a sample, an upload, a held-out
lab image), its size, the weights, and the one flow from them to a loaded ``Picture`` (``choose_picture``)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ...errors import UserError
from ...vision.samples import SAMPLES, sample_bytes
from ..core.sidebar import Selection
from ..core.text import say_error, tr
from .lab_images import LAB_SIZE, held_out_choice, pick_run
from .picture import IMAGE_TYPES, SIZES, WEIGHT_CHOICES, Picture, load_picture, picture_params, sync_url

__all__ = [
    "Controls",
    "checkpoint_upload",
    "choose_picture",
    "image_bytes",
    "size_and_weights",
    "size_control",
    "weights_choice",
]


def image_bytes(*, lab: bool, key_prefix: str = "feat") -> tuple[bytes | None, str]:
    """The source radio and the chosen picture's bytes with a name for files; None while the uploader is empty."""
    c1, c2 = st.columns([1, 2])
    sources = ("sample", "upload", "held_out") if lab else ("sample", "upload")
    if st.session_state["feat_source"] not in sources:
        st.session_state["feat_source"] = "sample"  # the held-out images go with a lab run's weights
    c1.radio(
        tr("feat.source"), sources, key="feat_source", format_func=lambda v: tr(f"feat.source_{v}"), horizontal=True
    )
    if st.session_state["feat_source"] == "sample":
        name = c2.selectbox(
            tr("feat.sample"), tuple(SAMPLES), key="feat_sample", format_func=lambda v: tr(f"feat.sample_{v}")
        )
        return sample_bytes(str(name)), str(name)
    if st.session_state["feat_source"] == "held_out":
        return held_out_choice(c2)
    up = c2.file_uploader(tr("feat.upload"), type=IMAGE_TYPES, key=f"{key_prefix}_upload", help=tr("feat.upload_help"))
    if up is None:
        return None, ""
    return up.getvalue(), up.name.rsplit(".", 1)[0][:40] or "image"


def weights_choice(where: DeltaGenerator, mine: bool) -> str:
    """The weights radio in ``where`` (or the sidebar's checkpoint, which brings its own); the choice made."""
    if mine:
        where.markdown(f"{tr('feat.weights')}  \n{tr('sidebar.mode_checkpoint')}")
        return "checkpoint"
    where.radio(tr("feat.weights"), WEIGHT_CHOICES, key="feat_weights", format_func=lambda v: tr(f"feat.weights_{v}"))
    return str(st.session_state["feat_weights"])


def checkpoint_upload(key: str = "feat_ckpt") -> tuple[tuple[str, bytes] | None, str]:
    """The uploader of a file for the chosen architecture ("A file for this architecture"): (name, bytes) and a key."""
    up = st.file_uploader(
        tr("feat.ckpt"), type=["pth", "pt", "th", "bin", "safetensors"], key=key, help=tr("feat.ckpt_help")
    )
    if up is None:
        return None, ""
    return (up.name, up.getvalue()), f"{up.name}:{up.file_id}"


# (the sidebar brings its own checkpoint, a lab run's weights are chosen) -> (weights, file, file's key)
Controls = Callable[[bool, bool], tuple[str, tuple[str, bytes] | None, str]]


def size_and_weights(mine: bool, lab: bool, *, key: str = "feat_ckpt") -> tuple[str, tuple[str, bytes] | None, str]:
    """The size slider (a lab run's nets: their own 32×32) and the weights radio, side by side; then the uploader of a
    file for this architecture when that is the choice. Returns the weights, the file and its key."""
    c1, c2 = st.columns(2)
    size_control(c1, lab)
    weights = weights_choice(c2, mine)
    return (weights, *checkpoint_upload(key)) if weights == "file" else (weights, None, "")


def size_control(where: DeltaGenerator, lab: bool) -> None:
    if lab:
        where.caption(tr("feat.lab_size", n=LAB_SIZE))
    else:
        where.select_slider(tr("feat.size"), SIZES, key="feat_size", help=tr("feat.size_help"))


def choose_picture(sel: Selection, controls: Controls, *, key_prefix: str, working: str) -> Picture | None:
    """The picture's controls (``controls`` draws the size and weights), the URL written back, then the picture
    loaded for the chosen nets; None while an upload or a run is awaited, or after one sentence saying why."""
    assert sel.spec is not None
    mine = sel.checkpoint
    lab = st.session_state["feat_weights"] == "lab" and mine is None
    data, stem = image_bytes(lab=lab, key_prefix=key_prefix)
    weights, ckpt, ckpt_key = controls(mine is not None, lab)
    sync_url(picture_params(with_size=weights != "lab"))
    picked = pick_run() if weights == "lab" else None
    if weights == "lab" and picked is None:
        return None  # pick_run has said why
    if data is None:
        st.info(tr("feat.upload_prompt"), icon=":material/upload:")
        return None
    if weights == "file" and ckpt is None:
        st.info(tr("feat.ckpt_prompt"), icon=":material/upload_file:")
        return None
    # the residual net, with its plain twin beside it; a plain checkpoint's own net first, its residual twin beside it
    spec = sel.spec.replace(plain=mine is not None and mine.inferred.spec.plain)
    try:
        with st.spinner(working):
            return load_picture(
                spec, device=sel.device, data=data, stem=stem, size=int(st.session_state["feat_size"]),
                weights=weights, mine=mine, ckpt=ckpt, ckpt_key=ckpt_key, run=picked,
            )  # fmt: skip
    except UserError as e:
        say_error(e)
        return None

"""The feature-map page: a picture through the chosen ResNet and its plain twin (or a finished lab run's two trained
nets), stage by stage, with Grad-CAM."""

from __future__ import annotations

import hashlib
import threading

import streamlit as st
from PIL import Image

from ...errors import InputError, UserError
from ...lab.data import CIFAR_MEAN, CIFAR_STD
from ...lab.store import RunStore
from ...nets.resnet import ResNet
from ...nets.spec import ResNetSpec
from ...vision.features import FeatureResult, capture, heat_overlay, to_png
from ...vision.gradcam import CamRecord, gradcam, tap_names
from ...vision.images import CROP_RATIO, IMAGENET_MEAN, IMAGENET_STD, Preprocessed, load_image, preprocess, resize_size
from ...vision.samples import SAMPLES, sample_bytes
from ...vision.weights import WeightsInfo, load_model, load_run, twin_of
from ..core.checkpoint import checkpoint_models
from ..core.sidebar import usable
from ..core.text import net_title, say_error, tr
from .lab_images import LAB_SIZE, held_out_choice, lab_banner, pick_run
from .views import grids, one_channel, overlays, show

__all__ = ["render_features"]

SIZES = (32, 64, 96, 128, 160, 224, 288, 384, 448, 512)
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"]
WEIGHT_CHOICES = ("imagenet", "random", "file", "lab")
DEFAULTS: dict[str, object] = {
    "feat_source": "sample",
    "feat_sample": "cat",
    "feat_size": 224,
    "feat_weights": "imagenet",
    "feat_k": 16,
    "feat_blocks": False,
    "feat_twin": True,
}
Models = tuple[ResNet, ResNet, WeightsInfo, threading.Lock]


@st.cache_resource(max_entries=3, show_spinner=False)
def _models(spec: ResNetSpec, weights: str, ckpt_key: str, _ckpt: tuple[str, bytes] | None, device: str) -> Models:
    """The residual net with its weights, its plain twin, and a lock: hooks on a shared model need one at a time."""
    model, info = load_model(spec, weights, checkpoint=_ckpt, device=device)  # type: ignore[arg-type]
    return model, twin_of(model), info, threading.Lock()


@st.cache_resource(max_entries=2, show_spinner=False)
def _run_models(url: str, rid: str, _store: RunStore, device: str) -> Models:
    """A finished lab run's own two trained nets (its plain net was trained too: no twin_of) and a lock."""
    model, plain, info = load_run(_store, rid, device=device)
    return model, plain, info, threading.Lock()


@st.cache_data(max_entries=8, show_spinner=False)
def _picture(data: bytes, size: int, cifar: bool) -> tuple[Preprocessed, Image.Image]:
    """The preprocessing steps and a thumbnail of the upright original; ``cifar``: the lab's statistics, no margin."""
    ratio = 1.0 if cifar else CROP_RATIO  # a CIFAR picture is the whole object: its shorter side is kept whole
    mean, std = (CIFAR_MEAN, CIFAR_STD) if cifar else (IMAGENET_MEAN, IMAGENET_STD)
    # decoded at 256 px or more: the original is shown too, and a JPEG decoded at 1/8 for a 32 crop looks blurred
    img = load_image(data, min_side=max(resize_size(size, crop_ratio=ratio), 256))
    pre = preprocess(img, size=size, mean=mean, std=std, crop_ratio=ratio)
    img.thumbnail((512, 512))
    return pre, img


@st.cache_data(max_entries=6, show_spinner=False)
def _features(key: tuple[object, ...], plain: bool, _models: Models, _pre: Preprocessed, blocks: bool) -> FeatureResult:
    model, twin, _, lock = _models
    with lock:
        return capture(twin if plain else model, _pre.tensor.to(next(model.parameters()).device), blocks=blocks)


@st.cache_data(max_entries=16, show_spinner=False)
def _cam(key: tuple[object, ...], plain: bool, _models: Models, _pre: Preprocessed, tap: str, cls: int) -> CamRecord:
    model, twin, _, lock = _models
    with lock:
        x = _pre.tensor.to(next(model.parameters()).device)
        return gradcam(twin if plain else model, x, tap=tap, class_index=None if cls < 0 else cls)


def _init() -> None:
    """Defaults where missing; re-assigning keeps the value of a widget this run does not draw."""
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)


def _image_bytes(*, lab: bool) -> tuple[bytes | None, str]:
    """The chosen picture's bytes and a name for files; None while the uploader is empty."""
    c1, c2 = st.columns([1, 2])
    sources = ("sample", "upload", "held_out") if lab else ("sample", "upload")
    if st.session_state["feat_source"] not in sources:
        st.session_state["feat_source"] = "sample"  # the held-out images go with a lab run's weights
    c1.radio(
        tr("feat.source"),
        sources,
        key="feat_source",
        format_func=lambda v: tr(f"feat.source_{v}"),
        horizontal=True,
    )
    if st.session_state["feat_source"] == "sample":
        name = c2.selectbox(
            tr("feat.sample"), tuple(SAMPLES), key="feat_sample", format_func=lambda v: tr(f"feat.sample_{v}")
        )
        return sample_bytes(str(name)), str(name)
    if st.session_state["feat_source"] == "held_out":
        return held_out_choice(c2)
    up = c2.file_uploader(tr("feat.upload"), type=IMAGE_TYPES, key="feat_upload", help=tr("feat.upload_help"))
    if up is None:
        return None, ""
    return up.getvalue(), up.name.rsplit(".", 1)[0][:40] or "image"


def _weights_controls(mine: bool = False) -> tuple[str, tuple[str, bytes] | None, str]:
    """The size, weights, k and view choices; ``mine``: the sidebar's checkpoint brings its own weights."""
    c1, c2, c3, c4 = st.columns([2, 2, 2, 2])
    if st.session_state["feat_weights"] == "lab" and not mine:
        c1.caption(tr("feat.lab_size", n=LAB_SIZE))
    else:
        c1.select_slider(tr("feat.size"), SIZES, key="feat_size", help=tr("feat.size_help"))
    if mine:
        c2.markdown(f"{tr('feat.weights')}  \n{tr('sidebar.mode_checkpoint')}")
    else:
        c2.radio(tr("feat.weights"), WEIGHT_CHOICES, key="feat_weights", format_func=lambda v: tr(f"feat.weights_{v}"))
    c3.slider(tr("feat.k"), min_value=1, max_value=64, step=1, key="feat_k", help=tr("feat.k_help"))
    c4.checkbox(tr("feat.blocks"), key="feat_blocks", help=tr("feat.blocks_help"))
    c4.checkbox(tr("feat.twin"), key="feat_twin", help=tr("feat.twin_help"))
    choice = "checkpoint" if mine else str(st.session_state["feat_weights"])
    if choice != "file":
        return choice, None, ""
    up = st.file_uploader(
        tr("feat.ckpt"), type=["pth", "pt", "th", "bin", "safetensors"], key="feat_ckpt", help=tr("feat.ckpt_help")
    )
    if up is None:
        return choice, None, ""
    return choice, (up.name, up.getvalue()), f"{up.name}:{up.file_id}"


def _banner(info: WeightsInfo, spec: ResNetSpec) -> None:
    if info.source == "imagenet":
        st.success(tr("feat.banner_imagenet", detail=info.detail), icon=":material/verified:")
        if info.classifier_reset:
            st.info(tr("feat.banner_reset", n=spec.num_classes), icon=":material/restart_alt:")
    elif info.source == "file":
        st.success(tr("feat.banner_file", name=info.detail), icon=":material/upload_file:")
    elif info.fallback == "offline":
        st.warning(tr("feat.banner_offline"), icon=":material/cloud_off:")
    elif info.fallback == "no_preset":
        st.warning(tr("feat.banner_no_preset", title=net_title(spec)), icon=":material/info:")
    else:
        st.info(tr("feat.banner_random"), icon=":material/casino:")


def _preprocessing(pre: Preprocessed, original: Image.Image, cifar: bool) -> None:
    st.subheader(tr("feat.prep_heading"))
    c = st.columns(3)
    w, h = pre.original_size
    c[0].image(original, caption=tr("feat.prep_original", w=w, h=h), width="stretch")
    rw, rh = pre.resized.size
    c[1].image(pre.resized, caption=tr("feat.prep_resized", short=min(rw, rh), w=rw, h=rh), width="stretch")
    c[2].image(pre.cropped, caption=tr("feat.prep_cropped", n=pre.crop), width="stretch")
    key = "feat.prep_normalize_cifar" if cifar else "feat.prep_normalize"
    st.caption(tr(key, mean=", ".join(map(str, pre.mean)), std=", ".join(map(str, pre.std))))


def _predictions(result: FeatureResult, info: WeightsInfo, headless: bool) -> None:
    if not info.pretrained or info.classifier_reset or headless:
        return
    st.subheader(tr("feat.top5"))
    rows = [
        {
            tr("feat.col_rank"): i + 1,
            tr("feat.col_class"): p.label,
            tr("feat.col_index"): p.index,
            tr("feat.col_prob"): f"{p.probability:.1%}",
        }
        for i, p in enumerate(result.predictions(5, info.categories))
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


def _gradcam(
    models: Models, key: tuple[object, ...], pre: Preprocessed, info: WeightsInfo, twin: bool, stem: str
) -> None:
    st.subheader(tr("feat.cam_heading"))
    st.caption(tr("feat.cam_help"))
    model = models[0]
    taps = tap_names(model, blocks=bool(st.session_state["feat_blocks"]))
    if st.session_state.get("feat_cam_tap") not in taps:
        st.session_state["feat_cam_tap"] = model.stage_names[-1]
    cats = info.categories if not info.classifier_reset else None
    c1, c2 = st.columns(2)
    tap = str(c1.selectbox(tr("feat.cam_tap"), taps, key="feat_cam_tap"))
    cls = int(
        c2.selectbox(
            tr("feat.cam_class"),
            [-1, *range(model.spec.num_classes)],
            key="feat_cam_class",
            format_func=lambda i: tr("feat.cam_predicted") if i < 0 else (f"{i}: {cats[i]}" if cats else str(i)),
        )
    )
    titles = [net_title(model.spec)] + ([net_title(models[1].spec)] if twin else [])
    cols = st.columns(len(titles))
    for j, title in enumerate(titles):
        cam = _cam(key, j == 1, models, pre, tap, cls)
        name = cats[cam.class_index] if cats else str(cam.class_index)
        png = to_png(heat_overlay(pre.cropped, cam.cam))
        caption = tr(
            "feat.cam_caption",
            net=title,
            name=name,
            tap=tap,
            score=cam.score,
            h=cam.cam.shape[0],
            w=cam.cam.shape[1],
        )
        show(cols[j], png, caption, f"{stem}_gradcam_{tap}_{j}.png", f"feat_dl_cam_{j}")


def render_features() -> None:
    """Draw the whole feature-map page; every mistake a person can make becomes one sentence."""
    _init()
    st.title(tr("feat.title"))
    st.markdown(tr("feat.intro"))
    sel = usable()
    if sel is None or sel.spec is None:
        return
    mine = sel.checkpoint
    # the residual net, with its plain twin beside it; a plain checkpoint's own net first, its residual twin beside it
    spec = sel.spec.replace(plain=mine is not None and mine.inferred.spec.plain)
    if mine is not None and spec.in_channels != 3:
        say_error(InputError("ckpt_in_channels", n=spec.in_channels))
        return
    weights_lab = st.session_state["feat_weights"] == "lab"
    data, stem = _image_bytes(lab=weights_lab and mine is None)
    weights, ckpt, ckpt_key = _weights_controls(mine is not None)
    picked = pick_run() if weights == "lab" else None
    if weights == "lab" and picked is None:
        return  # pick_run has said why
    if data is None:
        st.info(tr("feat.upload_prompt"), icon=":material/upload:")
        return
    if weights == "file" and ckpt is None:
        st.info(tr("feat.ckpt_prompt"), icon=":material/upload_file:")
        return
    size, k, blocks, twin = (
        LAB_SIZE if picked else int(st.session_state["feat_size"]),
        int(st.session_state["feat_k"]),
        bool(st.session_state["feat_blocks"]),
        bool(st.session_state["feat_twin"]),
    )
    try:
        with st.spinner(tr("feat.working")):
            pre, thumb = _picture(data, size, picked is not None)
            if picked:
                store, run = picked
                models = _run_models(store.url, run.id, store, sel.device)
                spec, ckpt_key = models[0].spec, run.id  # the run's own architecture, not the sidebar's
            elif mine is not None:
                models, ckpt_key = checkpoint_models(mine, sel.device), mine.key
            else:
                models = _models(spec, weights, ckpt_key, ckpt, sel.device)
            digest = hashlib.sha256(data).hexdigest()
            key = (spec, weights, ckpt_key, sel.device, digest, size)
            nets = [(net_title(spec), _features(key, False, models, pre, blocks))]
            if twin:
                nets.append((net_title(spec.twin()), _features(key, True, models, pre, blocks)))
    except UserError as e:
        say_error(e)
        return
    info = models[2]
    if picked:
        lab_banner(picked[1], spec)
    else:
        _banner(info, spec)
    if twin:
        st.caption(tr("feat.twin_note_lab" if picked else "feat.twin_note"))
    _preprocessing(pre, thumb, picked is not None)
    headless = spec.num_classes == 0
    _predictions(nets[0][1], info, headless)
    grids(nets, k, stem)
    overlays(nets, pre, stem)
    one_channel(nets, stem)
    if headless:
        st.info(tr("ckpt.headless_note"), icon=":material/info:")
        return
    try:
        _gradcam(models, key, pre, info, twin, stem)
    except UserError as e:
        say_error(e)

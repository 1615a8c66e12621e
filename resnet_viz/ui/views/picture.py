"""A picture through a net, as the feature page and the explorer both choose it: the picture (a built-in sample, an
upload or a held-out lab image), the weights (ImageNet, random, a file, a finished lab run, or the sidebar's own
checkpoint), the loaded models and the preprocessed picture.

Both pages keep the choice under the same session keys (``feat_*``), so a picture chosen on one page is there on
the other. The URL carries it too: ``picture=cat`` (a sample's name), ``picture=held_out-3`` (a held-out lab image)
or ``picture=upload`` (an upload cannot travel in a link: the page asks for it), ``weights=`` (``imagenet``,
``random``, ``file`` or ``lab``, with the lab's ``run=``) and, on the feature page, ``size=``. A link that changes
them (another page's "Show on the graph" or "Open in Feature maps") is read when it arrives; the page's widgets
then write their values back.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Final

import streamlit as st
from PIL import Image
from torch import Tensor

from ...errors import InputError
from ...lab.data import CIFAR_MEAN, CIFAR_STD
from ...lab.store import RunRecord, RunStore
from ...nets.resnet import ResNet
from ...nets.spec import ResNetSpec
from ...vision.images import CROP_RATIO, IMAGENET_MEAN, IMAGENET_STD, Preprocessed, load_image, preprocess, resize_size
from ...vision.samples import HELD_OUT_SHOWN, SAMPLES
from ...vision.weights import WeightsInfo, load_model, load_run, twin_of
from ..core.checkpoint import MyNet, checkpoint_models
from ..core.text import net_title, tr
from ..core.url_state import arrived, remember
from .lab_images import LAB_SIZE, lab_banner

__all__ = [
    "IMAGE_TYPES",
    "SIZES",
    "WEIGHT_CHOICES",
    "Models",
    "Picture",
    "init_picture",
    "load_picture",
    "picture_params",
    "sync_url",
    "weights_banner",
]

SIZES: Final = (32, 64, 96, 128, 160, 224, 288, 384, 448, 512)
IMAGE_TYPES: Final = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"]
WEIGHT_CHOICES: Final = ("imagenet", "random", "file", "lab")
DEFAULTS: Final[dict[str, object]] = {
    "feat_source": "sample",
    "feat_sample": "cat",
    "feat_held_out": 0,
    "feat_size": 224,
    "feat_weights": "imagenet",
}
PARAMS: Final = ("picture", "weights", "size")  # the picture's URL parameters
_SEEN: Final = "_picture_url_seen"  # the picture parameters last read from or written to the URL
Models = tuple[ResNet, ResNet, WeightsInfo, threading.Lock]


@dataclass(frozen=True)
class Picture:
    """One picture as a net sees it, with the nets (the chosen net and its plain twin) that see it."""

    models: Models
    pre: Preprocessed
    thumb: Image.Image  # the upright original, at most 512 px
    spec: ResNetSpec  # the net the picture goes through: a lab run's own architecture replaces the sidebar's
    key: tuple[object, ...]  # what determines every result: spec, weights, checkpoint, device, picture, size
    stem: str  # a name for files
    run: RunRecord | None  # the finished lab run whose nets these are

    @property
    def model(self) -> ResNet:
        return self.models[0]

    @property
    def twin(self) -> ResNet:
        return self.models[1]

    @property
    def info(self) -> WeightsInfo:
        return self.models[2]

    @property
    def lock(self) -> threading.Lock:
        return self.models[3]

    @property
    def size(self) -> int:
        return int(self.pre.tensor.shape[-1])

    def tensor(self) -> Tensor:
        """The picture (1, 3, size, size) on the models' device."""
        return self.pre.tensor.to(next(self.model.parameters()).device)


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
def _preprocessed(data: bytes, size: int, cifar: bool) -> tuple[Preprocessed, Image.Image]:
    """The preprocessing steps and a thumbnail of the upright original; ``cifar``: the lab's statistics, no margin."""
    ratio = 1.0 if cifar else CROP_RATIO  # a CIFAR picture is the whole object: its shorter side is kept whole
    mean, std = (CIFAR_MEAN, CIFAR_STD) if cifar else (IMAGENET_MEAN, IMAGENET_STD)
    # decoded at 256 px or more: the original is shown too, and a JPEG decoded at 1/8 for a 32 crop looks blurred
    img = load_image(data, min_side=max(resize_size(size, crop_ratio=ratio), 256))
    pre = preprocess(img, size=size, mean=mean, std=std, crop_ratio=ratio)
    img.thumbnail((512, 512))
    return pre, img


def _from_url(values: dict[str, str]) -> None:
    """Session state from picture parameters that arrived in the URL; a malformed one is one sentence."""
    pic = values.get("picture")
    if pic is not None:
        if pic in SAMPLES:
            st.session_state["feat_source"], st.session_state["feat_sample"] = "sample", pic
        elif pic == "upload":
            st.session_state["feat_source"] = "upload"
        elif pic.startswith("held_out-") and pic[9:].isdigit() and int(pic[9:]) < HELD_OUT_SHOWN:
            st.session_state["feat_source"], st.session_state["feat_held_out"] = "held_out", int(pic[9:])
            st.session_state["feat_weights"] = "lab"  # the held-out images go with a lab run's nets
        else:
            options = ", ".join([*SAMPLES, "upload", f"held_out-0 … held_out-{HELD_OUT_SHOWN - 1}"])
            st.warning(tr("picture.bad_param", param="picture", value=pic[:40], options=options))
    weights = values.get("weights")
    if weights is not None:
        if weights in WEIGHT_CHOICES:
            st.session_state["feat_weights"] = weights
        else:
            st.warning(tr("picture.bad_param", param="weights", value=weights[:40], options=", ".join(WEIGHT_CHOICES)))
    size = values.get("size")
    if size is not None:
        if size.isdigit() and int(size) in SIZES:
            st.session_state["feat_size"] = int(size)
        else:
            st.warning(tr("picture.bad_param", param="size", value=size[:40], options=", ".join(map(str, SIZES))))


def init_picture() -> None:
    """Defaults where missing, then what a link brought: the URL's picture parameters when they changed."""
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)  # re-assigned: kept while no widget shows it
    link = arrived(PARAMS, _SEEN)
    if link is not None:
        _from_url(link[0])


def picture_params(*, with_size: bool) -> dict[str, str]:
    """The picture's URL parameters as the session holds them now: for links and for this page's own URL."""
    source = st.session_state["feat_source"]
    if source == "sample":
        pic = str(st.session_state["feat_sample"])
    elif source == "held_out":
        pic = f"held_out-{int(st.session_state['feat_held_out'])}"
    else:
        pic = "upload"
    out = {"picture": pic, "weights": str(st.session_state["feat_weights"])}
    if with_size:
        out["size"] = str(st.session_state["feat_size"])
    return out


def sync_url(params: dict[str, str]) -> None:
    """Write this page's picture parameters into its URL, and remember them as seen."""
    for k, v in params.items():
        if st.query_params.get(k) != v:
            st.query_params[k] = v
    remember(PARAMS, _SEEN)


def load_picture(
    spec: ResNetSpec,
    *,
    device: str,
    data: bytes,
    stem: str,
    size: int,
    weights: str,
    mine: MyNet | None = None,
    ckpt: tuple[str, bytes] | None = None,
    ckpt_key: str = "",
    run: tuple[RunStore, RunRecord] | None = None,
) -> Picture:
    """The nets with their weights and the picture preprocessed for them (a lab run's: its own nets at 32×32, with
    the lab's normalisation). Raises UserError for what a person can fix, in one sentence."""
    if mine is not None and spec.in_channels != 3:
        raise InputError("ckpt_in_channels", n=spec.in_channels)
    if run is not None:
        store, record = run
        models = _run_models(store.url, record.id, store, device)
        spec, ckpt_key, size = models[0].spec, record.id, LAB_SIZE  # the run's own architecture, not the sidebar's
    elif mine is not None:
        models, ckpt_key = checkpoint_models(mine, device), mine.key
    else:
        models = _models(spec, weights, ckpt_key, ckpt, device)
    pre, thumb = _preprocessed(data, size, run is not None)
    key = (spec, weights, ckpt_key, device, hashlib.sha256(data).hexdigest(), size)
    return Picture(models, pre, thumb, spec, key, stem, None if run is None else run[1])


def weights_banner(pic: Picture) -> None:
    """One line on whose weights these are."""
    info, spec = pic.info, pic.spec
    if pic.run is not None:
        lab_banner(pic.run, spec)
    elif info.source == "imagenet":
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

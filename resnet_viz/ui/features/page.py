"""The feature-map page: a picture through the chosen ResNet and its plain twin (or a finished lab run's two trained
nets), stage by stage, with Grad-CAM."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final

import streamlit as st
from PIL import Image

from ...errors import UserError
from ...vision.features import FeatureResult, capture, heat_overlay, to_png
from ...vision.gradcam import CamRecord, gradcam, tap_names
from ...vision.images import Preprocessed
from ...vision.weights import WeightsInfo
from ..core.sidebar import usable
from ..core.text import net_title, say_error, tr
from ..views.picture import Picture, init_picture, picture_params, weights_banner
from ..views.picture_controls import checkpoint_upload, choose_picture, size_control, weights_choice
from .views import grids, one_channel, overlays, show

__all__ = ["render_body"]

DEFAULTS: dict[str, object] = {"feat_k": 16, "feat_blocks": False, "feat_twin": True}
EXPLORER: Final = "pages/explorer.py"


@st.cache_data(max_entries=6, show_spinner=False)
def _features(key: tuple[object, ...], plain: bool, _pic: Picture, blocks: bool) -> FeatureResult:
    with _pic.lock:
        return capture(_pic.twin if plain else _pic.model, _pic.tensor(), blocks=blocks)


@st.cache_data(max_entries=16, show_spinner=False)
def _cam(key: tuple[object, ...], plain: bool, _pic: Picture, tap: str, cls: int) -> CamRecord:
    with _pic.lock:
        model = _pic.twin if plain else _pic.model
        return gradcam(model, _pic.tensor(), tap=tap, class_index=None if cls < 0 else cls)


def _init() -> None:
    """Defaults where missing; re-assigning keeps the value of a widget this run does not draw."""
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)


def _controls(mine: bool, lab: bool) -> tuple[str, tuple[str, bytes] | None, str]:
    """The size, weights, k and view choices; ``mine``: the sidebar's checkpoint brings its own weights."""
    c1, c2, c3, c4 = st.columns([2, 2, 2, 2])
    size_control(c1, lab)
    weights = weights_choice(c2, mine)
    c3.slider(tr("feat.k"), min_value=1, max_value=64, step=1, key="feat_k", help=tr("feat.k_help"))
    c4.checkbox(tr("feat.blocks"), key="feat_blocks", help=tr("feat.blocks_help"))
    c4.checkbox(tr("feat.twin"), key="feat_twin", help=tr("feat.twin_help"))
    return (weights, *checkpoint_upload()) if weights == "file" else (weights, None, "")


def _graph_link(pic: Picture) -> Callable[[str], None]:
    """ "Show on the graph" for one node: the explorer opened there, with this picture and these weights."""
    params = picture_params(with_size=False)
    if pic.run is not None:
        params["run"] = pic.run.id
    if pic.run is None:
        params["size"] = str(pic.size)

    def link(node: str) -> None:
        st.page_link(
            EXPLORER, label=tr("picture.show_on_graph"), icon=":material/account_tree:",
            query_params={**params, "node": node},
        )  # fmt: skip

    return link


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


def _gradcam(pic: Picture, twin: bool) -> None:
    st.subheader(tr("feat.cam_heading"))
    st.caption(tr("feat.cam_help"))
    model, info, key, stem = pic.model, pic.info, pic.key, pic.stem
    taps = tap_names(model, blocks=bool(st.session_state["feat_blocks"]))
    if st.session_state.get("feat_cam_tap") not in taps:
        st.session_state["feat_cam_tap"] = model.stage_names[-1]
    cats = info.categories if not info.classifier_reset else None
    names = "" if cats is None else "." + hashlib.blake2b("\n".join(cats).encode(), digest_size=4).hexdigest()
    c1, c2 = st.columns(2)
    tap = str(c1.selectbox(tr("feat.cam_tap"), taps, key="feat_cam_tap"))
    cls = int(
        c2.selectbox(
            tr("feat.cam_class"),
            [-1, *range(model.spec.num_classes)],
            key=f"feat_cam_class{names}",  # a widget keeps its first labels: names uploaded later show
            format_func=lambda i: tr("feat.cam_predicted") if i < 0 else (f"{i}: {cats[i]}" if cats else str(i)),
        )
    )
    titles = [net_title(model.spec)] + ([net_title(pic.twin.spec)] if twin else [])
    cols = st.columns(len(titles))
    for j, title in enumerate(titles):
        cam = _cam(key, j == 1, pic, tap, cls)
        name = cats[cam.class_index] if cats else str(cam.class_index)
        png = to_png(heat_overlay(pic.pre.cropped, cam.cam))
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


def render_body() -> None:
    """Draw the whole feature-map page; every mistake a person can make becomes one sentence."""
    _init()
    init_picture()
    sel = usable()
    if sel is None or sel.spec is None:
        return
    pic = choose_picture(sel, _controls, key_prefix="feat", working=tr("feat.working"))
    if pic is None:
        return
    state = st.session_state
    k, blocks, twin = int(state["feat_k"]), bool(state["feat_blocks"]), bool(state["feat_twin"])
    spec, picked = pic.spec, pic.run
    try:
        with st.spinner(tr("feat.working")):
            nets = [(net_title(spec), _features(pic.key, False, pic, blocks))]
            if twin:
                nets.append((net_title(spec.twin()), _features(pic.key, True, pic, blocks)))
    except UserError as e:
        say_error(e)
        return
    weights_banner(pic)
    if twin:
        st.caption(tr("feat.twin_note_lab" if picked else "feat.twin_note"))
    _preprocessing(pic.pre, pic.thumb, picked is not None)
    headless = spec.num_classes == 0
    _predictions(nets[0][1], pic.info, headless)
    grids(nets, k, pic.stem, link=_graph_link(pic))
    overlays(nets, pic.pre, pic.stem)
    one_channel(nets, pic.stem)
    if headless:
        st.info(tr("ckpt.headless_note"), icon=":material/info:")
        return
    try:
        _gradcam(pic, twin)
    except UserError as e:
        say_error(e)

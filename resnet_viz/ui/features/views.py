"""The feature-map page's pictures: top-k channel grids per stage, mean maps over the picture, one channel large."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from ...vision.features import FeatureResult, channel_image, mean_overlay, montage, to_png
from ...vision.images import Preprocessed
from ..core.text import tr

__all__ = ["grids", "one_channel", "overlays", "show"]


def show(where: DeltaGenerator, png: bytes, caption: str, file_name: str, key: str) -> None:
    """A picture with its caption and a PNG download button under it."""
    where.image(png, caption=caption, width="stretch")
    where.download_button(
        tr("feat.download"), png, file_name=file_name, mime="image/png", key=key, on_click="ignore",
        icon=":material/download:",
    )  # fmt: skip


def grids(
    nets: list[tuple[str, FeatureResult]], k: int, stem: str, *, link: Callable[[str], None] | None = None
) -> None:
    """Each stage's k strongest channels, one grid per net side by side; ``link(node)`` draws a way to the node."""
    st.subheader(tr("feat.grids_heading", k=k))
    st.caption(tr("feat.grids_help"))
    first = nets[0][1]
    for i, rec in enumerate(first.activations):
        head, go = st.columns([3, 1], vertical_alignment="center")
        head.markdown(f"**{rec.name}** · " + tr("feat.shape", c=rec.shape[0], h=rec.shape[1], w=rec.shape[2]))
        if link is not None:
            with go:
                link(rec.name)
        cols = st.columns(len(nets))
        for j, (title, result) in enumerate(nets):
            r = result.activations[i]
            top = r.top(k)
            png = to_png(montage(r, top))
            caption = tr(
                "feat.grid_caption",
                net=title,
                lo=r.vmin,
                hi=r.vmax,
                mean=r.mean,
                channels=", ".join(map(str, top[:8])) + (" …" if len(top) > 8 else ""),
            )
            show(cols[j], png, caption, f"{stem}_{r.name}_{j}.png", f"feat_dl_grid_{r.name}_{j}")


def overlays(nets: list[tuple[str, FeatureResult]], pre: Preprocessed, stem: str) -> None:
    """Each stage's mean over channels laid over the picture the net saw, a row per net."""
    st.subheader(tr("feat.mean_heading"))
    st.caption(tr("feat.mean_help"))
    for j, (title, result) in enumerate(nets):
        stages = result.stages()
        cols = st.columns(len(stages))
        for col, rec in zip(cols, stages):
            png = to_png(mean_overlay(pre.cropped, rec))
            caption = tr(
                "feat.mean_caption",
                net=title,
                name=rec.name,
                h=rec.shape[1],
                w=rec.shape[2],
                stride=round(pre.crop / rec.shape[2]),
            )
            show(col, png, caption, f"{stem}_{rec.name}_mean_{j}.png", f"feat_dl_mean_{rec.name}_{j}")


def one_channel(nets: list[tuple[str, FeatureResult]], stem: str) -> None:
    """One channel of one stage or block, large, for every net."""
    st.subheader(tr("feat.channel_heading"))
    names = [a.name for a in nets[0][1].activations]
    if st.session_state.get("feat_layer") not in names:
        st.session_state["feat_layer"] = names[0]  # the stem: its edge detectors read best large
    c1, c2 = st.columns(2)
    layer = str(c1.selectbox(tr("feat.layer"), names, key="feat_layer"))
    rec = nets[0][1].get(layer)
    order = list(rec.top(rec.shape[0]))  # every channel, strongest first
    if st.session_state.get("feat_channel") not in order:
        st.session_state["feat_channel"] = order[0]
    ch = int(
        c2.selectbox(
            tr("feat.channel"),
            order,
            key="feat_channel",
            format_func=lambda c: tr("feat.channel_option", c=c, mean=float(rec.channel_means[c])),
        )
    )
    cols = st.columns(len(nets))
    for j, (title, result) in enumerate(nets):
        r = result.get(layer)
        png = to_png(channel_image(r, ch))
        v = r.values[ch]
        lo, hi = float(v.min()), float(v.max())
        caption = tr("feat.channel_caption", net=title, name=layer, c=ch, lo=lo, hi=hi)
        show(cols[j], png, caption, f"{stem}_{layer}_ch{ch}_{j}.png", f"feat_dl_channel_{j}")

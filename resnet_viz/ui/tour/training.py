"""The tour's two training chapters: the depth sweep read off the shipped reference runs (1), and gradient flow
at initialisation (4); each writes its chapter's text and returns the numbers its questions quote."""

from __future__ import annotations

import dataclasses
from typing import Final

import streamlit as st

from ...lab.defaults import REFERENCE_DEPTHS
from ...lab.gradients import LayerNorm, gradient_profile
from ...lab.history import SweepCurve
from ...nets.spec import ResNetSpec, cifar_spec
from ...plots.gradients import profile_figure, sweep_figure
from ...tour.facts import END_WINDOW, SMOOTH, reference_curves, smoothed, sweep_ends
from ..core import lab
from ..core.text import lang, net_title, tr

__all__ = ["degradation", "gradients"]

Facts = dict[str, object]


# -- 1. the degradation problem ---------------------------------------------------------------------


def _translated(curves: tuple[SweepCurve, ...]) -> tuple[SweepCurve, ...]:
    """The curves, smoothed for the chart, with titles in the session's language."""
    return tuple(
        dataclasses.replace(c, title=net_title(cifar_spec(c.depth, plain=c.plain)), loss=smoothed(c.loss))
        for c in curves
    )


def degradation() -> Facts:
    store = lab.store()
    config, curves = reference_curves(store) if store is not None else (None, ())
    facts: Facts = {"deep": max(REFERENCE_DEPTHS), "shallow": min(REFERENCE_DEPTHS), "steps": 0, "batch": 0}
    if config is None:
        st.info(tr("tour.degradation.missing"), icon=":material/hourglass_top:")
        return facts
    depths = sorted({c.depth for c in curves})
    deep, shallow = max(depths), min(depths)
    facts = {"deep": deep, "shallow": shallow, "steps": config.steps, "batch": config.batch_size}
    st.markdown(tr("tour.degradation.body", **facts))
    fig = sweep_figure(_translated(curves), lang())
    st.plotly_chart(fig, key="tour_sweep_chart", width="stretch")
    st.caption(tr("tour.degradation.shipped", window=SMOOTH))
    ends = {(e.depth, e.plain): e for e in sweep_ends(curves)}
    items = [
        tr("tour.degradation.end_item", net=net_title(cifar_spec(d, plain=p)), loss=f"{e.final_loss:.3f}")
        for (d, p), e in sorted(ends.items(), key=lambda kv: (not kv[0][1], kv[0][0]))
    ]
    st.markdown(tr("tour.degradation.ends", window=END_WINDOW, ends=tr("tour.list_sep").join(items)))
    plain_losses = [ends[d, True].final_loss for d in depths]
    res_losses = [ends[d, False].final_loss for d in depths]
    verdict = "verdict_degrades" if plain_losses[-1] > plain_losses[0] else "verdict_other"
    st.markdown(
        tr(
            f"tour.degradation.{verdict}",
            deep=deep,
            deep_loss=f"{plain_losses[-1]:.3f}",
            shallow_loss=f"{plain_losses[0]:.3f}",
            res_loss=f"{res_losses[-1]:.3f}",
        )
    )
    st.markdown(tr("tour.degradation.own_run"))
    return facts


# -- 4. gradient flow ------------------------------------------------------------------------------


@st.cache_data(max_entries=12, show_spinner=False)
def _profile(spec: ResNetSpec, batch: int) -> list[LayerNorm]:
    from ...lab.data import synthetic  # the lab's embedded data set: no download

    data = synthetic(batch, seed=0)
    return gradient_profile(spec, batch=(data.images, data.labels), seed=0, device="cpu")


_DEPTHS: Final = (20, 56, 110)  # He et al. 2015 Table 6: CIFAR depths 6n+2


def gradients() -> Facts:
    body = st.container()
    c = st.columns(2)
    depth = c[0].segmented_control(tr("tour.gradients.depth"), _DEPTHS, key="tour_grad_depth", default=56)
    bn = c[1].toggle(tr("tour.gradients.bn"), key="tour_grad_bn", value=True)
    depth = int(depth or 56)
    batch = 32
    res = cifar_spec(depth, batch_norm=bn)
    plain = res.twin()
    with st.spinner(tr("tour.computing")):
        profiles = {net_title(plain): _profile(plain, batch), net_title(res): _profile(res, batch)}
    chart = profile_figure(profiles, lang(), plain={net_title(plain)})  # the lab's plot
    st.plotly_chart(chart, key="tour_grad_chart", width="stretch")

    def ratio(recs: list[LayerNorm]) -> str:
        return f"{recs[0].norm / recs[-1].norm:.3g}" if recs[-1].norm else "∞"

    facts: Facts = {"depth": depth, "batch": batch, "low": _DEPTHS[0], "high": _DEPTHS[-1]}
    body.markdown(tr("tour.gradients.body", bn=tr("tour.gradients.bn_on" if bn else "tour.gradients.bn_off"), **facts))
    body.markdown(
        tr(
            "tour.gradients.facts",
            depth=depth,
            plain_ratio=ratio(profiles[net_title(plain)]),
            res_ratio=ratio(profiles[net_title(res)]),
        )
    )
    return facts

"""The gradient-flow lab's live view: a run's progress, its plots and what they show, polled by a fragment."""

from __future__ import annotations

import json
import math
from typing import Any, Final

import plotly.graph_objects as go
import streamlit as st

from ...lab.config import NETS, NetName
from ...lab.engine import Engine
from ...lab.export import metrics_csv, run_json
from ...lab.history import NetHistory, SweepCurve, read_history, thinned
from ...lab.queue import describe, run_state
from ...lab.runs import LIVE_S, watch_run
from ...lab.store import ACTIVE, RunRecord, RunStore
from ...plots.gradients import curves_figure, ends_figure, heatmap_figure, profile_figure, records_at, sweep_figure
from ...plots.smoothing import DEFAULT_SMOOTHING
from ..core import lab
from ..core.text import lang, tr
from .graph import lab_graph

__all__ = ["LEFT", "RUN", "SWEEP", "explain", "live", "needs_engine", "watching"]

LOSS_WINDOW: Final = 20
RUN = "grad_run"  # the run this session looks at
SWEEP = "grad_sweep_runs"  # the runs of this session's depth sweep
LEFT = "_grad_left"  # runs this session pressed Stop on: shown, but no longer polled or watched


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def explain(nets: dict[NetName, NetHistory], *, batch_norm: bool) -> list[str]:
    """Sentences about what the latest numbers show, in the session's language."""
    res, plain = nets["residual"], nets["plain"]
    n = min(res.steps, plain.steps)
    if n == 0:
        return [tr("grad.say.paper")]
    # the convolutions only: the classifier's gradient is large in any net and would mask the profile
    r, p = res.norms[n - 1][:-1], plain.norms[n - 1][:-1]

    def spread(row: tuple[float, ...]) -> float:
        positive = [v for v in row if v > 0]
        return max(positive) / min(positive) if positive else float("nan")

    out = [
        tr(
            "grad.say.ratio",
            step=n,
            plain=plain.title,
            residual=res.title,
            plain_ratio=_fmt(p[0] / p[-1]) if p[-1] else "∞",
            res_ratio=_fmt(r[0] / r[-1]) if r[-1] else "∞",
            plain_spread=_fmt(spread(p)),
            res_spread=_fmt(spread(r)),
        )
    ]
    if batch_norm:
        out.append(tr("grad.say.bn_seen" if spread(p) > 2 * spread(r) else "grad.say.bn_not_seen"))
    else:
        key = "grad.say.nobn_seen" if p[0] < 0.1 * r[0] else "grad.say.nobn_not_seen"
        out.append(tr(key, plain_first=_fmt(p[0]), res_first=_fmt(r[0])))
    w = min(LOSS_WINDOW, n)
    out.append(
        tr(
            "grad.say.loss",
            window=w,
            plain_loss=_fmt(sum(plain.loss[n - w : n]) / w),
            res_loss=_fmt(sum(res.loss[n - w : n]) / w),
        )
    )
    out.append(tr("grad.say.paper"))
    return out


def _histories(store: RunStore, rid: str) -> dict[NetName, NetHistory]:
    """Both nets' histories, extended by what is new since this session last read them."""
    cache: dict[str, dict[NetName, NetHistory]] = st.session_state.setdefault("_grad_hist", {})
    known = cache.get(rid, {})
    fresh = {net: read_history(store, rid, net, known.get(net)) for net in NETS}
    cache.clear()  # keep only the run on screen
    cache[rid] = fresh
    return fresh


def _progress(store: RunStore, run: RunRecord, step: int) -> str:
    """Where the run is, and its phase; ``step`` is the latest step both plotted histories hold, so caption and plots
    agree."""
    state = run_state(store, run)
    status, why = describe(run, state, lang())
    watchers = store.watchers(run.id, within=LIVE_S)
    st.caption(tr("lab.progress", step=step, total=run.total, rate=run.rate, status=status, watchers=watchers))
    st.progress(min(step / max(run.total, 1), 1.0))
    if why:
        (st.warning if state.phase == "stalled" else st.info)(why, icon=":material/hourglass_top:")
    if state.resumed_from is not None and state.phase in ("running", "stalled"):
        st.caption(tr("lab.resumed", step=state.resumed_from))
    err = run.error()
    if err is not None:
        (st.warning if run.status == "stopped" else st.error)(err.message(lang()), icon="⚠️")
    if run.reference:
        st.info(tr("lab.reference"), icon=":material/school:")
    elif run.status in ACTIVE:
        st.caption(tr("lab.shared", run=run.id))
    return state.phase


def _chart(where: Any, fig: go.Figure, key: str) -> None:
    """A live figure, drawn without Streamlit's theme: cheaper in the browser at every refresh (plots TEMPLATE)."""
    where.plotly_chart(fig, key=key, width="stretch", theme=None)


def _smoothing() -> float:
    """TensorBoard's smoothing slider for the loss and accuracy curves (the plots only: the downloads stay raw)."""
    # set here too: a fragment rerun can draw the slider first, after a full run that did not draw it dropped its state
    st.session_state.setdefault("grad_smoothing", DEFAULT_SMOOTHING)
    return float(
        st.columns(4)[0].slider(
            tr("grad.plot.smoothing"), 0.0, 0.99, step=0.01, key="grad_smoothing", help=tr("grad.plot.smoothing_help")
        )
    )


def watching(rid: str) -> bool:
    return rid not in st.session_state.get(LEFT, set())


def _pair_view(store: RunStore, eng: Engine | None, rid: str) -> bool:
    """Draws the run; True while it is still training and this session watches it."""
    run = watch_run(store, eng, rid, lab.session_id()) if watching(rid) else store.get(rid)
    nets = _histories(store, rid)
    step = min(h.steps for h in nets.values())
    phase = _progress(store, run, step)
    if step == 0:
        if phase in ("starting", "running"):  # a run waiting in line has said so above
            st.info(tr("grad.loading"), icon=":material/hourglass_top:")
        return run.status in ACTIVE
    L = lang()
    shown = {n: thinned(h) for n, h in nets.items()}
    profiles = {h.title: records_at(h, step - 1) for h in nets.values()}
    plain = {nets["plain"].title}
    overlay = st.session_state.get("grad_overlay")
    extra: list[NetHistory] = []
    if overlay:
        other = {n: read_history(store, str(overlay), n) for n in NETS}
        for n, h in other.items():
            label = tr("lab.overlaid", title=h.title, run=str(overlay)[:6])
            profiles[label] = records_at(h, h.steps - 1) if h.steps else []
            if n == "plain":
                plain.add(label)
            extra.append(thinned(h.__class__(**{**h.__dict__, "title": label})))
    _chart(st, profile_figure(profiles, L, step=step, plain=plain), "grad_plot_profile")
    lab_graph(run, nets, step)
    st.markdown(f"**{tr('grad.heat_heading')}**")
    cols = st.columns(len(NETS))
    for col, h in zip(cols, shown.values()):
        _chart(col, heatmap_figure(h, L), f"grad_plot_heat_{h.net}")
    smoothing = _smoothing()
    c1, c2 = st.columns(2)
    _chart(c1, curves_figure([*shown.values(), *extra], L, smoothing=smoothing), "grad_plot_curves")
    _chart(c2, ends_figure(list(shown.values()), L), "grad_plot_ends")
    st.subheader(tr("grad.say.heading"))
    for sentence in explain(nets, batch_norm=run.config.spec.batch_norm):
        st.markdown(sentence)
    # The files are made when a button is pressed (from the store, then complete), not on every refresh.
    d = st.columns(3)
    d[0].download_button(
        tr("grad.download"), lambda: metrics_csv(_histories_of(store, rid)), file_name=f"run-{rid}.csv",
        mime="text/csv", key="grad_download", icon=":material/download:", on_click="ignore",
    )  # fmt: skip
    d[1].download_button(
        tr("lab.download_json"), lambda: json.dumps(run_json(store.get(rid), _histories_of(store, rid))),
        file_name=f"run-{rid}.json", mime="application/json", key="grad_download_json",
        icon=":material/download:", on_click="ignore",
    )  # fmt: skip
    d[2].markdown(f"[{tr('lab.link')}](?run={rid})")
    return run.status in ACTIVE and watching(rid)


def _sweep_view(store: RunStore, eng: Engine | None, ids: list[str]) -> bool:
    runs = [watch_run(store, eng, rid, lab.session_id()) if watching(rid) else store.get(rid) for rid in ids]
    done, total = sum(r.step for r in runs), sum(r.total for r in runs)
    st.caption(tr("grad.sweep_progress", done=done, total=total, status=tr(f"lab.status_{runs[0].status}")))
    st.progress(min(done / max(total, 1), 1.0))
    st.markdown(tr("grad.say.sweep_intro"))
    curves = [
        SweepCurve(r.config.spec.depth, net == "plain", h.title, h.loss)
        for r in runs
        for net, h in _histories_of(store, r.id).items()
        if h.steps
    ]
    if curves:
        _chart(st, sweep_figure(curves, lang(), smoothing=_smoothing()), "grad_plot_sweep")
    else:
        st.info(tr("grad.loading"), icon=":material/hourglass_top:")
    return any(r.status in ACTIVE and watching(r.id) for r in runs)


def _histories_of(store: RunStore, rid: str) -> dict[NetName, NetHistory]:
    return {net: read_history(store, rid, net) for net in NETS}


def live(store: RunStore) -> None:
    eng = lab.engine() if needs_engine(store) else None
    sweep = st.session_state.get(SWEEP) if st.session_state["grad_mode"] == "sweep" else None
    rid = st.session_state.get(RUN)
    if sweep:
        active = _sweep_view(store, eng, list(sweep))
    elif rid:
        active = _pair_view(store, eng, str(rid))
    else:
        st.info(tr("grad.press_start"), icon=":material/play_arrow:")
        return
    # when the run has ended, one full rerun redraws the buttons and stops the polling
    if st.session_state.get("_grad_was_active") and not active:
        st.session_state["_grad_was_active"] = False
        st.rerun(scope="app")


def needs_engine(store: RunStore) -> bool:
    ids = [*st.session_state.get(SWEEP, []), st.session_state.get(RUN)]
    return any(r is not None and store.find(str(r)) is not None and store.status(str(r)) in ACTIVE for r in ids)

"""The gradient-flow lab page: controls, one background runner per session, and live plots polled by a fragment."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import plotly.graph_objects as go
import streamlit as st

from ..build import pick_device
from ..choices import parse_ints
from ..config import data_root
from ..data import DATASETS
from ..errors import TrainingError, UserError
from ..lab.config import NETS, NetName, RunConfig
from ..lab.defaults import DEFAULT
from ..lab.engine import MAX_RUNS, Engine
from ..lab.export import metrics_csv, run_json
from ..lab.history import NetHistory, SweepCurve, read_history, thinned
from ..lab.reference import reference_for
from ..lab.runs import LIVE_S, queue_info, start_run, stop_watching, watch_run
from ..lab.store import ACTIVE, RunRecord, RunStore, StoreError
from ..plots.gradients import curves_figure, ends_figure, heatmap_figure, profile_figure, records_at, sweep_figure
from ..spec import PRESETS, ResNetSpec, cifar_spec, preset
from . import lab
from .text import lang, say_error, tr

__all__ = ["TRAINABLE", "explain", "render_gradients", "spec_from_controls"]

# Presets trainable on a small machine at 32×32: everything up to the depth of preact-ResNet-164.
MAX_TRAIN_DEPTH: Final = 164
TRAINABLE: Final = tuple(n for n in PRESETS if preset(n).depth <= MAX_TRAIN_DEPTH)
# The live view's refresh. Each refresh costs the web server and, above all, the browser drawing five charts: on
# 2 cores shared with Chromium, one session trained at 0.49x the bare loop polling every 1 s and 0.72x every
# 1.5 s, with the same longest gap between two visible steps (2.2 s, 2.1 s) (python -m benchmarks lab).
POLL_S: Final = 1.5
LOSS_WINDOW: Final = 20
_RUN = "grad_run"  # the run this session looks at
_SWEEP = "grad_sweep_runs"  # the runs of this session's depth sweep
_LEFT = "_grad_left"  # runs this session pressed Stop on: shown, but no longer polled or watched

DEFAULTS: Final[dict[str, Any]] = {
    "grad_mode": "pair",
    "grad_source": "depth",
    "grad_depth": DEFAULT.spec.depth,
    "grad_preset": "resnet56",
    "grad_bn": DEFAULT.spec.batch_norm,
    "grad_init": "kaiming",
    "grad_optimizer": DEFAULT.optimizer,
    "grad_lr": DEFAULT.lr,
    "grad_batch": DEFAULT.batch_size,
    "grad_steps": DEFAULT.steps,
    "grad_seed": DEFAULT.seed,
    "grad_dataset": DEFAULT.dataset,
    "grad_folder": "",
    "grad_sweep_depths": "20,56",
    "grad_sweep_steps": 100,
    "grad_keep": False,
    "grad_overlay": None,
}


def spec_from_controls(source: str, depth: int, preset_name: str, *, batch_norm: bool, zero_init: bool) -> ResNetSpec:
    """The residual net the controls describe: a CIFAR depth (6n+2 basic, else 9n+2 bottleneck) or a preset."""
    fields: dict[str, object] = {"batch_norm": batch_norm, "zero_init_residual": zero_init, "plain": False}
    if source == "preset":
        spec = preset(preset_name, **fields)
    else:
        block = "bottleneck" if (depth - 2) % 6 and not (depth - 2) % 9 else "basic"
        spec = cifar_spec(int(depth), block=block, **fields)  # type: ignore[arg-type]
    if spec.depth > MAX_TRAIN_DEPTH:
        raise TrainingError("grad_not_trainable", name=spec.title, limit=MAX_TRAIN_DEPTH)
    return spec.replace(num_classes=10)


def _sweep_depths(text: str) -> tuple[int, ...]:
    try:
        depths = parse_ints(text, field="depths")
    except UserError:
        raise TrainingError("grad_bad_depths", value=text) from None
    if not depths or any(d < 8 or (d - 2) % 6 or d > MAX_TRAIN_DEPTH for d in depths):
        raise TrainingError("grad_bad_depths", value=text)
    return depths


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


def _controls() -> None:
    st.segmented_control(
        tr("grad.mode"),
        ("pair", "sweep"),
        key="grad_mode",
        format_func=lambda v: tr(f"grad.mode_{v}"),
        selection_mode="single",
    )
    sweep = st.session_state["grad_mode"] == "sweep"
    c = st.columns(4)
    if sweep:
        c[0].text_input(tr("grad.sweep_depths"), key="grad_sweep_depths", help=tr("grad.sweep_depths_help"))
        c[1].number_input(tr("grad.sweep_steps"), min_value=1, max_value=100_000, step=10, key="grad_sweep_steps")
    else:
        c[0].radio(
            tr("grad.net_source"),
            ("depth", "preset"),
            key="grad_source",
            horizontal=True,
            format_func=lambda v: tr(f"grad.source_{v}"),
        )
        if st.session_state["grad_source"] == "depth":
            c[1].number_input(
                tr("grad.depth"), min_value=8, max_value=2000, step=6, key="grad_depth", help=tr("grad.depth_help")
            )
        else:
            c[1].selectbox(tr("grad.preset"), TRAINABLE, key="grad_preset")
        c[3].number_input(tr("grad.steps"), min_value=1, max_value=100_000, step=50, key="grad_steps")
    c[2].checkbox(tr("grad.batch_norm"), key="grad_bn")
    if not sweep:
        c[2].radio(tr("grad.init"), ("kaiming", "zero"), key="grad_init", format_func=lambda v: tr(f"grad.init_{v}"))
    c = st.columns(4)
    c[0].selectbox(
        tr("grad.optimizer"), ("sgd", "adam"), key="grad_optimizer", format_func=lambda v: tr(f"grad.opt_{v}")
    )
    c[1].number_input(tr("grad.lr"), min_value=1e-6, max_value=100.0, step=0.01, format="%.4g", key="grad_lr")
    c[2].number_input(tr("grad.batch_size"), min_value=1, max_value=1024, step=8, key="grad_batch")
    c[3].number_input(tr("grad.seed"), min_value=0, max_value=2**31 - 1, step=1, key="grad_seed")
    d = st.columns(2)
    d[0].selectbox(tr("grad.dataset"), DATASETS, key="grad_dataset", format_func=lambda v: tr(f"grad.ds_{v}"))
    if st.session_state["grad_dataset"] == "folder":
        d[1].text_input(tr("grad.folder"), key="grad_folder", help=tr("grad.folder_help", root=str(data_root())))
    st.caption(tr("grad.device_caption", device=str(pick_device())))
    st.checkbox(tr("lab.keep"), key="grad_keep")


def _init_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def _configs() -> list[RunConfig]:
    """The run(s) the controls describe: one pair, or one pair per depth of a sweep."""
    s = st.session_state
    common: dict[str, Any] = {
        "optimizer": s["grad_optimizer"], "lr": float(s["grad_lr"]), "warmup": DEFAULT.warmup, "clip": DEFAULT.clip,
        "batch_size": int(s["grad_batch"]), "seed": int(s["grad_seed"]), "dataset": s["grad_dataset"],
        "folder": str(s["grad_folder"]) if s["grad_dataset"] == "folder" else "", "device": str(pick_device()),
    }  # fmt: skip
    if s["grad_mode"] == "sweep":
        steps = int(s["grad_sweep_steps"])
        specs = [cifar_spec(d, batch_norm=bool(s["grad_bn"])) for d in _sweep_depths(str(s["grad_sweep_depths"]))]
        return [RunConfig(spec=sp, steps=steps, **common) for sp in specs]
    spec = spec_from_controls(
        s["grad_source"], int(s["grad_depth"]), s["grad_preset"], batch_norm=bool(s["grad_bn"]),
        zero_init=s["grad_init"] == "zero",
    )  # fmt: skip
    return [RunConfig(spec=spec, steps=int(s["grad_steps"]), **common)]


def _start(store: RunStore) -> None:
    try:
        configs = _configs()
    except UserError as e:
        say_error(e)
        return
    eng = lab.engine()
    if eng is None:
        return
    keep = bool(st.session_state["grad_keep"])
    ids = [start_run(store, eng, c, keep=keep, session=lab.session_id()) for c in configs]
    st.session_state[_LEFT] = set()  # watching again
    if st.session_state["grad_mode"] == "sweep":
        st.session_state[_SWEEP] = ids
    else:
        st.session_state[_RUN] = ids[0]
        st.query_params["run"] = ids[0]
    st.rerun()


def _buttons(store: RunStore, run: RunRecord | None) -> None:
    c = st.columns([1, 1, 6])
    if c[0].button(tr("grad.start"), key="grad_start", type="primary", icon=":material/play_arrow:", width="stretch"):
        _start(store)
    active = run is not None and run.status in ACTIVE
    if c[1].button(tr("grad.stop"), key="grad_stop", disabled=not active, icon=":material/stop:", width="stretch"):
        if run is not None:
            left = st.session_state.setdefault(_LEFT, set())
            for rid in [run.id, *st.session_state.get(_SWEEP, [])]:
                stop_watching(store, rid, lab.session_id())
                left.add(rid)  # this session no longer polls it, so it no longer counts as watching
        st.rerun()


def _current(store: RunStore) -> RunRecord | None:
    """The run to show: the link's ``?run=``, else this session's, else the reference run of the defaults."""
    wanted = st.query_params.get("run") or st.session_state.get(_RUN)
    if wanted:
        found = store.find(str(wanted))
        if found is None:
            say_error(StoreError("unknown_run", run=str(wanted)[:40]))
            st.query_params.pop("run", None)
            st.session_state.pop(_RUN, None)
        else:
            st.session_state[_RUN] = found.id
            return found
    return reference_for(store, DEFAULT)


def _open_picked() -> None:
    chosen = st.session_state.get("grad_pick")
    if isinstance(chosen, str) and re.fullmatch(r"[0-9a-f]{16}", chosen):
        st.session_state[_RUN] = chosen
        st.query_params["run"] = chosen


def _run_picker(store: RunStore, run: RunRecord | None) -> None:
    """Every run in the store, to reopen one; and a finished run to overlay on the plots."""
    runs = store.runs()
    if not runs:
        return
    labels = {r.id: lab.run_label(r) for r in runs}
    ids = list(labels)
    st.session_state["grad_pick"] = run.id if run is not None else None  # the picker follows the run shown
    c = st.columns(2)
    c[0].selectbox(
        tr("lab.open_run"), ids, format_func=lambda i: labels[i], help=tr("lab.open_run_help"), key="grad_pick",
        on_change=_open_picked,
    )  # fmt: skip
    finished = [r.id for r in runs if r.status == "done" and (run is None or r.id != run.id)]
    if st.session_state.get("grad_overlay") not in finished:
        st.session_state["grad_overlay"] = None
    c[1].selectbox(
        tr("lab.overlay"), finished, format_func=lambda i: labels[i], key="grad_overlay",
        placeholder=tr("lab.overlay_none"),
    )  # fmt: skip


def _histories(store: RunStore, rid: str) -> dict[NetName, NetHistory]:
    """Both nets' histories, extended by what is new since this session last read them."""
    cache: dict[str, dict[NetName, NetHistory]] = st.session_state.setdefault("_grad_hist", {})
    known = cache.get(rid, {})
    fresh = {net: read_history(store, rid, net, known.get(net)) for net in NETS}
    cache.clear()  # keep only the run on screen
    cache[rid] = fresh
    return fresh


def _progress(store: RunStore, run: RunRecord, step: int) -> None:
    """Where the run is; ``step`` is the latest step both plotted histories hold, so caption and plots agree."""
    status = tr(f"lab.status_{run.status}")
    watchers = store.watchers(run.id, within=LIVE_S)
    st.caption(tr("lab.progress", step=step, total=run.total, rate=run.rate, status=status, watchers=watchers))
    st.progress(min(step / max(run.total, 1), 1.0))
    q = queue_info(store, run.id, slots=MAX_RUNS)
    if q is not None:
        eta = "" if q.seconds_left is None else tr("lab.queued_eta", minutes=q.seconds_left / 60)
        st.info(tr("lab.queued", position=q.position, eta=eta, slots=MAX_RUNS), icon=":material/hourglass_top:")
    err = run.error()
    if err is not None:
        (st.warning if run.status == "stopped" else st.error)(err.message(lang()), icon="⚠️")
    if run.reference:
        st.info(tr("lab.reference"), icon=":material/school:")
    elif run.status in ACTIVE:
        st.caption(tr("lab.shared", run=run.id))


def _chart(where: Any, fig: go.Figure, key: str) -> None:
    """A live figure, drawn without Streamlit's theme: cheaper in the browser at every refresh (plots TEMPLATE)."""
    where.plotly_chart(fig, key=key, width="stretch", theme=None)


def _watching(rid: str) -> bool:
    return rid not in st.session_state.get(_LEFT, set())


def _pair_view(store: RunStore, eng: Engine | None, rid: str) -> bool:
    """Draws the run; True while it is still training and this session watches it."""
    run = watch_run(store, eng, rid, lab.session_id()) if _watching(rid) else store.get(rid)
    nets = _histories(store, rid)
    step = min(h.steps for h in nets.values())
    _progress(store, run, step)
    if step == 0:
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
    st.markdown(f"**{tr('grad.heat_heading')}**")
    cols = st.columns(len(NETS))
    for col, h in zip(cols, shown.values()):
        _chart(col, heatmap_figure(h, L), f"grad_plot_heat_{h.net}")
    c1, c2 = st.columns(2)
    _chart(c1, curves_figure([*shown.values(), *extra], L), "grad_plot_curves")
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
    return run.status in ACTIVE and _watching(rid)


def _sweep_view(store: RunStore, eng: Engine | None, ids: list[str]) -> bool:
    runs = [watch_run(store, eng, rid, lab.session_id()) if _watching(rid) else store.get(rid) for rid in ids]
    done, total = sum(r.step for r in runs), sum(r.total for r in runs)
    st.caption(tr("grad.sweep_progress", done=done, total=total, left="", status=tr(f"lab.status_{runs[0].status}")))
    st.progress(min(done / max(total, 1), 1.0))
    st.markdown(tr("grad.say.sweep_intro"))
    curves = [
        SweepCurve(r.config.spec.depth, net == "plain", h.title, h.loss)
        for r in runs
        for net, h in _histories_of(store, r.id).items()
        if h.steps
    ]
    if curves:
        _chart(st, sweep_figure(curves, lang()), "grad_plot_sweep")
    else:
        st.info(tr("grad.loading"), icon=":material/hourglass_top:")
    return any(r.status in ACTIVE and _watching(r.id) for r in runs)


def _histories_of(store: RunStore, rid: str) -> dict[NetName, NetHistory]:
    return {net: read_history(store, rid, net) for net in NETS}


def _live(store: RunStore) -> None:
    eng = lab.engine() if _needs_engine(store) else None
    sweep = st.session_state.get(_SWEEP) if st.session_state["grad_mode"] == "sweep" else None
    rid = st.session_state.get(_RUN)
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


def _needs_engine(store: RunStore) -> bool:
    ids = [*st.session_state.get(_SWEEP, []), st.session_state.get(_RUN)]
    return any(r is not None and store.find(str(r)) is not None and store.status(str(r)) in ACTIVE for r in ids)


def render_gradients() -> None:
    """The whole lab: title, controls, Start / Stop, the runs in the store, and the live view."""
    _init_state()
    st.title(tr("grad.title"))
    st.markdown(tr("grad.intro"))
    store = lab.store()
    if store is None:
        return
    _controls()
    run = _current(store)
    if run is not None:
        st.session_state[_RUN] = run.id
    _buttons(store, run)
    _run_picker(store, run)
    active = run is not None and run.status in ACTIVE and _watching(run.id)
    active = active or any(store.status(r) in ACTIVE for r in st.session_state.get(_SWEEP, []) if store.find(r))
    st.session_state["_grad_was_active"] = active
    st.fragment(lambda: _live(store), run_every=POLL_S if active else None)()

"""The gradient-flow lab page: controls, one background runner per session, and live plots polled by a fragment."""

from __future__ import annotations

import math
from typing import Any, Final

import streamlit as st

from ..build import pick_device
from ..choices import parse_ints
from ..config import data_root
from ..data import DATASETS
from ..errors import UserError
from ..plots.gradients import curves_figure, ends_figure, heatmap_figure, profile_figure, records_at, sweep_figure
from ..runner import BackgroundJob, PairRunner, RunConfig, Snapshot, TrainingError
from ..spec import PRESETS, ResNetSpec, cifar_spec, preset
from ..sweep import SweepConfig, SweepRunner, SweepSnapshot
from .text import lang, say_error, tr

__all__ = ["TRAINABLE", "explain", "metrics_csv", "render_gradients", "spec_from_controls"]

# Presets trainable on a small machine at 32×32: everything up to the depth of preact-ResNet-164.
MAX_TRAIN_DEPTH: Final = 164
TRAINABLE: Final = tuple(n for n in PRESETS if preset(n).depth <= MAX_TRAIN_DEPTH)
POLL_S: Final = 1.0
LOSS_WINDOW: Final = 20
_KEY_RUNNER = "grad_runner"
_ACTIVE = ("loading", "running", "paused")

# Without a warm-up the residual net's loss spikes over the first steps at lr 0.1 and reads as "worse".
WARMUP_STEPS: Final = 50

DEFAULTS: Final[dict[str, Any]] = {
    "grad_mode": "pair",
    "grad_source": "depth",
    "grad_depth": 56,
    "grad_preset": "resnet56",
    "grad_bn": True,
    "grad_init": "kaiming",
    "grad_optimizer": "sgd",
    "grad_lr": 0.1,
    "grad_batch": 32,
    "grad_steps": 300,
    "grad_seed": 0,
    "grad_dataset": "synthetic",
    "grad_folder": "",
    "grad_sweep_depths": "20,56",
    "grad_sweep_steps": 100,
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


def explain(snap: Snapshot) -> list[str]:
    """Sentences about what the latest numbers show, in the session's language."""
    res, plain = snap.nets["residual"], snap.nets["plain"]
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
    if snap.batch_norm:
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


def metrics_csv(snap: Snapshot) -> str:
    """One row per net and step: loss, accuracy and every layer's gradient norm."""
    nets = list(snap.nets.values())
    names = nets[0].layer_names if nets else ()
    lines = [",".join(["net", "step", "loss", "accuracy", *names])]
    for h in nets:
        for i in range(h.steps):
            row = [h.net, str(i + 1), repr(h.loss[i]), repr(h.accuracy[i]), *map(repr, h.norms[i])]
            lines.append(",".join(row))
    return "\n".join(lines) + "\n"


def _init_state() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


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


def _new_job() -> BackgroundJob:
    s = st.session_state
    common: dict[str, Any] = {
        "optimizer": s["grad_optimizer"],
        "lr": float(s["grad_lr"]),
        "batch_size": int(s["grad_batch"]),
        "seed": int(s["grad_seed"]),
        "dataset": s["grad_dataset"],
        "folder": str(s["grad_folder"]),
        "device": str(pick_device()),
    }
    if s["grad_mode"] == "sweep":
        depths = _sweep_depths(str(s["grad_sweep_depths"]))
        return SweepRunner(
            SweepConfig(depths=depths, batch_norm=bool(s["grad_bn"]), steps=int(s["grad_sweep_steps"]), **common)
        )
    spec = spec_from_controls(
        s["grad_source"], int(s["grad_depth"]), s["grad_preset"], batch_norm=bool(s["grad_bn"]),
        zero_init=s["grad_init"] == "zero",
    )  # fmt: skip
    return PairRunner(RunConfig(spec=spec, steps=int(s["grad_steps"]), warmup=WARMUP_STEPS, **common))


def _buttons(job: BackgroundJob | None) -> None:
    active = job is not None and job.status in _ACTIVE and job.alive
    c = st.columns([1, 1, 1, 5])
    if c[0].button(tr("grad.start"), key="grad_start", type="primary", icon=":material/play_arrow:", width="stretch"):
        if job is not None:
            job.stop()
        try:
            new = _new_job()
        except UserError as e:
            st.session_state.pop(_KEY_RUNNER, None)
            say_error(e)
            return
        new.start()
        st.session_state[_KEY_RUNNER] = new
        st.rerun()
    paused = job is not None and job.status == "paused"
    label, icon = (tr("grad.resume"), ":material/play_circle:") if paused else (tr("grad.pause"), ":material/pause:")
    if c[1].button(label, key="grad_pause", disabled=not active, icon=icon, width="stretch") and job is not None:
        job.resume() if paused else job.pause()
        st.rerun()
    if c[2].button(tr("grad.stop"), key="grad_stop", disabled=not active, icon=":material/stop:", width="stretch"):
        if job is not None:
            job.stop()
            job.join(2.0)
        st.rerun()


def _status_line(status: str) -> str:
    return tr(f"grad.status.{status}")


def _pair_view(job: PairRunner) -> None:
    snap = job.snapshot()
    L = lang()
    st.caption(
        tr("grad.progress", step=snap.step, total=snap.total, rate=snap.steps_per_s, status=_status_line(snap.status))
    )
    st.progress(min(snap.step / max(snap.total, 1), 1.0))
    if snap.error is not None:
        say_error(snap.error)
    if snap.idle_stopped:
        st.warning(tr("grad.idle_stopped"), icon=":material/timer_off:")
    nets = list(snap.nets.values())
    step = min(h.steps for h in nets)  # the latest step both nets have finished
    if step == 0:
        st.info(tr("grad.loading"), icon=":material/hourglass_top:")
        return
    profiles = {h.title: records_at(h, step - 1) for h in nets}
    plain = {h.title for h in nets if h.net == "plain"}
    st.plotly_chart(profile_figure(profiles, L, step=step, plain=plain), key="grad_plot_profile", width="stretch")
    st.markdown(f"**{tr('grad.heat_heading')}**")
    cols = st.columns(len(nets))
    for col, h in zip(cols, nets):
        if h.steps:
            col.plotly_chart(heatmap_figure(h, L), key=f"grad_plot_heat_{h.net}", width="stretch")
    c1, c2 = st.columns(2)
    c1.plotly_chart(curves_figure(nets, L), key="grad_plot_curves", width="stretch")
    c2.plotly_chart(ends_figure(nets, L), key="grad_plot_ends", width="stretch")
    st.subheader(tr("grad.say.heading"))
    for sentence in explain(snap):
        st.markdown(sentence)
    st.download_button(
        tr("grad.download"), metrics_csv(snap), file_name="gradient_metrics.csv", mime="text/csv",
        key="grad_download", icon=":material/download:", on_click="ignore",
    )  # fmt: skip


def _sweep_view(job: SweepRunner) -> None:
    snap: SweepSnapshot = job.snapshot()
    left = tr("grad.sweep_left_unknown") if snap.seconds_left is None else f"{snap.seconds_left:.0f} s"
    st.caption(tr("grad.sweep_progress", done=snap.done, total=snap.total, left=left, status=_status_line(snap.status)))
    st.progress(min(snap.done / max(snap.total, 1), 1.0))
    if snap.error is not None:
        say_error(snap.error)
    st.markdown(tr("grad.say.sweep_intro"))
    curves = [c for c in snap.curves if c.loss]
    if not curves:
        st.info(tr("grad.loading"), icon=":material/hourglass_top:")
        return
    st.plotly_chart(sweep_figure(curves, lang()), key="grad_plot_sweep", width="stretch")
    if snap.status == "done":
        w = min(LOSS_WINDOW, job.config.steps)
        rows = "; ".join(f"{c.title} {_fmt(sum(c.loss[-w:]) / w)}" for c in curves)
        st.markdown(tr("grad.say.sweep_result", steps=job.config.steps, window=w, rows=rows))


def _live() -> None:
    job = st.session_state.get(_KEY_RUNNER)
    if isinstance(job, PairRunner):
        _pair_view(job)
    elif isinstance(job, SweepRunner):
        _sweep_view(job)
    else:
        st.info(tr("grad.press_start"), icon=":material/play_arrow:")
        return
    # when the run has ended, one full rerun redraws the buttons and stops the polling
    if st.session_state.get("_grad_was_active") and job.status not in _ACTIVE:
        st.session_state["_grad_was_active"] = False
        st.rerun(scope="app")


def render_gradients() -> None:
    """The whole lab: title, controls, Start / Pause / Stop, and the live view."""
    _init_state()
    st.title(tr("grad.title"))
    st.markdown(tr("grad.intro"))
    _controls()
    job = st.session_state.get(_KEY_RUNNER)
    _buttons(job if isinstance(job, BackgroundJob) else None)
    job = st.session_state.get(_KEY_RUNNER)
    active = isinstance(job, BackgroundJob) and job.status in _ACTIVE
    st.session_state["_grad_was_active"] = active
    st.fragment(_live, run_every=POLL_S if active else None)()

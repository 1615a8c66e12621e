"""The gradient-flow lab page: controls, Start / Stop, the runs in the store; the live view is in `gradients_live`."""

from __future__ import annotations

import re
from typing import Any, Final

import streamlit as st

from ...config import data_root
from ...errors import TrainingError, UserError
from ...lab.config import RunConfig
from ...lab.data import DATASETS
from ...lab.defaults import DEFAULT
from ...lab.reference import reference_for
from ...lab.runs import start_run, stop_watching
from ...lab.store import ACTIVE, RunRecord, RunStore, StoreError
from ...nets.build import pick_device
from ...nets.choices import parse_ints
from ...nets.spec import PRESETS, ResNetSpec, cifar_spec, preset
from ...plots.smoothing import DEFAULT_SMOOTHING
from ..core import lab
from ..core.text import say_error, tr
from .live import LEFT, RUN, SWEEP, live, watching

__all__ = ["TRAINABLE", "render_lab", "spec_from_controls"]

# Presets trainable on a small machine at 32×32: everything up to the depth of preact-ResNet-164.
MAX_TRAIN_DEPTH: Final = 164
TRAINABLE: Final = tuple(n for n in PRESETS if preset(n).depth <= MAX_TRAIN_DEPTH)
# The live view's refresh. Each refresh costs the web server and, above all, the browser drawing five charts: on
# 2 cores shared with Chromium, one session trained at 0.49x the bare loop polling every 1 s and 0.72x every
# 1.5 s, with the same longest gap between two visible steps (2.2 s, 2.1 s) (python -m benchmarks lab).
POLL_S: Final = 1.5

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
    "grad_smoothing": DEFAULT_SMOOTHING,
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
    st.session_state[LEFT] = set()  # watching again
    if st.session_state["grad_mode"] == "sweep":
        st.session_state[SWEEP] = ids
    else:
        st.session_state[RUN] = ids[0]
        st.query_params["run"] = ids[0]
    st.rerun()


def _buttons(store: RunStore, run: RunRecord | None) -> None:
    c = st.columns([1, 1, 6])
    if c[0].button(tr("grad.start"), key="grad_start", type="primary", icon=":material/play_arrow:", width="stretch"):
        _start(store)
    active = run is not None and run.status in ACTIVE
    if c[1].button(tr("grad.stop"), key="grad_stop", disabled=not active, icon=":material/stop:", width="stretch"):
        if run is not None:
            left = st.session_state.setdefault(LEFT, set())
            for rid in [run.id, *st.session_state.get(SWEEP, [])]:
                stop_watching(store, rid, lab.session_id())
                left.add(rid)  # this session no longer polls it, so it no longer counts as watching
        st.rerun()


def _current(store: RunStore) -> RunRecord | None:
    """The run to show: the link's ``?run=``, else this session's, else the reference run of the defaults."""
    wanted = st.query_params.get("run") or st.session_state.get(RUN)
    if wanted:
        found = store.find(str(wanted))
        if found is None:
            say_error(StoreError("unknown_run", run=str(wanted)[:40]))
            st.query_params.pop("run", None)
            st.session_state.pop(RUN, None)
        else:
            st.session_state[RUN] = found.id
            return found
    return reference_for(store, DEFAULT)


def _open_picked() -> None:
    chosen = st.session_state.get("grad_pick")
    if isinstance(chosen, str) and re.fullmatch(r"[0-9a-f]{16}", chosen):
        st.session_state[RUN] = chosen
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


def render_lab() -> None:
    """The lab below its title (``entry.render_gradients`` draws that first): controls, Start / Stop, the runs in the
    store, and the live view."""
    _init_state()
    store = lab.store()
    if store is None:
        return
    _controls()
    run = _current(store)
    if run is not None:
        st.session_state[RUN] = run.id
    _buttons(store, run)
    _run_picker(store, run)
    active = run is not None and run.status in ACTIVE and watching(run.id)
    active = active or any(store.status(r) in ACTIVE for r in st.session_state.get(SWEEP, []) if store.find(r))
    st.session_state["_grad_was_active"] = active
    st.fragment(lambda: live(store), run_every=POLL_S if active else None)()

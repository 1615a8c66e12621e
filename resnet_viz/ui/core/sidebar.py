"""The shared sidebar: language, the net (preset or custom), input size and device; kept in session state
and mirrored in the URL's query parameters so a link reopens the same view."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from ...errors import InputError, UserError
from ...i18n import LANGS, Lang, t
from ...nets.choices import make_spec, parse_ints
from ...nets.sizes import normalize_size
from ...nets.spec import ResNetSpec, preset
from .text import lang, net_title, say_error, tr
from .url_state import CHOICES, DEFAULTS, init_state, sync_query

if TYPE_CHECKING:  # the checkpoint's module imports torch: only when "My checkpoint" is chosen
    from .checkpoint import MyNet

__all__ = ["DEFAULTS", "Selection", "current", "init_state", "language_picker", "show_device", "sidebar", "usable"]


@dataclass(frozen=True)
class Selection:
    """What the sidebar chose: a spec (or the sentence saying why there is none) and an input size."""

    spec: ResNetSpec | None
    input_size: tuple[int, int] | None
    error: UserError | None
    checkpoint: MyNet | None = None  # "My checkpoint": the uploaded file's net, its weights and class names
    device_line: Any = field(default=None, compare=False, repr=False)  # the sidebar's slot for `show_device`

    @property
    def device(self) -> str:
        """Where the page's torch work runs (torch is imported here on first use)."""
        from ...nets.build import pick_device

        return str(pick_device())


def language_picker() -> None:
    st.sidebar.selectbox(
        t("sidebar.language", lang()),
        LANGS,
        key="lang",
        format_func=lambda code: t("sidebar.language_name", code),
    )


def _label(prefix: str) -> Callable[[str], str]:
    """A format_func with the language bound now: AppTest calls format_funcs after the run, outside it."""
    code = lang()
    return lambda v: t(f"{prefix}{v}", code)


def _arch_label(name: str, code: Lang | None = None) -> str:
    return t("sidebar.arch_option", code or lang(), name=name, depth=preset(name).depth)


def _current_spec() -> ResNetSpec:
    s = st.session_state
    common: dict[str, Any] = {
        "variant": None if s["variant"] == "default" else s["variant"],
        "shortcut": None if s["shortcut"] == "default" else s["shortcut"],
        "batch_norm": None if s["batch_norm"] else False,
        "plain": True if s["plain"] else None,
    }
    if s["net_mode"] == "preset":
        return make_spec(arch=s["arch"], **common)
    by_depth = s["define_by"] == "depth"
    extra: dict[str, Any] = {}
    if s["block"] == "bottleneck":
        extra = {"groups": s["groups"], "width_per_group": s["width_per_group"]}
    return make_spec(
        family=s["family"],
        depth=int(s["depth"]) if by_depth else None,
        layers=None if by_depth else s["layers"],
        block=s["block"],
        widths=s["widths"] or None,
        width_multiplier=s["width_multiplier"],
        **extra,
        **common,
    )


def _input_size(text: str) -> tuple[int, int] | None:
    text = text.strip().lower().replace("×", "x").replace("*", "x")
    if not text:
        return None
    try:
        parts = parse_ints(text.replace("x", ","), field="input_size")
    except InputError:
        raise InputError("bad_size", size=text, limit=16384) from None
    return normalize_size(parts, 224)


def _custom_widgets() -> None:
    sb = st.sidebar
    sb.selectbox(tr("sidebar.family"), CHOICES["family"], key="family", format_func=_label("family."))
    sb.radio(
        tr("sidebar.define_by"),
        CHOICES["define_by"],
        key="define_by",
        horizontal=True,
        format_func=_label("sidebar.define_"),
    )
    sb.selectbox(tr("sidebar.block"), CHOICES["block"], key="block", format_func=_label("block."))
    if st.session_state["define_by"] == "depth":
        sb.number_input(
            tr("sidebar.depth"), min_value=1, max_value=5000, step=1, key="depth", help=tr("sidebar.depth_help")
        )
    else:
        sb.text_input(tr("sidebar.layers"), key="layers", help=tr("sidebar.layers_help"))
    sb.text_input(tr("sidebar.widths"), key="widths", help=tr("sidebar.widths_help"))
    if st.session_state["block"] == "bottleneck":
        c1, c2 = sb.columns(2)
        c1.number_input(tr("sidebar.groups"), min_value=1, max_value=512, step=1, key="groups")
        c2.number_input(tr("sidebar.width_per_group"), min_value=1, max_value=1024, step=1, key="width_per_group")
    sb.number_input(
        tr("sidebar.width_multiplier"),
        min_value=1,
        max_value=16,
        step=1,
        key="width_multiplier",
        help=tr("sidebar.width_multiplier_help"),
    )


def sidebar() -> Selection:
    """Draw the shared sidebar and return the current selection (never raises for bad input)."""
    sb = st.sidebar
    sb.radio(
        tr("sidebar.net_mode"),
        CHOICES["net_mode"],
        key="net_mode",
        horizontal=True,
        format_func=_label("sidebar.mode_"),
    )
    mine: MyNet | None = None
    mine_error: UserError | None = None
    if st.session_state["net_mode"] == "checkpoint":  # the file says variant, shortcut and batch norm itself
        from .checkpoint import checkpoint_sidebar

        mine, mine_error = checkpoint_sidebar()
    else:
        if st.session_state["net_mode"] == "preset":
            sb.selectbox(
                tr("sidebar.arch"),
                CHOICES["arch"],
                key="arch",
                format_func=functools.partial(_arch_label, code=lang()),
            )
        else:
            _custom_widgets()
        with sb.expander(tr("sidebar.options"), expanded=False):
            st.selectbox(tr("sidebar.variant"), CHOICES["variant"], key="variant", format_func=_label("variant."))
            st.selectbox(tr("sidebar.shortcut"), CHOICES["shortcut"], key="shortcut", format_func=_label("shortcut."))
            st.checkbox(tr("sidebar.batch_norm"), key="batch_norm")
    sb.checkbox(tr("sidebar.plain"), key="plain", help=tr("sidebar.plain_help"))
    sb.text_input(
        tr("sidebar.input_size"),
        key="input_size",
        placeholder=tr("sidebar.input_size_auto"),
        help=tr("sidebar.input_size_help"),
    )
    spec: ResNetSpec | None = None
    size: tuple[int, int] | None = None
    error: UserError | None = None
    try:
        if st.session_state["net_mode"] != "checkpoint":
            spec = _current_spec()
        elif mine is not None:
            # a plain file's net is plain already; the checkbox takes any other file's to its plain twin
            spec = mine.inferred.spec.replace(plain=mine.inferred.spec.plain or bool(st.session_state["plain"]))
        error = mine_error
        size = _input_size(str(st.session_state["input_size"]))
    except UserError as e:
        error = e
    if spec is not None:
        sb.caption(tr("sidebar.chosen", title=net_title(spec)))
    device_line = sb.empty()  # filled by `show_device`, which imports torch: after Home's graph on a fresh server
    sync_query()
    sel = Selection(spec=spec, input_size=size, error=error, checkpoint=mine, device_line=device_line)
    st.session_state["_selection"] = sel
    return sel


def show_device(sel: Selection) -> None:
    """The sidebar's device line (torch is imported for it)."""
    if sel.device_line is not None:
        sel.device_line.caption(tr("sidebar.device", device=sel.device))


def current() -> Selection:
    """The selection the sidebar made in this run (drawn by app.py before the page)."""
    sel = st.session_state.get("_selection")
    return sel if isinstance(sel, Selection) else sidebar()


def usable() -> Selection | None:
    """The current selection when it makes a net; otherwise its one sentence is shown and None returned."""
    sel = current()
    if sel.spec is None or sel.error is not None:
        if sel.error is not None:
            say_error(sel.error)
        elif st.session_state.get("net_mode") == "checkpoint":
            st.info(tr("ckpt.prompt"), icon=":material/upload_file:")
        return None
    return sel

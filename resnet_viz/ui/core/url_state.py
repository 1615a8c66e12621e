"""The sidebar's choices in session state and in the URL: read from a link on a session's first run or when an
in-app link brings new ones, and mirrored back into the URL where they differ from the defaults."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from ...i18n import LANGS
from ...nets.spec import PRESETS

__all__ = ["CHOICES", "DEFAULTS", "arrived", "init_state", "remember", "sync_query"]

# Widget key -> (default, query parameter). Every widget's value lives in session state under its key.
DEFAULTS: dict[str, object] = {
    "lang": "en",
    "net_mode": "preset",
    "arch": "resnet50",
    "family": "imagenet",
    "define_by": "depth",
    "depth": 56,
    "layers": "3,4,6,3",
    "block": "basic",
    "widths": "",
    "variant": "default",
    "shortcut": "default",
    "groups": 1,
    "width_per_group": 64,
    "width_multiplier": 1,
    "batch_norm": True,
    "plain": False,
    "input_size": "",
}
_URL_SEEN = "_sidebar_url_seen"  # the sidebar choices last written to the URL
_INT_KEYS = {"depth", "groups", "width_per_group", "width_multiplier"}
_BOOL_KEYS = {"batch_norm", "plain"}
CHOICES: dict[str, tuple[str, ...]] = {
    "lang": LANGS,
    "net_mode": ("preset", "custom", "checkpoint"),
    "arch": tuple(PRESETS),
    "family": ("imagenet", "cifar"),
    "define_by": ("depth", "layers"),
    "block": ("basic", "bottleneck"),
    "variant": ("default", "v1", "v1.5", "preact"),
    "shortcut": ("default", "A", "B", "C"),
}


def _from_query(key: str, raw: str) -> object | None:
    """A query parameter's value for ``key``, or None when it is malformed (then the default stays)."""
    if key in _INT_KEYS:
        return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else None
    if key in _BOOL_KEYS:
        return raw in ("1", "true", "True")
    if key in CHOICES:
        return raw if raw in CHOICES[key] else None
    return raw[:64]


def init_state() -> None:
    """Session state from the URL on the first run, else the defaults; set only where missing."""
    if st.session_state.get("_state_ready"):
        for key in DEFAULTS:  # keep values of widgets a page did not draw this run
            if key in st.session_state:
                st.session_state[key] = st.session_state[key]
        _from_link()
        return
    params = st.query_params
    for key, default in DEFAULTS.items():
        value = _from_query(key, params[key]) if key in params else None
        st.session_state.setdefault(key, default if value is None else value)
    if "arch" in params and "net_mode" not in params:
        st.session_state["net_mode"] = "preset"
    st.session_state["_state_ready"] = True


def _in_url(keys: Iterable[str]) -> dict[str, str]:
    return {k: str(st.query_params[k]) for k in keys if k in st.query_params}


def remember(keys: Iterable[str], seen_key: str) -> None:
    """Note the URL's values of ``keys`` as this page's own (it has just written them), under ``seen_key``."""
    st.session_state[seen_key] = _in_url(keys)


def arrived(keys: Iterable[str], seen_key: str) -> tuple[dict[str, str], dict[str, str] | None] | None:
    """What a link brought: the URL's values of ``keys`` when they differ from those last noted under ``seen_key``
    (by ``remember`` or by this call), with the values noted before (None: none yet); None when nothing changed.

    An in-app link (``st.page_link`` with ``query_params``) keeps the session, so a page reads its parameters here,
    not only on a session's first run; the page's widgets then write their values back and ``remember`` them."""
    keys = tuple(keys)
    now, before = _in_url(keys), st.session_state.get(seen_key)
    if now == before:
        return None
    st.session_state[seen_key] = now
    return now, before


def _from_link() -> None:
    """The sidebar choices an in-app link (such as the tour's "Open in the explorer") brought: those in the URL
    that differ from what ``sync_query`` last wrote there."""
    link = arrived(DEFAULTS, _URL_SEEN)
    if link is None:
        return
    now, seen = link
    if seen is None:  # the first run read the URL whole (init_state)
        return
    changed = {k: v for k, v in now.items() if seen.get(k) != v}
    for key, raw in changed.items():
        value = _from_query(key, raw)
        if value is not None:
            st.session_state[key] = value
    if "arch" in changed and "net_mode" not in now:
        st.session_state["net_mode"] = "preset"


def sync_query() -> None:
    """Mirror the choices that differ from the defaults into the URL."""
    wanted: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        value = st.session_state.get(key, default)
        if value != default:
            wanted[key] = str(int(value)) if isinstance(value, bool) else str(value)
    if st.session_state.get("net_mode") != "custom":
        for k in ("family", "define_by", "depth", "layers", "block", "widths", "groups", "width_per_group"):
            wanted.pop(k, None)
    keep = {k: v for k, v in st.query_params.items() if k not in DEFAULTS}
    target = {**keep, **wanted}
    if dict(st.query_params) != target:
        st.query_params.from_dict(target)
    remember(DEFAULTS, _URL_SEEN)

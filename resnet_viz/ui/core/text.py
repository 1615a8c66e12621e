"""Translated output for pages: the session's language and a one-call lookup."""

from __future__ import annotations

import streamlit as st

from ...errors import UserError
from ...i18n import DEFAULT_LANG, LANGS, Lang, t
from ...nets.spec import ResNetSpec

__all__ = ["lang", "net_title", "say_error", "tr"]


def lang() -> Lang:
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def tr(key: str, **values: object) -> str:
    """The string ``key`` in the session's language."""
    return t(key, lang(), **values)


def say_error(e: UserError) -> None:
    """One clear sentence in place of the output; the page keeps working."""
    st.error(e.message(lang()), icon="⚠️")


def net_title(spec: ResNetSpec) -> str:
    """A net's display name, always with its depth."""
    name = (
        spec.name
        if spec.name != "custom"
        else tr("net.custom", block=tr(f"block.{spec.block}"), layers=list(spec.layers))
    )
    return tr("net.plain_title" if spec.plain else "net.title", name=name, depth=spec.depth)

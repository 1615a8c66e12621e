"""The lab page's entry: its title and introduction drawn before the lab's modules are imported.

The lab imports torch, SQLAlchemy and Dask (2.6 s warm, more on a fresh server's cold disk); a student who opens the
lab first sees its title and a spinner at once instead of a blank page. This module imports nothing heavy
(tests/test_package.py checks).
"""

from __future__ import annotations

import streamlit as st

from ..core.text import tr

__all__ = ["render_gradients"]


def render_gradients() -> None:
    """The whole lab: its title and introduction, then everything else once its modules are loaded."""
    st.title(tr("grad.title"))
    st.markdown(tr("grad.intro"))
    with st.spinner(tr("grad.page_loading")):
        from .page import render_lab
    render_lab()

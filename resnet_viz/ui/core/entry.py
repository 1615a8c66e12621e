"""A page's first paint before its heavy part: its title and introduction drawn, then its modules imported under a
spinner. A page whose views import torch, pandas or SQLAlchemy at the top otherwise stays blank until they load
(4 to 8 s on a fresh server's cold disk); the route files import the page's light entry, which imports the rest
inside ``loading``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from .text import tr

__all__ = ["loading"]


@contextmanager
def loading(title_key: str, intro_key: str | None = None, message_key: str = "nav.page_loading") -> Iterator[None]:
    """Draw the page's title (and introduction), then run the block (the page's imports) under a spinner."""
    st.title(tr(title_key))
    if intro_key is not None:
        st.markdown(tr(intro_key))
    with st.spinner(tr(message_key)):
        yield

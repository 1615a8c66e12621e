"""The page list, with translated titles, and the shared sidebar drawn before any page runs."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from .sidebar import init_state, language_picker, sidebar
from .text import tr

__all__ = ["PAGES", "navigation"]

# (file, title key, icon, url path). The url paths differ from the file names on purpose: Streamlit's
# AppTest (1.67) reruns a page whose url path equals its file stem without the entry script.
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("pages/home.py", "nav.home", ":material/home:", "overview"),
    ("pages/explorer.py", "nav.explorer", ":material/account_tree:", "architecture"),
    ("pages/compare.py", "nav.compare", ":material/compare_arrows:", "comparison"),
    ("pages/gradients.py", "nav.gradients", ":material/monitoring:", "gradient-lab"),
    ("pages/features.py", "nav.features", ":material/image_search:", "feature-maps"),
    ("pages/tour.py", "nav.tour", ":material/school:", "guided-tour"),
)


def navigation() -> StreamlitPage:
    init_state()
    language_picker()
    pages = [
        st.Page(path, title=tr(key), icon=icon, url_path=url, default=(i == 0))
        for i, (path, key, icon, url) in enumerate(PAGES)
    ]
    nav = st.navigation(pages)
    sidebar()
    return nav

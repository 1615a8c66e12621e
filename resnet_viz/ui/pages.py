"""The page table, the app's router (`run_app`) and the shared sidebar drawn before any page runs.

Every run of the app goes through `run_app`, which `app.py` calls: its `st.navigation` opens the page whose url
path the browser asked for (`/architecture?arch=resnet34` on a fresh server's very first request too), and draws
the app's own menu. The page files live in `app_pages/`, not `pages/`: a folder named `pages/` beside `app.py`
puts Streamlit 1.67 in its legacy multipage mode until `st.navigation` first runs, which shows its own list of
file names and answers a deep link with the file of that name (docs/DESIGN.md, "No `pages/` folder").
"""

from __future__ import annotations

import sys

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from .sidebar import current, init_state, language_picker, show_device, sidebar
from .text import tr

__all__ = ["PAGES", "navigation", "run_app"]

# (file, title key, icon, url path); the first is the default page, served at "/".
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("app_pages/home.py", "nav.home", ":material/home:", "overview"),
    ("app_pages/explorer.py", "nav.explorer", ":material/account_tree:", "architecture"),
    ("app_pages/compare.py", "nav.compare", ":material/compare_arrows:", "comparison"),
    ("app_pages/gradients.py", "nav.gradients", ":material/monitoring:", "gradient-lab"),
    ("app_pages/features.py", "nav.features", ":material/image_search:", "feature-maps"),
    ("app_pages/tour.py", "nav.tour", ":material/school:", "guided-tour"),
    ("app_pages/why_residual.py", "nav.insights", ":material/insights:", "insights"),
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


def run_app() -> None:
    """One run of the app: page config, the shared sidebar, then the page the URL names."""
    st.set_page_config(page_title="ResNet visualizer", page_icon="🧱", layout="wide")
    page = navigation()
    from .cache import sized_threads  # torch: only once st.navigation has run (tests/test_package.py)

    # Home on its default net needs no torch (its trace is shipped, ui/cache.py): while torch is not yet imported,
    # a fresh server draws Home first and imports torch after it. Every other page sizes torch's threads before
    # its first torch work.
    torch_after = page.url_path == "" and "torch" not in sys.modules
    if not torch_after:
        sized_threads()
        show_device(current())
    try:
        page.run()
    finally:
        if torch_after:
            sized_threads()
            show_device(current())

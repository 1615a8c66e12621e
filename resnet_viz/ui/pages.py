"""The page table, the app's router (`run_app`) and the shared sidebar drawn before any page runs.

Every run of the app goes through `run_app`: `app.py` calls it, and so does each *route file*
`pages/<url path>.py`. Streamlit serves a fresh server from its legacy `pages/` folder scan until
`st.navigation` has run once in the process (its docs: "As soon as any session of your app executes the
st.navigation command, your app will ignore the pages/ directory"); in that mode a first request for
`/architecture` runs the file whose name is that url path, `pages/architecture.py`, and any other path opens
"Page not found". The route file hands the run to `run_app`, whose `st.navigation` opens the page registered
under the same url path (`pages/explorer.py`) and switches the server to `st.navigation` for good.

The legacy mode also lists the scanned file names in the sidebar until the app's own menu replaces it (issue 25).
`.streamlit/config.toml` sets `client.showSidebarNavigation = false`, which a session's first message carries, so
that list is never drawn; `navigation` switches the option back on (it is scriptable) before `st.navigation`, whose
menu is then drawn in the sidebar as usual: the first menu on screen is the app's own.
"""

from __future__ import annotations

import sys

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from .core.nav import PAGES, route_file
from .core.sidebar import current, init_state, language_picker, show_device, sidebar
from .core.text import tr

__all__ = ["PAGES", "navigation", "route_file", "run_app"]


def navigation() -> StreamlitPage:
    init_state()
    language_picker()
    pages = [
        st.Page(path, title=tr(key), icon=icon, url_path=url, default=(i == 0))
        for i, (path, key, icon, url) in enumerate(PAGES)
    ]
    st.set_option("client.showSidebarNavigation", True)  # the app's own menu; the legacy list stays hidden
    nav = st.navigation(pages)
    sidebar()
    return nav


def run_app() -> None:
    """One run of the app: page config, the shared sidebar, then the page the URL names."""
    st.set_page_config(page_title="ResNet visualizer", page_icon="🧱", layout="wide")
    page = navigation()
    from .core.cache import sized_threads  # torch: only once st.navigation has run (tests/test_package.py)

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

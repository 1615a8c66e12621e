"""`streamlit run app.py` is right from a fresh server's very first request: the root and every deep link, in both
languages, open their page with the app's own navigation and the shared sidebar, and no "Page not found".

Until `st.navigation` has run once in the process, Streamlit serves the app from its legacy `pages/` scan (a
`pages/` folder sits beside `app.py`); each url path therefore has a route file, pages/<url path>.py, that hands
the run to `run_app` (see resnet_viz/ui/pages.py). The scan's own list of file names is hidden from the first
paint (`client.showSidebarNavigation = false`), so the first menu on screen is the app's (issue 25). The first test
checks that layout without a browser; the others start a fresh server per request, since only a server's first run
takes the legacy path.
"""

from __future__ import annotations

import ast
import tomllib
from typing import Any
from urllib.parse import urlsplit

import pytest

from resnet_viz.i18n import Lang, t
from resnet_viz.ui.pages import PAGES, route_file
from tests.conftest import ROOT, chromium_page, running_app, wait_idle

ROUTE_BODY = ast.dump(ast.parse("from resnet_viz.ui.pages import run_app\nrun_app()"))


def test_every_url_path_has_a_route_file_and_nothing_else_is_scanned() -> None:
    page_files = {path for path, *_ in PAGES}
    url_paths = [url for *_, url in PAGES[1:]]  # the first page is the default one, served at "/"
    routes = {route_file(url) for url in url_paths}
    # A page file named after a url path would be run on its own by the legacy scan, without run_app's sidebar.
    assert not page_files & routes, "name the page file differently from its url path"
    for route in sorted(routes):
        tree = ast.parse((ROOT / route).read_text(encoding="utf-8"))
        body = tree.body[1:] if ast.get_docstring(tree) else tree.body
        assert ast.dump(ast.Module(body=body, type_ignores=[])) == ROUTE_BODY, f"{route} must only call run_app()"
    # The legacy scan takes every pages/*.py; anything beyond the pages and their routes would be a stray page.
    scanned = {p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py"}
    assert scanned == page_files | routes
    # the scan's list of file names is never drawn: hidden from a session's first message on
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showSidebarNavigation"] is False


FIRST_REQUESTS = [
    # (first request to a fresh server, language, its page's title, text that must be on the page)
    ("/architecture?arch=resnet34", "en", "Architecture explorer", ["21.80 M", "Showing: resnet34 (depth 34)"]),
    ("/architecture?arch=resnet34&lang=zh", "zh", "结构浏览器", ["21.80 M", "当前显示：resnet34（深度 34）"]),
    ("/", "en", "ResNet visualizer", ["25.56 M", "Showing: resnet50 (depth 50)"]),
]


# Keeps the text of the first sidebar menu that appears, whatever comes after it (Streamlit's legacy list showed
# file names for a moment before the app's own menu replaced it).
FIRST_NAV = """
new MutationObserver((_, obs) => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  if (nav && nav.innerText.trim()) { window.__rvFirstNav = nav.innerText; obs.disconnect(); }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


@pytest.mark.browser
@pytest.mark.parametrize(("path", "lang", "title", "texts"), FIRST_REQUESTS, ids=["deep-link", "deep-link-zh", "root"])
def test_first_request_to_a_fresh_server(path: str, lang: Lang, title: str, texts: list[str]) -> None:
    log = "-".join(["server-first-request", urlsplit(path).path.strip("/") or "root", lang]) + ".log"
    with running_app(log) as url, chromium_page() as page:
        page.add_init_script(FIRST_NAV)
        page.goto(url + path)
        page.wait_for_selector(f'h1:has-text("{title}")', timeout=90_000)
        wait_idle(page)
        page.wait_for_selector('[data-testid="stMetric"]')
        page.wait_for_timeout(1500)  # the dialog, when it comes, comes with the first run's end
        body = page.inner_text("body")
        assert "Page not found" not in body
        assert page.locator('[role="dialog"]').count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert urlsplit(page.url).path == urlsplit(path).path  # not sent back to the main page
        for text in texts:
            assert text in body
        assert_app_sidebar(page, lang)
        first = page.evaluate("window.__rvFirstNav")  # the first sidebar menu ever on screen: the app's own
        assert all(t(key, lang) in first for _, key, _, _ in PAGES), first


def assert_app_sidebar(page: Any, lang: Lang) -> None:
    """The sidebar holds the app's own navigation (not the legacy scan's file names) and its net picker."""
    links = page.locator('[data-testid="stSidebarNavLink"]')
    assert links.count() == len(PAGES)
    nav = page.inner_text('[data-testid="stSidebarNav"]')
    assert all(t(key, lang) in nav for _, key, _, _ in PAGES)
    assert page.locator(".st-key-arch").count() == 1

"""`streamlit run app.py` is right from a fresh server's very first request: the root and every deep link, in both
languages, open their page with the app's own navigation and the shared sidebar, and no "Page not found".

Streamlit 1.67 turns on its legacy multipage mode when a folder named `pages/` sits beside `app.py`: until
`st.navigation` first runs it lists that folder's file names in the sidebar and answers a deep link with the file
of that name. The app keeps its pages in `app_pages/`, so every run, the first included, goes through `app.py`'s
`st.navigation` (see resnet_viz/ui/pages.py). The first test checks that layout without a browser; the others start
a fresh server per request, since only a server's first run could take another path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from resnet_viz.i18n import Lang, t
from resnet_viz.ui.pages import PAGES
from tests.conftest import ROOT, chromium_page, running_app, wait_idle


def test_no_legacy_pages_folder_and_every_page_file_is_in_the_table() -> None:
    # Streamlit's PagesManager takes the legacy mode when `pages/` exists beside the main script, whatever it holds.
    assert not (ROOT / "pages").exists(), "a pages/ folder beside app.py brings back Streamlit's legacy page list"
    files = [path for path, *_ in PAGES]
    assert all((ROOT / path).is_file() for path in files)
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py")}
    assert on_disk == set(files), "every file in app_pages/ is a page of the table"
    assert len({url for *_, url in PAGES}) == len(PAGES)


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

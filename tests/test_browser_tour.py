"""The guided tour in Chromium, in Chinese: two chapters opened by URL, screenshotted, with their text rendered
and the block chapter's interactive graphs drawn."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from resnet_viz.tour.chapters import chapter_index
from tests.conftest import require_tool, wait_idle

pytestmark = pytest.mark.browser


def _cjk_font() -> None:
    """Chinese text needs a CJK font on the machine (Debian: fonts-noto-cjk, installed by .ci/run)."""
    fc_list = require_tool("fc-list", "to check for a CJK font")
    fonts = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=True).stdout
    assert fonts.strip(), "no font covers Chinese: apt-get install fonts-noto-cjk"


def _dismiss_page_not_found(page: Any) -> None:
    """Streamlit 1.67 may answer a browser's first deep link with a "Page not found" dialog and then run the
    page anyway (see test_browser_features.py); the chapter below it is what the URL asked for."""
    dialog = page.locator('[role="dialog"]')
    if dialog.count():
        assert "Page not found" in dialog.inner_text()
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")


def test_two_chapters_in_chinese(page: Any, app_url: str, artifacts: Path) -> None:
    _cjk_font()
    page.goto(f"{app_url}/guided-tour?chapter=block&lang=zh")
    wait_idle(page)
    page.get_by_text("自我检测").wait_for(timeout=120_000)  # the questions come last, after the live view
    main = page.inner_text('[data-testid="stMain"]')
    assert "2. 残差块" in main and "瓶颈结构" in main and "自我检测" in main
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stSidebar"]').is_visible()
    _dismiss_page_not_found(page)
    # the interactive graph of each demo block, drawn, and a link to the same block in the explorer
    page.wait_for_function("() => document.querySelectorAll('.echarts-container canvas').length >= 2")
    graphs = page.locator(".echarts-container")
    assert graphs.count() == 2 and all(graphs.nth(i).bounding_box()["height"] > 600 for i in range(2))
    assert "layer1.0.add" in main and "layer1.0.conv3" in main  # the captions name the selected nodes
    link = page.locator('[data-testid="stMain"] a[href*="node=layer1.0.add"]')
    assert link.get_attribute("href") == "architecture?arch=resnet18&node=layer1.0.add&lang=zh"
    page.screenshot(path=str(artifacts / "tour-zh-block.png"), full_page=True)

    page.goto(f"{app_url}/guided-tour?chapter=dense&lang=zh&presenter=1")
    wait_idle(page)
    page.get_by_text("自我检测").wait_for(timeout=120_000)
    page.get_by_text("64 + 6·32 = 256").wait_for()
    main = page.inner_text('[data-testid="stMain"]')
    assert f"{chapter_index('dense') + 1}. 稠密连接" in main and "增长率" in main and "64 + 6·32 = 256" in main
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.locator('[data-testid="stSidebar"]').is_visible()  # presenter mode hides it
    size = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('[data-testid=\"stMain\"] .stMarkdown p')).fontSize)"
    )
    assert size >= 24  # 1.5rem: projector-sized text
    page.screenshot(path=str(artifacts / "tour-zh-dense-presenter.png"), full_page=True)


def test_next_button_and_url_follow_each_other(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/guided-tour?chapter=block")
    wait_idle(page)
    page.get_by_text("Check yourself").wait_for(timeout=120_000)
    _dismiss_page_not_found(page)
    page.get_by_role("button", name="Next").first.click()
    page.wait_for_url("**chapter=shortcuts**")
    page.get_by_text("Option B adds").wait_for(timeout=120_000)
    assert "3. Shortcuts when shapes change" in page.inner_text('[data-testid="stMain"]')
    assert page.locator('[data-testid="stException"]').count() == 0

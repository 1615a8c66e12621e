"""Home in a real browser: the app starts and shows ResNet-50's totals with no exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser


def test_home_loads_in_chromium(page: Any, app_url: str, artifacts: Path) -> None:
    page.goto(app_url)
    wait_idle(page)
    page.wait_for_selector('[data-testid="stMetric"]')
    # a loaded machine may still be drawing the first run: wait for the totals (the deadline only guards a hang)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"]').innerText.includes('25.56 M')", timeout=120_000
    )
    text = page.inner_text('[data-testid="stMain"]')
    assert "25.56 M" in text and "4.09 G" in text
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)

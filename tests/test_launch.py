"""The launcher: a deep link as the very first request to a fresh server opens its page, no "Page not found"."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import running_app, wait_idle

pytestmark = pytest.mark.browser


def test_first_request_to_a_fresh_server_can_be_a_deep_link(page: Any) -> None:
    # `page` brings the session's server up; this test starts a second, fresh one and sends it a deep link first.
    with running_app("server-launch.log") as url:
        page.goto(f"{url}/comparison?arch=resnet34")
        wait_idle(page)
        page.wait_for_selector("h1")
        page.wait_for_timeout(1500)  # the dialog, when it comes, comes after the first run
        assert "Page not found" not in page.inner_text("body")
        assert page.locator("h1").first.inner_text() == "Compare nets"

"""A picture on the graph in Chromium, both ways between the pages in one session: the feature page's "Show on the
graph" opens the explorer with the same picture, the stage selected and the graph coloured by its share of zeros;
the node panel's "Open in Feature maps" goes back with the same picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser


def _params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def _main_has(page: Any, text: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=\"stMain\"]').innerText.includes({text!r})", timeout=120_000
    )


def test_show_on_the_graph_and_back(page: Any, app_url: str, artifacts: Path) -> None:
    page.goto(f"{app_url}/feature-maps?arch=resnet18&picture=coffee&weights=random")
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stImage"] img', timeout=120_000)
    wait_idle(page, 120)
    links = page.locator('[data-testid="stMain"] [data-testid="stPageLink"] a', has_text="Show on the graph")
    assert links.count() == 5  # stem, layer1 .. layer4
    links.nth(3).click()  # layer3
    page.wait_for_url("**/architecture**", timeout=120_000)
    page.wait_for_selector(".echarts-container canvas", timeout=120_000)
    wait_idle(page, 120)
    _main_has(page, "What layer3 makes of the picture")
    params = _params(page)
    assert {k: params.get(k) for k in ("arch", "picture", "weights", "node", "stat")} == {
        "arch": "resnet18", "picture": "coffee", "weights": "random", "node": "layer3", "stat": "dead",
    }  # fmt: skip
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "resnet18 (depth 18): layer3's 16 strongest channels of 256 (14×14 each)" in text
    assert "plain-resnet18 (depth 18): layer3's 16 strongest channels of 256 (14×14 each)" in text
    assert page.locator(".echarts-container canvas").count() >= 2  # the net and its plain twin
    page.screenshot(path=str(artifacts / "picture_on_graph.png"), full_page=True)

    page.locator('[data-testid="stMain"] [data-testid="stPageLink"] a', has_text="Open in Feature maps").click()
    page.wait_for_url("**/feature-maps**", timeout=120_000)
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stImage"] img', timeout=120_000)
    wait_idle(page, 120)
    params = _params(page)
    assert (params.get("picture"), params.get("weights")) == ("coffee", "random")
    _main_has(page, "1. Your picture, upright: 600×400")  # the coffee cup (the cat is 451×300)

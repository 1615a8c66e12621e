"""The explorer in a real browser: Home draws ResNet-50's graph; switching presets redraws it, and its exports
(what is open now) hold the expected shapes; screenshots go to the test artifacts folder."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision.models as tv

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

CHART = ".echarts-container"


def choose(page: Any, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox with widget key ``key``."""
    box = page.locator(f".st-key-{key} input[role='combobox']")
    box.click()
    box.fill(option.split(" ")[0])
    page.locator('[role="option"]', has_text=option).first.click()


def drawn(page: Any) -> None:
    """Wait until a graph's canvas is on the page."""
    page.wait_for_selector(f"{CHART} canvas", timeout=120_000)


def showing(page: Any, title: str, params: str) -> None:
    """Wait until the page has rerun for ``title``: the sidebar names it and the totals show its ``params``."""
    page.wait_for_function(
        "([t, p]) => document.body.innerText.includes('Showing: ' + t) && document.body.innerText.includes(p)",
        arg=[title, params],
        timeout=120_000,
    )
    wait_idle(page)


def export(page: Any, fmt: str, artifacts: Path, name: str) -> str:
    """The explorer's export of what is open now, downloaded as a person would."""
    with page.expect_download() as info:
        page.locator(f".st-key-explorer_export_{fmt} button").click()
    saved = artifacts / name
    info.value.save_as(saved)
    return saved.read_text(encoding="utf-8")


def close_dialogs(page: Any) -> None:
    if page.locator('[role="dialog"]').count():
        page.keyboard.press("Escape")


def stage_shapes(name: str) -> list[str]:
    """torchvision's own stage output shapes (C×H×W), from a forward pass on the meta device."""
    with torch.device("meta"):
        model = getattr(tv, name)()
    out: list[str] = []
    hooks = [
        getattr(model, f"layer{i}").register_forward_hook(lambda m, i, o: out.append("×".join(map(str, o.shape[1:]))))
        for i in (1, 2, 3, 4)
    ]
    model(torch.empty(1, 3, 224, 224, device="meta"))
    for h in hooks:
        h.remove()
    return out


def test_explorer_in_chromium(page: Any, app_url: str, artifacts: Path) -> None:
    page.goto(app_url)
    wait_idle(page)
    close_dialogs(page)
    drawn(page)
    page.screenshot(path=str(artifacts / "explorer_home.png"))
    page.locator(CHART).first.screenshot(path=str(artifacts / "explorer_home_graph.png"))

    page.goto(f"{app_url}/architecture")
    wait_idle(page)
    close_dialogs(page)
    drawn(page)
    choose(page, "arch", "resnet152 · depth 152")
    showing(page, "resnet152 (depth 152)", "60.19 M")  # torchvision's resnet152: 60,192,808 params
    text = export(page, "dot", artifacts, "resnet152.gv")
    for _ in range(20):  # the export follows the page's last finished run
        if "layer3.35" in text:
            break
        page.wait_for_timeout(1000)
        text = export(page, "dot", artifacts, "resnet152.gv")
    assert "layer3.35" in text and all(s in text for s in stage_shapes("resnet152"))
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "explorer_resnet152.png"))

    choose(page, "arch", "resnet1202 · depth 1202")
    showing(page, "resnet1202 (depth 1202)", "1202")
    drawn(page)
    page.locator(CHART).first.screenshot(path=str(artifacts / "explorer_resnet1202_graph.png"))
    svg = export(page, "svg", artifacts, "resnet1202.svg")
    for _ in range(20):  # the export follows the page's last finished run
        if "64×8×8" in svg:
            break
        page.wait_for_timeout(1000)
        svg = export(page, "svg", artifacts, "resnet1202.svg")
    assert "<svg" in svg and "64×8×8" in svg and "×200" in svg
    assert "zero-pad" in html.unescape(svg)  # graphviz writes the hyphen as &#45;

    page.goto(f"{app_url}/comparison")
    wait_idle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"]')
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "compare.png"))
    page.locator('[data-testid="stPlotlyChart"]').first.screenshot(path=str(artifacts / "compare_plot.png"))

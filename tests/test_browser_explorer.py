"""The explorer in a real browser: Home draws ResNet-50's graph; switching presets redraws the SVG with the
expected shapes; an export downloads; screenshots go to the test artifacts folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision.models as tv

from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

CHART = '[data-testid="stGraphVizChart"]'
SVG = f"{CHART} svg"


def choose(page: Any, key: str, option: str) -> None:
    """Pick ``option`` in the selectbox with widget key ``key``."""
    box = page.locator(f".st-key-{key} input[role='combobox']")
    box.click()
    box.fill(option.split(" ")[0])
    page.locator('[role="option"]', has_text=option).first.click()


def svg_text(page: Any, needle: str) -> str:
    """The first graph's SVG text once it holds ``needle``."""
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=\"stGraphVizChart\"] svg')]"
        ".some(s => s.textContent.includes(n))",
        arg=needle,
    )
    return str(page.locator(SVG).first.text_content())


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
    home = svg_text(page, "2048×7×7")
    assert all(s in home for s in stage_shapes("resnet50"))
    page.screenshot(path=str(artifacts / "explorer_home.png"))
    page.locator(CHART).first.screenshot(path=str(artifacts / "explorer_home_graph.png"))

    page.goto(f"{app_url}/architecture")
    wait_idle(page)
    close_dialogs(page)
    svg_text(page, "layer4.2")
    choose(page, "arch", "resnet152 · depth 152")
    text = svg_text(page, "layer3.35")
    assert all(s in text for s in stage_shapes("resnet152"))
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "explorer_resnet152.png"))

    choose(page, "arch", "resnet1202 · depth 1202")
    text = svg_text(page, "×199")
    assert "64×8×8" in text and "zero-pad" in text and "(option A)" in text
    wait_idle(page)
    page.set_viewport_size({"width": 1400, "height": 3000})  # the graph scrolls inside the page; show all of it
    page.locator(CHART).first.screenshot(path=str(artifacts / "explorer_resnet1202_graph.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})

    with page.expect_download() as info:
        page.locator(".st-key-explorer_export_svg button").click()
    saved = artifacts / "resnet1202.svg"
    info.value.save_as(saved)
    svg = saved.read_text(encoding="utf-8")
    assert "<svg" in svg and "64×8×8" in svg and "×200" in svg

    page.goto(f"{app_url}/comparison")
    wait_idle(page)
    page.wait_for_selector('[data-testid="stPlotlyChart"]')
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "compare.png"))
    page.locator('[data-testid="stPlotlyChart"]').first.screenshot(path=str(artifacts / "compare_plot.png"))

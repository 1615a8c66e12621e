"""The gradient lab in a real browser: it opens on the reference run; Start trains in the engine, the plots update,
a second session joins the same run."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from resnet_viz.lab.defaults import DEFAULT
from tests.conftest import wait_idle

pytestmark = pytest.mark.browser

_PROFILE_Y = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const p = plots.find(el => el.layout && el.layout.yaxis && el.layout.yaxis.type === 'log' && el.data.length === 2);
  const h = plots.find(el => el.data && el.data[0].type === 'heatmap');
  return p ? {title: p.layout.title.text, res: p.data[0].y.slice(), plain: p.data[1].y.slice(),
              heat_steps: h ? h.data[0].x.length : 0} : null;
}"""


def _step(page: Any) -> int:
    """The step the page shows for a training run (-1 while it shows a finished one or none)."""
    m = re.search(r"Step (\d+) of (\d+) · [^·]+ · running", page.inner_text('[data-testid="stMain"]'))
    return int(m.group(1)) if m else -1


def _wait(cond: Any, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("the page never showed it")


def _open_lab(page: Any, app_url: str, *, depth: int, seed: int) -> None:
    page.goto(f"{app_url}/gradient-lab")
    page.get_by_text("Reference run: trained before class").wait_for(timeout=180_000)  # the picture is there at once
    wait_idle(page, 180)
    for label, value in (("Depth (6n+2 or 9n+2)", depth), ("Seed", seed)):
        box = page.get_by_role("spinbutton", name=label)
        box.fill(str(value))
        box.press("Enter")
        wait_idle(page, 60)


def test_the_lab_opens_on_the_reference_run_and_start_trains_live(page: Any, app_url: str, artifacts: Path) -> None:
    page.goto(f"{app_url}/gradient-lab")
    page.get_by_text("Reference run: trained before class").wait_for(timeout=180_000)
    ref = _wait(lambda: page.evaluate(_PROFILE_Y))
    # ResNet-56 against plain-56, at the last step of the defaults' reference run
    assert len(ref["res"]) == len(ref["plain"]) == 56 and f"step {DEFAULT.steps}" in ref["title"]
    # profile, two heatmaps, curves and gradient ends (the first can be drawn before the others arrive)
    _wait(lambda: page.locator('[data-testid="stPlotlyChart"]').count() == 5)
    _open_lab(page, app_url, depth=20, seed=11)
    page.get_by_role("button", name="Start").click()
    _wait(lambda: _step(page) >= 1)
    first = _wait(lambda: (s := page.evaluate(_PROFILE_Y)) and len(s["res"]) == 20 and s)
    seen = _step(page)
    # the page keeps redrawing while the engine trains: the profile moves to a later step
    _wait(lambda: (s := page.evaluate(_PROFILE_Y)) and s["title"] != first["title"] and s["res"] != first["res"])
    assert _step(page) > seen and "run=" in page.evaluate("location.href")
    text = page.inner_text('[data-testid="stMain"]')
    assert "He et al. 2015" in text and "the norms span a factor of" in text
    page.set_viewport_size({"width": 1400, "height": 3400})  # Streamlit scrolls inside its main block
    time.sleep(1.5)
    page.screenshot(path=str(artifacts / "gradients_live.png"), full_page=True)
    page.get_by_role("button", name="Stop").click()
    _wait(lambda: "Stopped. Press Start" in page.inner_text('[data-testid="stMain"]'), timeout=120)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_two_sessions_with_the_same_settings_watch_one_run(page: Any, app_url: str, artifacts: Path) -> None:
    other_context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    other = other_context.new_page()
    other.set_default_timeout(60_000)
    try:
        for pg in (page, other):
            _open_lab(pg, app_url, depth=8, seed=12)
            pg.get_by_role("button", name="Start").click()
        _wait(lambda: _step(page) >= 2 and _step(other) >= 2)
        mine, theirs = (pg.evaluate("new URLSearchParams(location.search).get('run')") for pg in (page, other))
        assert mine == theirs and mine  # one shared run
        _wait(lambda: "2 watching" in other.inner_text('[data-testid="stMain"]'))
        assert len(page.evaluate(_PROFILE_Y)["res"]) == 8
        other.screenshot(path=str(artifacts / "gradients_shared.png"), full_page=True)
        page.get_by_role("button", name="Stop").click()  # the other session still watches: it goes on
        seen = _step(other)
        _wait(lambda: _step(other) > seen + 1)
        other.get_by_role("button", name="Stop").click()
        _wait(lambda: "Stopped. Press Start" in other.inner_text('[data-testid="stMain"]'), timeout=120)
        for pg in (page, other):
            assert pg.locator('[data-testid="stException"]').count() == 0
    finally:
        other_context.close()

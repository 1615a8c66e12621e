"""The gradient lab in a real browser: Start with the defaults, the live plots fill in and keep updating."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

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
    m = re.search(r"Step (\d+) of (\d+)", page.inner_text('[data-testid="stMain"]'))
    return int(m.group(1)) if m else -1


def _wait(cond: Any, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("the page never showed it")


def test_start_with_defaults_and_watch_the_plots_update(page: Any, app_url: str, artifacts: Path) -> None:
    # open Home first, then the lab from the sidebar: a cold server may answer a deep link with a
    # "Page not found" dialog before st.navigation has registered the pages
    page.goto(app_url)
    wait_idle(page, 180)
    page.locator('[data-testid="stSidebarNavLink"][href$="/gradient-lab"]').click()
    page.wait_for_url(f"{app_url}/gradient-lab")
    page.get_by_text("Choose the nets and press").wait_for(timeout=180_000)
    wait_idle(page, 180)
    page.get_by_role("button", name="Start").click()
    first = _wait(lambda: page.evaluate(_PROFILE_Y))
    assert len(first["res"]) == len(first["plain"]) == 56
    seen = _step(page)
    assert seen >= 1
    # the page keeps redrawing while it trains: the profile moves to a later step, the heatmap grows a column
    _wait(lambda: (s := page.evaluate(_PROFILE_Y)) and s["title"] != first["title"] and s["res"] != first["res"])
    _wait(lambda: page.evaluate(_PROFILE_Y)["heat_steps"] > max(first["heat_steps"], 1))
    assert _step(page) > seen
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 5
    text = page.inner_text('[data-testid="stMain"]')
    assert "He et al. 2015" in text and "the norms span a factor of" in text
    page.set_viewport_size({"width": 1400, "height": 3400})  # Streamlit scrolls inside its main block
    time.sleep(1.5)
    page.screenshot(path=str(artifacts / "gradients_live.png"), full_page=True)
    page.get_by_role("button", name="Stop").click()
    _wait(lambda: "stopped" in page.inner_text('[data-testid="stMain"]'), timeout=60)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_two_sessions_train_at_once_and_keep_their_own_runs(page: Any, app_url: str) -> None:
    other_context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    other = other_context.new_page()
    other.set_default_timeout(60_000)
    try:
        for pg, depth in ((page, 20), (other, 8)):
            pg.goto(f"{app_url}/gradient-lab")
            pg.get_by_text("Choose the nets and press").wait_for(timeout=180_000)
            wait_idle(pg, 180)
            box = pg.get_by_role("spinbutton", name="Depth (6n+2 or 9n+2)")
            box.fill(str(depth))
            box.press("Enter")
            wait_idle(pg, 60)
            pg.get_by_role("button", name="Start").click()
        mine = _wait(lambda: page.evaluate(_PROFILE_Y))
        theirs = _wait(lambda: other.evaluate(_PROFILE_Y))
        assert len(mine["res"]) == len(mine["plain"]) == 20  # plain-20 and ResNet-20: 19 convs + fc
        assert len(theirs["res"]) == len(theirs["plain"]) == 8
        _wait(lambda: _step(page) >= 2 and _step(other) >= 2)
        assert len(page.evaluate(_PROFILE_Y)["res"]) == 20 and len(other.evaluate(_PROFILE_Y)["res"]) == 8
        for pg in (page, other):
            pg.get_by_role("button", name="Stop").click()
            _wait(lambda pg=pg: "stopped" in pg.inner_text('[data-testid="stMain"]'), timeout=60)
            assert pg.locator('[data-testid="stException"]').count() == 0
    finally:
        other_context.close()

"""The feature-map page in Chromium: upload a photo, see every stage's grid; upload junk, see one sentence."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from resnet_viz import trace
from resnet_viz.vision.samples import sample_bytes
from tests.conftest import wait_idle

pytestmark = pytest.mark.browser


def _phone_photo(path: Path) -> Path:
    """The cat sample stored sideways with an EXIF orientation tag, as a phone saves a portrait shot."""
    img = Image.open(io.BytesIO(sample_bytes("cat"))).rotate(90, expand=True)  # 300×451 on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    img.save(path, format="JPEG", exif=exif.tobytes(), quality=90)
    return path


def test_upload_shows_the_grids_then_a_bad_file_one_sentence(
    page: Any, app_url: str, artifacts: Path, tmp_path: Path
) -> None:
    # Through the app's own menu, as a user goes: its links keep the session's choices (arch=resnet18).
    page.goto(f"{app_url}/?arch=resnet18")
    page.wait_for_selector(".st-key-arch", timeout=120_000)
    wait_idle(page, 120)
    page.locator('[data-testid="stSidebarNav"] a[href$="/feature-maps"]').click()
    page.wait_for_url("**/feature-maps**")
    wait_idle(page, 120)
    page.get_by_text("Upload", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(_phone_photo(tmp_path / "IMG_0001.jpg"))
    )
    # 3 preprocessing steps; 5 grids and 5 overlays for each of 2 nets; a channel and a Grad-CAM each
    images = 3 + 20 + 2 + 2
    selector = '[data-testid="stMain"] [data-testid="stImage"] img'
    page.wait_for_function(f"document.querySelectorAll('{selector}').length >= {images}", timeout=120_000)
    wait_idle(page, 120)
    main = page.locator('[data-testid="stMain"]')
    text = main.inner_text()
    for s in trace("resnet18", input_size=224).stages:
        c, h, w = s.output_shape
        assert f"{s.name} · {c} channels × {h}×{w}" in text
    assert "1. Your picture, upright: 451×300" in text  # EXIF turned it back
    assert page.locator(selector).count() == images
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(artifacts / "features.png"), full_page=True)

    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"this is a text file with a .png name")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(bad))
    page.wait_for_selector("text=This file is not an image this app can read", timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert main.locator('[data-testid="stAlertContentError"]').count() == 1

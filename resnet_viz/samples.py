"""Built-in sample pictures: two CC0 photos shipped in ``assets/`` and one drawing made on the fly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image

from .errors import InputError

__all__ = ["SAMPLES", "sample_bytes", "shapes_picture"]

_ASSETS: Final = Path(__file__).parent / "assets"
# name -> shipped file (None: generated). Sources and licences: assets/README.md.
SAMPLES: Final[dict[str, str | None]] = {"cat": "chelsea.jpg", "coffee": "coffee.jpg", "shapes": None}


def shapes_picture(size: int = 320) -> Image.Image:
    """Stripes at two angles, a checkerboard and a disc: edges in every direction, for the stem's filters."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size  # (H, W) in [0, 1)
    img = np.full((size, size, 3), 235, dtype=np.uint8)
    stripes = np.sin(2 * np.pi * 12 * x) > 0
    diag = np.sin(2 * np.pi * 10 * (x + y)) > 0
    checker = ((x * 8).astype(int) + (y * 8).astype(int)) % 2 == 0
    left, right, top = x < 0.5, x >= 0.5, y < 0.5
    img[top & left & stripes] = (30, 30, 30)
    img[top & right & diag] = (200, 40, 40)
    img[~top & left & checker] = (40, 60, 200)
    disc = (x - 0.75) ** 2 + (y - 0.75) ** 2 < 0.18**2
    img[disc] = (250, 190, 20)
    return Image.fromarray(img)


def sample_bytes(name: str) -> bytes:
    """The encoded file of sample ``name``, so samples go through the same loader as uploads."""
    if name not in SAMPLES:
        raise InputError("image_sample", name=name, options=", ".join(SAMPLES))
    file = SAMPLES[name]
    if file is not None:
        return (_ASSETS / file).read_bytes()
    buf = io.BytesIO()
    shapes_picture().save(buf, format="PNG")
    return buf.getvalue()

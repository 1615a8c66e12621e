"""Built-in sample pictures: two CC0 photos shipped in ``assets/``, one drawing made on the fly, and the lab's
held-out images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Final

import numpy as np
import torch
from PIL import Image

from ..errors import InputError
from ..lab.data import CIFAR_MEAN, CIFAR_STD, synthetic

__all__ = ["HELD_OUT_SHOWN", "SAMPLES", "held_out_samples", "sample_bytes", "shapes_picture"]

_ASSETS: Final = Path(__file__).resolve().parents[1] / "assets"
# name -> shipped file (None: generated). Sources and licences: assets/README.md.
SAMPLES: Final[dict[str, str | None]] = {"cat": "chelsea.jpg", "coffee": "coffee.jpg", "shapes": None}
HELD_OUT_SHOWN: Final = 20  # the first images of the lab's held-out draw, two per class on average


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


def held_out_samples(n: int = HELD_OUT_SHOWN) -> list[tuple[bytes, str]]:
    """The first ``n`` held-out images of the lab's embedded data as PNG files, each with its class name.

    Each pixel is the held-out tensor mapped back through the CIFAR normalisation (x · std + mean), so a page
    that normalises the picture with CIFAR_MEAN and CIFAR_STD gives the net the tensor it would see in
    training, up to 8-bit rounding and the few values beyond the 0-255 range.
    """
    from ..lab.insights.data import held_out  # lazily: the insights package is heavy, and only this needs it

    images, labels = held_out(n)  # (n, 3, 32, 32) normalised, (n,)
    classes = synthetic(1).classes  # the class names do not depend on the draw
    mean = torch.tensor(CIFAR_MEAN)[:, None, None]  # (3, 1, 1)
    std = torch.tensor(CIFAR_STD)[:, None, None]
    out = []
    for x, y in zip(images, labels):
        unit = (x * std + mean).clamp(0, 1)  # (3, 32, 32) in [0, 1]
        pixels = (unit * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()  # (32, 32, 3)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG")
        out.append((buf.getvalue(), classes[int(y)]))
    return out

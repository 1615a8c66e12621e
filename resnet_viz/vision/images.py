"""Load an uploaded image safely (modes, EXIF, bombs, truncation, odd sizes) and preprocess it for a ResNet."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError

__all__ = [
    "CROP_RATIO",
    "FORMATS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_ASPECT",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "Preprocessed",
    "load_image",
    "preprocess",
    "resize_size",
    "to_rgb",
]

# Formats a person may upload; a GIF counts by its first frame.
FORMATS: Final = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO")
MAX_PIXELS: Final = 50_000_000  # a 50-megapixel phone photo decodes to ~150 MB of RGB; beyond is refused
MAX_FILE_BYTES: Final = 50 * 2**20
_LIMIT_MP: Final = MAX_PIXELS // 10**6
MIN_SIDE: Final = 8  # below this a picture holds no content worth a feature map
MAX_ASPECT: Final = 10  # a 1x1000 strip would be cropped to nothing
# torchvision's ImageNet weights were trained on inputs normalised with these (ImageNet1K channel stats).
IMAGENET_MEAN: Final = (0.485, 0.456, 0.406)
IMAGENET_STD: Final = (0.229, 0.224, 0.225)
# torchvision's eval transform: resize the shorter side to 256, then center-crop 224 (ratio 0.875).
CROP_RATIO: Final = 224 / 256

# PIL's own bomb check warns at MAX_PIXELS and raises at twice that; we check the declared size first anyway.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _open(data: bytes) -> Image.Image:
    if not data:
        raise InputError("image_empty")
    if len(data) > MAX_FILE_BYTES:
        raise InputError("image_file_too_big", mb=len(data) // 2**20, limit=MAX_FILE_BYTES // 2**20)
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only: the declared size, no pixels
    except UnidentifiedImageError as e:
        raise InputError("image_not_image") from e
    except Image.DecompressionBombError as e:  # PIL's own check: beyond twice MAX_IMAGE_PIXELS
        found = re.search(r"\((\d+) pixels\)", str(e))  # PIL says "Image size (N pixels) exceeds limit ..."
        raise InputError("image_bomb", mp=int(found.group(1)) // 10**6 if found else "?", limit=_LIMIT_MP) from e
    except (OSError, ValueError, SyntaxError) as e:
        raise InputError("image_not_image") from e
    if img.format not in FORMATS:
        raise InputError("image_format", format=img.format or "?")
    w, h = img.size
    if w * h > MAX_PIXELS:  # checked before a single pixel is decoded
        raise InputError("image_bomb", mp=w * h // 10**6, limit=_LIMIT_MP)
    return img


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any mode: 16-bit and float are scaled, alpha is laid on white, palette and CMYK converted."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)  # (H, W); float32 keeps a 50 MP frame at 200 MB
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F":
            top = 1.0 if arr.max(initial=0) <= 1.0 else float(arr.max())
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
    elif mode == "1":
        img = img.convert("L")
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")  # L, CMYK, YCbCr, RGB, ...


def load_image(data: bytes, *, min_side: int | None = None) -> Image.Image:
    """Decode ``data`` into an upright 8-bit RGB picture, or raise InputError with one sentence.

    EXIF orientation is applied (phone photos are stored sideways), a GIF or multi-page TIFF gives its
    first frame, and the declared size is checked before any pixel is decoded. With ``min_side`` a JPEG
    is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps both sides at least that long, which
    makes a 12-megapixel phone photo several times faster; ``info["original_size"]`` keeps the upright
    size of the file itself.
    """
    img = _open(data)
    upright = img.size
    try:
        if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that swap width and height
            upright = (img.size[1], img.size[0])
    except (OSError, ValueError, SyntaxError):
        pass  # a damaged EXIF block: the picture is still decoded, unrotated
    try:
        if min_side is not None and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (min_side, min_side))
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        rgb = to_rgb(img)
    except Image.DecompressionBombError as e:
        raise InputError("image_bomb", mp=img.size[0] * img.size[1] // 10**6, limit=_LIMIT_MP) from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise InputError("image_truncated") from e
    rgb.info["original_size"] = upright
    w, h = upright
    if min(w, h) < MIN_SIDE:
        raise InputError("image_too_small", w=w, h=h, minimum=MIN_SIDE)
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise InputError("image_too_thin", w=w, h=h, ratio=MAX_ASPECT)
    return rgb


def resize_size(crop: int, *, crop_ratio: float = CROP_RATIO) -> int:
    """The shorter side before the center crop: 256 for a 224 crop, as torchvision's eval transform."""
    return round(crop / crop_ratio)


@dataclass(frozen=True)
class Preprocessed:
    """Every step from the picture to the tensor, kept so the page can show each one."""

    original_size: tuple[int, int]  # (W, H) after EXIF rotation
    resized: Image.Image  # shorter side = resize_size(crop)
    cropped: Image.Image  # crop × crop, the picture the net sees
    tensor: torch.Tensor  # (1, 3, crop, crop), normalised
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @property
    def crop(self) -> int:
        return self.cropped.size[0]


def preprocess(
    img: Image.Image,
    *,
    size: int = 224,
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
    crop_ratio: float = CROP_RATIO,
) -> Preprocessed:
    """Resize the shorter side to ``size / crop_ratio``, center-crop ``size``×``size`` and normalise with ``mean``
    and ``std`` (ImageNet's by default). ``crop_ratio=1`` keeps the whole shorter side, as CIFAR's 32×32 pictures
    hold a whole object."""
    if not 16 <= size <= 1024:
        raise InputError("image_bad_size", size=size, low=16, high=1024)
    original = img.info.get("original_size", img.size)
    w, h = img.size
    short = resize_size(size, crop_ratio=crop_ratio)
    long = max(size, int(short * max(w, h) / min(w, h)))  # truncated, as torchvision's Resize(int)
    rw, rh = (short, long) if w <= h else (long, short)
    resized = img.resize((rw, rh), Image.Resampling.BILINEAR, reducing_gap=None)
    left, top = round((rw - size) / 2.0), round((rh - size) / 2.0)  # as torchvision's center_crop
    cropped = resized.crop((left, top, left + size, top + size))
    unit = np.asarray(cropped, dtype=np.float32) / np.float32(255.0)  # (H, W, 3) in [0, 1]
    arr: np.ndarray = (unit - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None]  # (1, 3, H, W)
    return Preprocessed(tuple(original), resized, cropped, tensor, mean, std)

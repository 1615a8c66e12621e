"""Loading uploads: every odd mode converts to the right RGB, every bad file gets its one sentence,
and preprocessing matches torchvision's own eval transform."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from resnet_viz.errors import InputError
from resnet_viz.vision.images import MAX_PIXELS, load_image, preprocess, resize_size
from resnet_viz.vision.samples import SAMPLES, sample_bytes


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def px(img: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return tuple(img.getpixel((x, y)))  # type: ignore[arg-type, return-value]


def test_grayscale_becomes_grey_rgb() -> None:
    out = load_image(encode(Image.new("L", (20, 20), 100)))
    assert out.mode == "RGB" and px(out, 3, 3) == (100, 100, 100)


def test_rgba_is_laid_on_white() -> None:
    img = Image.new("RGBA", (20, 20), (200, 10, 10, 255))
    img.putpixel((0, 0), (0, 0, 255, 0))  # fully transparent: white, whatever its colour
    out = load_image(encode(img))
    assert px(out, 0, 0) == (255, 255, 255) and px(out, 5, 5) == (200, 10, 10)


def test_la_is_laid_on_white() -> None:
    img = Image.new("LA", (20, 20), (40, 255))
    img.putpixel((1, 1), (40, 0))
    out = load_image(encode(img))
    assert px(out, 1, 1) == (255, 255, 255) and px(out, 9, 9) == (40, 40, 40)


def test_palette_with_transparency() -> None:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.putpixel((2, 2), 1)
    img.info["transparency"] = 1  # palette index 1 is transparent
    out = load_image(encode(img))
    assert px(out, 5, 5) == (255, 0, 0) and px(out, 2, 2) == (255, 255, 255)


def test_cmyk_jpeg_converts() -> None:
    img = Image.new("CMYK", (20, 20), (0, 0, 0, 0))
    img.paste((0, 255, 255, 0), (0, 0, 10, 20))  # no cyan, full magenta + yellow: red
    out = load_image(encode(img, "TIFF"))
    assert px(out, 2, 2) == (255, 0, 0) and px(out, 15, 2) == (255, 255, 255)


def test_sixteen_bit_is_scaled_to_eight() -> None:
    arr = np.full((20, 20), 257 * 100, dtype=np.uint16)  # 100/255 of full scale
    arr[0, 0] = 65535
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    out = load_image(encode(img))
    assert px(out, 5, 5) == (100, 100, 100) and px(out, 0, 0) == (255, 255, 255)


def test_exif_orientation_turns_the_photo_upright() -> None:
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display", as phones write portrait shots
    out = load_image(encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (20, 40)
    top, bottom = px(out, 10, 5), px(out, 10, 35)  # the left (red) half is now on top
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert px(load_image(data), 8, 8) == (255, 0, 0)


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "TIFF", "PNG"])
def test_lossless_formats_round_trip(fmt: str) -> None:
    img = Image.new("RGB", (24, 16), (12, 34, 56))
    kw = {"lossless": True} if fmt == "WEBP" else {}
    out = load_image(encode(img, fmt, **kw))
    assert out.size == (24, 16) and px(out, 3, 3) == (12, 34, 56)


def _message(data: bytes) -> str:
    with pytest.raises(InputError) as e:
        load_image(data)
    return e.value.message()


def _png_with_size(w: int, h: int) -> bytes:
    """A valid 1×1 PNG whose header is rewritten to declare w×h (a decompression bomb's calling card)."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    ihdr = struct.pack(">II", w, h) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # PIL warns; we refuse
def test_bad_inputs_each_get_one_sentence() -> None:
    assert _message(b"") == "The file is empty."
    not_image = "This file is not an image this app can read; use JPEG, PNG, WebP, BMP, TIFF or GIF."
    assert _message(b"%PDF-1.7 not a picture") == not_image
    full = encode(Image.effect_noise((64, 64), 50).convert("RGB"))
    assert _message(full[: len(full) // 2]) == "The image is damaged or cut short and cannot be decoded completely."
    assert _message(_png_with_size(100_000, 100_000)) == (
        f"The image declares 10000 megapixels, more than the limit of {MAX_PIXELS // 10**6}, so it was not decoded."
    )
    assert (
        _message(encode(Image.new("RGB", (1, 1))))
        == "The image is only 1×1 pixels; it needs at least 8 pixels on each side."
    )
    assert _message(_png_with_size(8000, 8000)) == (  # below PIL's own limit: refused by the declared size
        f"The image declares 64 megapixels, more than the limit of {MAX_PIXELS // 10**6}, so it was not decoded."
    )
    assert _message(encode(Image.new("RGB", (400, 12)))) == (
        "The image is 400×12 pixels, more than 10 times longer than wide; "
        "the center crop would hold almost nothing of it."
    )


def test_truncated_jpeg_is_refused() -> None:
    full = encode(Image.effect_noise((96, 96), 60).convert("RGB"), "JPEG")
    with pytest.raises(InputError) as e:
        load_image(full[: len(full) // 3])
    assert e.value.code == "image_truncated"


def test_preprocessing_matches_torchvision_eval_transform() -> None:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (301, 457, 3), dtype=np.uint8))  # odd sizes: rounding matters
    pre = preprocess(img, size=224)
    oracle = T.Compose(
        [
            T.Resize(256, interpolation=T.InterpolationMode.BILINEAR),
            T.CenterCrop(224),
            T.ToTensor(),
            T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )(img)
    assert pre.resized.size == (388, 256)  # int(256 * 457 / 301) = 388
    assert pre.cropped.size == (224, 224) and pre.original_size == (457, 301)
    assert pre.tensor.shape == (1, 3, 224, 224)
    assert torch.allclose(pre.tensor[0], oracle, atol=1e-5)
    assert resize_size(224) == 256 and resize_size(128) == 146


def test_every_sample_loads() -> None:
    sizes = {name: load_image(sample_bytes(name)).size for name in SAMPLES}
    assert sizes == {"cat": (451, 300), "coffee": (600, 400), "shapes": (320, 320)}


def test_big_jpeg_decodes_at_a_reduced_scale_but_reports_its_own_size() -> None:
    img = Image.new("RGB", (2000, 1600), (90, 120, 150))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = load_image(encode(img, "JPEG", exif=exif.tobytes()), min_side=256)
    assert out.size == (400, 500)  # 1/4 scale (500×400) is the smallest with both sides >= 256, then turned upright
    pre = preprocess(out, size=224)
    assert pre.original_size == (1600, 2000) and pre.resized.size == (256, 320)
    assert load_image(encode(img, "JPEG")).size == (2000, 1600)  # without min_side: full size

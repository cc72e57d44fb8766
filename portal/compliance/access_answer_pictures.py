"""The copy of a picture given to the person it shows: every other face blurred beyond
recognition, theirs left clear, and nothing of the file's metadata (EXIF, GPS) kept.

A Gaussian blur alone leaves a face's shape for a detector to find and, when mild, enough for an
embedding to match; so each other face is first pixelated to a few blocks across (the identity is
gone), then blurred (the blocks' edges, which a detector could read as a face's, are gone too).
The blurred area is the stored box widened on every side, since dlib's box is tight around the
eyes and mouth and leaves the hairline, ears and chin. tests/compliance/test_access_answers.py
runs the face engine on the output: the other faces are no longer found or matched."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from portal.faces.engine import EngineConfig
from portal.faces.imaging import image_decode, thumbnail_jpeg

# The box widened by this share of its size on each side.
MARGIN = 0.35
# How many blocks across a pixelated face keeps.
BLOCKS = 6
# The copy on the PDF's page: about 150 dpi across the page's 150 mm, whatever the original's size.
PAGE_MAX_SIDE = 900

Box = tuple[int, int, int, int]


def _widened(box: Box, *, width: int, height: int) -> tuple[int, int, int, int]:
    x, y, w, h = box
    dx, dy = int(w * MARGIN), int(h * MARGIN)
    return max(0, x - dx), max(0, y - dy), min(width, x + w + dx), min(height, y + h + dy)


def _obscured(area: Image.Image) -> Image.Image:
    w, h = area.size
    small = area.resize((max(1, BLOCKS), max(1, round(BLOCKS * h / max(w, 1)))), Image.Resampling.BOX)
    blocks = small.resize((w, h), Image.Resampling.NEAREST)
    return blocks.filter(ImageFilter.GaussianBlur(radius=max(2, min(w, h) // 8)))


@dataclass(frozen=True)
class BlurredCopy:
    picture: bytes  # full size, for the ZIP
    page: bytes  # scaled down, for the PDF


def picture_others_blurred(*, data: bytes, keep: list[Box], blur: list[Box]) -> BlurredCopy:
    """JPEGs of the picture (upright, as the engine read it: the stored boxes are in that frame)
    with the `blur` boxes obscured. A kept face that a widened box spilled onto is restored
    afterwards, whole, unless another face's own box overlaps it: then the other face's blur wins."""
    config = EngineConfig.from_settings()
    decoded = image_decode(data=data, max_bytes=config.max_bytes, max_pixels=config.max_pixels)
    picture = Image.fromarray(np.asarray(decoded.rgb, dtype=np.uint8), "RGB")
    original = picture.copy()
    for box in blur:
        left, top, right, bottom = _widened(box, width=picture.width, height=picture.height)
        if right - left < 2 or bottom - top < 2:
            continue
        picture.paste(_obscured(picture.crop((left, top, right, bottom))), (left, top))
    for x, y, w, h in keep:
        region = (x, y, x + w, y + h)
        if not any(_overlap(region, (bx, by, bx + bw, by + bh)) for bx, by, bw, bh in blur):
            picture.paste(original.crop(region), region[:2])
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return BlurredCopy(picture=out.getvalue(), page=thumbnail_jpeg(rgb=np.asarray(picture), max_side=PAGE_MAX_SIDE))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

"""Turning uploaded bytes into a trusted RGB picture, and small picture helpers.

Uploads are untrusted: every limit is checked before the expensive step it protects
(byte size before parsing, declared pixel count before decoding).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps

from portal.faces.errors import CorruptImage, ImageTooLarge, UnsupportedImageType
from django.utils.formats import number_format
from django.utils.translation import gettext as _


def _grouped(number: int) -> str:
    """12,000,000 in English, 12 000 000 in French."""
    return number_format(number, force_grouping=True)


JPEG = "JPEG"
PNG = "PNG"
WEBP = "WEBP"
# The picture types the engine reads, with their media types: upload forms offer exactly these
# (an `accept` attribute built from them), and stored pictures take these file extensions.
MEDIA_TYPES = {JPEG: "image/jpeg", PNG: "image/png", WEBP: "image/webp"}
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp"}
ACCEPT = ",".join(MEDIA_TYPES.values())

_WHITE = (255, 255, 255)
_GPS_LATITUDE_REF = 1
_GPS_LATITUDE = 2
_GPS_LONGITUDE_REF = 3
_GPS_LONGITUDE = 4


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray
    width: int
    height: int
    format: str
    gps: tuple[float, float] | None
    sha256: str


def image_format_sniff(*, data: bytes) -> str | None:
    # Decided from the magic bytes rather than by Pillow, so that a broken JPEG is reported as
    # corrupt while a perfectly good GIF or PDF is reported as the wrong type.
    if data[:3] == b"\xff\xd8\xff":
        return JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def image_decode(*, data: bytes, max_bytes: int, max_pixels: int) -> DecodedImage:
    if len(data) == 0:
        raise CorruptImage(_("The picture is empty (0 bytes)."))
    if len(data) > max_bytes:
        raise ImageTooLarge(
            _("The picture is %(size)s bytes; the byte limit is %(max_bytes)s bytes.") % {"size": len(data), "max_bytes": max_bytes}
        )

    image_format = image_format_sniff(data=data)
    if image_format is None:
        raise UnsupportedImageType("Only JPEG, PNG and WebP pictures are accepted.")

    # Pillow only warns between its limit and twice its limit; we want a refusal there too.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=[image_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            # Pillow refuses above its own limit too: name the one limit that applies, once.
            declared = re.search(r"\((\d+) pixels\)", str(err))
            size = (_("%(count)s pixels") % {"count": _grouped(int(declared.group(1)))} if declared
                    else _("more pixels than the decoder reads"))
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            raise ImageTooLarge(
                _("The picture is too large: %(size)s; the limit is %(limit)s pixels. Scale it down and try again.") % {"size": size, "limit": _grouped(limit)}
            ) from err
        except Exception as err:
            raise CorruptImage(
                _("The picture looks like %(image_format)s but cannot be read: %(err)s") % {"image_format": image_format, "err": err}
            ) from err

    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageTooLarge(
                _("The picture is too large: %(width)s × %(height)s = %(pixels)s pixels; the limit is %(max_pixels)s pixels. Scale it down and try again.") % {"width": _grouped(width), "height": _grouped(height), "pixels": _grouped(width * height),
                   "max_pixels": _grouped(max_pixels)}
            )
        if width <= 0 or height <= 0:
            raise CorruptImage(_("The picture declares an empty size %(width)sx%(height)s.") % {"width": width, "height": height})

        try:
            image.load()
        except MemoryError:
            raise
        except Exception as err:
            # Truncated files land here: Pillow refuses them unless LOAD_TRUNCATED_IMAGES is set.
            raise CorruptImage(_("The %(image_format)s picture is truncated or damaged: %(err)s") % {"image_format": image_format, "err": err}) from err

        gps = image_gps_read(image=image)
        try:
            # In place: a picture without an orientation to apply is not copied (37 ms for 16 MP).
            ImageOps.exif_transpose(image, in_place=True)
        except Exception:
            pass  # a broken EXIF block must not cost the picture itself: it is kept as stored
        rgb = image_rgb_array(image=image)

    rgb.flags.writeable = False
    return DecodedImage(
        rgb=rgb,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        format=image_format,
        gps=gps,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def image_rgb_array(*, image: Image.Image) -> np.ndarray:
    """The pixels as a (height, width, 3) uint8 array, read-only for an RGB picture."""
    mode = image.mode
    if mode == "RGB":
        # A view of Pillow's own copy of the pixels: np.array(image) would copy them once more.
        return np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(image.height, image.width, 3)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return _sixteen_bit_to_rgb(image=image)
    if mode == "P" and "transparency" in image.info:
        return _composite_on_white(image=image.convert("RGBA"))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _composite_on_white(image=image.convert("RGBA"))
    try:
        return np.array(image.convert("RGB"), dtype=np.uint8)
    except Exception as err:
        raise CorruptImage(_("The picture's colour mode %(mode)s cannot be converted: %(err)s") % {"mode": mode, "err": err}) from err


def _composite_on_white(*, image: Image.Image) -> np.ndarray:
    background = Image.new("RGBA", image.size, _WHITE + (255,))
    return np.array(Image.alpha_composite(background, image).convert("RGB"), dtype=np.uint8)


def _sixteen_bit_to_rgb(*, image: Image.Image) -> np.ndarray:
    # Pillow's own convert("L") clips 16-bit values at 255, which turns most real 16-bit
    # pictures white; map the full 0..65535 range onto 0..255 instead.
    values = np.asarray(image).astype(np.int64)
    values = np.clip(values, 0, 65535)
    grey = ((values * 255 + 32767) // 65535).astype(np.uint8)
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


def image_gps_read(*, image: Image.Image) -> tuple[float, float] | None:
    try:
        gps_ifd = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:
        return None
    if not gps_ifd:
        return None
    try:
        latitude = _gps_degrees(
            value=gps_ifd[_GPS_LATITUDE], reference=gps_ifd.get(_GPS_LATITUDE_REF, "N")
        )
        longitude = _gps_degrees(
            value=gps_ifd[_GPS_LONGITUDE], reference=gps_ifd.get(_GPS_LONGITUDE_REF, "E")
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    # Cameras write 0/0 or garbage when they had no fix; a bogus location is worse than none.
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    if latitude != latitude or longitude != longitude:  # NaN from 0/0 rationals
        return None
    return (latitude, longitude)


def _gps_degrees(*, value: object, reference: object) -> float:
    degrees, minutes, seconds = (float(part) for part in value)  # type: ignore[union-attr]
    result = degrees + minutes / 60.0 + seconds / 3600.0
    if isinstance(reference, bytes):
        reference = reference.decode("ascii", errors="ignore")
    if str(reference).strip().upper() in ("S", "W"):
        result = -result
    return result


def image_scaled(*, image: DecodedImage, max_side: int) -> tuple[np.ndarray, float]:
    long_side = max(image.width, image.height)
    if long_side <= max_side:
        return image.rgb, 1.0
    scale = max_side / long_side
    new_width = max(1, round(image.width * scale))
    new_height = max(1, round(image.height * scale))
    scaled = cv2.resize(image.rgb, (new_width, new_height), interpolation=cv2.INTER_AREA)
    return scaled, scale


def crop_jpeg(
    *,
    rgb: np.ndarray,
    box: tuple[int, int, int, int],
    size: int = 160,
    margin: float = 0.25,
) -> bytes:
    picture_height, picture_width = rgb.shape[:2]
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    # Shrinking and shifting the square to fit keeps thumbnails undistorted at picture borders.
    side = int(round(min(side, picture_width, picture_height)))
    side = max(side, 1)
    center_x = x + w / 2.0
    center_y = y + h / 2.0
    left = int(round(min(max(center_x - side / 2.0, 0), picture_width - side)))
    top = int(round(min(max(center_y - side / 2.0, 0), picture_height - side)))
    square = rgb[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    thumbnail = cv2.resize(np.ascontiguousarray(square), (size, size), interpolation=interpolation)
    buffer = io.BytesIO()
    Image.fromarray(thumbnail).save(buffer, format="JPEG", quality=88, optimize=True)
    return buffer.getvalue()


THUMBNAIL_MAX_SIDE = 320


def thumbnail_rgb(*, rgb: np.ndarray, max_side: int = THUMBNAIL_MAX_SIDE) -> np.ndarray:
    """The pixels scaled down so that the longest side is at most max_side (never enlarged)."""
    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)


def thumbnail_jpeg(*, rgb: np.ndarray, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A small JPEG of the whole (upright) picture without its metadata (no EXIF, so no GPS), for
    the pages that list pictures."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(thumbnail_rgb(rgb=rgb, max_side=max_side))).save(
        buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue()

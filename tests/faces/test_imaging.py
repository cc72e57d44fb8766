import io
import struct
import time
import zlib
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image, ImageFile, TiffImagePlugin

from portal.faces.errors import CorruptImage, ImageTooLarge, UnsupportedImageType
from portal.faces.imaging import DecodedImage, crop_jpeg, image_decode, image_scaled

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 40_000_000}


def _encoded(image: Image.Image, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def _gradient_rgb(*, width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[np.newaxis, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, np.newaxis].repeat(width, axis=1)
    return Image.fromarray(np.stack([x, y, np.full_like(x, 128)], axis=2))


@pytest.mark.parametrize(
    ("image_format", "params"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True})],
)
def test_decode_each_accepted_format(image_format, params):
    data = _encoded(_gradient_rgb(), image_format, **params)

    decoded = image_decode(data=data, **LIMITS)

    assert isinstance(decoded, DecodedImage)
    assert decoded.format == image_format
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.rgb.shape == (48, 64, 3)
    assert decoded.rgb.dtype == np.uint8
    assert decoded.gps is None
    assert len(decoded.sha256) == 64
    # Lossless formats must come back exactly; JPEG approximately.
    tolerance = 12 if image_format == "JPEG" else 0
    assert np.abs(decoded.rgb.astype(int) - np.asarray(_gradient_rgb()).astype(int)).max() <= tolerance


def test_decode_sha256_is_of_the_raw_bytes():
    import hashlib

    data = _encoded(_gradient_rgb(), "PNG")
    assert image_decode(data=data, **LIMITS).sha256 == hashlib.sha256(data).hexdigest()


def test_decode_rgba_file_composites_on_white(faces_dir):
    data = (faces_dir / "obama_2_rgba.png").read_bytes()
    reference = image_decode(data=(faces_dir / "obama_2.jpg").read_bytes(), **LIMITS)

    decoded = image_decode(data=data, **LIMITS)

    assert decoded.format == "PNG"
    assert decoded.rgb.shape == reference.rgb.shape
    assert (decoded.width, decoded.height) == (reference.width, reference.height)


def test_decode_transparent_pixels_become_white():
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[:, :5] = (255, 0, 0, 255)  # opaque red
    rgba[:, 5:] = (0, 0, 0, 0)  # fully transparent black
    data = _encoded(Image.fromarray(rgba), "PNG")

    decoded = image_decode(data=data, **LIMITS)

    assert tuple(decoded.rgb[0, 0]) == (255, 0, 0)
    assert tuple(decoded.rgb[0, 9]) == (255, 255, 255)


def test_decode_la_greyscale_with_alpha():
    la = Image.new("LA", (8, 8), (0, 0))
    la.putpixel((0, 0), (100, 255))
    decoded = image_decode(data=_encoded(la, "PNG"), **LIMITS)
    assert tuple(decoded.rgb[0, 0]) == (100, 100, 100)
    assert tuple(decoded.rgb[7, 7]) == (255, 255, 255)


def test_decode_palette_with_and_without_transparency():
    palette_image = _gradient_rgb().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    decoded = image_decode(data=_encoded(palette_image, "PNG"), **LIMITS)
    assert decoded.rgb.shape == (48, 64, 3)
    assert np.array_equal(decoded.rgb, np.asarray(palette_image.convert("RGB")))

    transparent = Image.new("P", (4, 4), 0)
    transparent.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    transparent.putpixel((1, 1), 1)
    data = _encoded(transparent, "PNG", transparency=0)
    decoded = image_decode(data=data, **LIMITS)
    assert tuple(decoded.rgb[0, 0]) == (255, 255, 255)
    assert tuple(decoded.rgb[1, 1]) == (200, 10, 10)


def test_decode_greyscale():
    grey = Image.fromarray(np.arange(0, 256, dtype=np.uint8).reshape(16, 16))
    decoded = image_decode(data=_encoded(grey, "PNG"), **LIMITS)
    assert decoded.rgb.shape == (16, 16, 3)
    assert tuple(decoded.rgb[0, 5]) == (5, 5, 5)
    assert tuple(decoded.rgb[15, 15]) == (255, 255, 255)


def test_decode_16_bit_greyscale_is_scaled_not_clipped():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    data = _encoded(image, "PNG")
    assert Image.open(io.BytesIO(data)).mode in ("I;16", "I")

    decoded = image_decode(data=data, **LIMITS)

    assert decoded.rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert np.array_equal(decoded.rgb[..., 0], decoded.rgb[..., 2])


def test_decode_cmyk_jpeg():
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    decoded = image_decode(data=_encoded(cmyk, "JPEG", quality=95), **LIMITS)
    red, green, blue = (int(v) for v in decoded.rgb[4, 4])
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(1, (60, 40)), (3, (60, 40)), (6, (40, 60)), (8, (40, 60))],
)
def test_decode_applies_exif_orientation(orientation, expected_size):
    # A 60x40 picture whose top-left corner is red; orientation 6 means "rotate 90 clockwise".
    pixels = np.zeros((40, 60, 3), dtype=np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encoded(Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes())

    decoded = image_decode(data=data, **LIMITS)

    assert (decoded.width, decoded.height) == expected_size
    assert decoded.rgb.shape == (expected_size[1], expected_size[0], 3)
    red_corner = {
        1: decoded.rgb[2, 2],  # stays top-left
        3: decoded.rgb[-3, -3],  # rotated 180: bottom-right
        6: decoded.rgb[2, -3],  # rotated 90 clockwise: top-right
        8: decoded.rgb[-3, 2],  # rotated 90 anticlockwise: bottom-left
    }[orientation]
    assert red_corner[0] > 200 and red_corner[1] < 60


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow says so while reading it
def test_a_broken_exif_block_keeps_the_picture_as_stored():
    pixels = np.zeros((40, 60, 3), dtype=np.uint8)
    pixels[:10, :10] = (255, 0, 0)
    # A TIFF header whose first directory points past the end of the block.
    broken = b"Exif\x00\x00II*\x00\xff\xff\x00\x00" + b"\x07" * 20
    data = _encoded(Image.fromarray(pixels), "JPEG", quality=95, exif=broken)

    decoded = image_decode(data=data, **LIMITS)

    assert (decoded.width, decoded.height) == (60, 40) and decoded.gps is None
    assert decoded.rgb[2, 2][0] > 200 and decoded.rgb[2, 2][1] < 60
    assert not decoded.rgb.flags.writeable


def _gps_exif(*, latitude: float, longitude: float) -> bytes:
    def dms(value: float):
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
        return tuple(
            TiffImagePlugin.IFDRational(Fraction(part).limit_denominator(10000))
            for part in (degrees, minutes, seconds)
        )

    exif = Image.Exif()
    exif[0x8825] = {
        1: "N" if latitude >= 0 else "S",
        2: dms(latitude),
        3: "E" if longitude >= 0 else "W",
        4: dms(longitude),
    }
    return exif.tobytes()


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(48.858222, 2.2945), (-33.856784, 151.215297), (40.6892, -74.0445)]
)
def test_decode_reads_gps_from_exif(latitude, longitude):
    exif = _gps_exif(latitude=latitude, longitude=longitude)
    data = _encoded(_gradient_rgb(), "JPEG", exif=exif)

    gps = image_decode(data=data, **LIMITS).gps

    assert gps is not None
    assert gps[0] == pytest.approx(latitude, abs=1e-5)
    assert gps[1] == pytest.approx(longitude, abs=1e-5)


def test_decode_without_exif_has_no_gps(faces_dir):
    assert image_decode(data=(faces_dir / "obama_small.jpg").read_bytes(), **LIMITS).gps is None


def test_empty_bytes_are_corrupt():
    with pytest.raises(CorruptImage) as raised:
        image_decode(data=b"", **LIMITS)
    assert raised.value.code == "corrupt_image"
    assert raised.value.status == 400


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_truncated_pictures_are_corrupt(image_format):
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    data = _encoded(Image.fromarray(noise), image_format)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False

    with pytest.raises(CorruptImage):
        image_decode(data=data[: len(data) // 2], **LIMITS)


@pytest.mark.parametrize(
    "data",
    [b"\xff\xd8\xff\xe0" + b"\x00" * 40, b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, b"RIFF\x00\x00\x00\x00WEBPjunk"],
)
def test_undecodable_pictures_of_an_accepted_type_are_corrupt(data):
    with pytest.raises(CorruptImage):
        image_decode(data=data, **LIMITS)


def test_gif_is_an_unsupported_type():
    data = _encoded(_gradient_rgb().convert("P"), "GIF")
    with pytest.raises(UnsupportedImageType) as raised:
        image_decode(data=data, **LIMITS)
    assert raised.value.code == "unsupported_image_type"
    assert raised.value.status == 415


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n",
        b"just some text, not a picture\n",
        _encoded(_gradient_rgb(), "BMP"),
        _encoded(_gradient_rgb(), "TIFF"),
    ],
    ids=["pdf", "text", "bmp", "tiff"],
)
def test_other_files_are_an_unsupported_type(data):
    with pytest.raises(UnsupportedImageType):
        image_decode(data=data, **LIMITS)


def test_byte_limit_is_checked_first():
    data = _encoded(_gradient_rgb(), "PNG")
    with pytest.raises(ImageTooLarge) as raised:
        image_decode(data=data, max_bytes=len(data) - 1, max_pixels=LIMITS["max_pixels"])
    assert raised.value.code == "image_too_large"
    assert raised.value.status == 413
    assert str(len(data)) in str(raised.value)
    assert "byte" in str(raised.value)
    # Exactly at the limit is fine.
    image_decode(data=data, max_bytes=len(data), max_pixels=LIMITS["max_pixels"])


def test_pixel_limit():
    data = _encoded(_gradient_rgb(width=100, height=50), "PNG")
    with pytest.raises(ImageTooLarge) as raised:
        image_decode(data=data, max_bytes=LIMITS["max_bytes"], max_pixels=4999)
    assert "5,000 pixels" in str(raised.value)
    assert "pixel" in str(raised.value)
    image_decode(data=data, max_bytes=LIMITS["max_bytes"], max_pixels=5000)


def _png_bomb(*, width: int, height: int) -> bytes:
    # A 1-bit greyscale PNG of zeros: a few hundred kB that would decode to width*height pixels.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    compressed = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    return _png_bomb(width=30000, height=30000)


def test_decompression_bomb_is_refused_without_decoding(png_bomb, monkeypatch):
    assert len(png_bomb) < 1024 * 1024
    loads = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: loads.append(self) or original_load(self)
    )

    started = time.perf_counter()
    with pytest.raises(ImageTooLarge) as raised:
        image_decode(data=png_bomb, **LIMITS)
    elapsed = time.perf_counter() - started

    assert elapsed < 0.5
    assert loads == []
    assert "900,000,000 pixels" in str(raised.value)


def test_pillow_decompression_bomb_error_becomes_image_too_large(png_bomb):
    # With a pixel limit above Pillow's own, Pillow's guard is what refuses the picture. The message
    # names that one limit, in words, not Pillow's text and ours side by side (#14, item 8).
    with pytest.raises(ImageTooLarge) as raised:
        image_decode(data=png_bomb, max_bytes=LIMITS["max_bytes"], max_pixels=10**10)
    message = str(raised.value)
    assert message == (f"The picture is too large: 900,000,000 pixels; the limit is {Image.MAX_IMAGE_PIXELS:,} "
                       f"pixels. Scale it down and try again.")


def test_pillow_decompression_bomb_warning_becomes_image_too_large(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    data = _encoded(_gradient_rgb(width=40, height=40), "PNG")  # 1600 pixels: warning range
    with pytest.raises(ImageTooLarge):
        image_decode(data=data, max_bytes=LIMITS["max_bytes"], max_pixels=10**6)


def test_decoded_array_is_read_only():
    decoded = image_decode(data=_encoded(_gradient_rgb(), "PNG"), **LIMITS)
    with pytest.raises(ValueError):
        decoded.rgb[0, 0, 0] = 1


def test_scaled_only_downscales():
    decoded = image_decode(data=_encoded(_gradient_rgb(width=400, height=200), "PNG"), **LIMITS)

    scaled, scale = image_scaled(image=decoded, max_side=100)
    assert scaled.shape == (50, 100, 3)
    assert scale == pytest.approx(0.25)

    same, scale = image_scaled(image=decoded, max_side=1000)
    assert same.shape == (200, 400, 3)
    assert scale == 1.0


def test_crop_jpeg_is_a_square_thumbnail_even_at_the_border():
    rgb = np.asarray(_gradient_rgb(width=300, height=200))
    for box in [(100, 50, 60, 60), (0, 0, 80, 100), (260, 150, 40, 50), (0, 0, 300, 200)]:
        data = crop_jpeg(rgb=rgb, box=box, size=160)
        thumbnail = Image.open(io.BytesIO(data))
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (160, 160)


def test_crop_jpeg_is_centred_on_the_face():
    rgb = np.zeros((400, 400, 3), dtype=np.uint8)
    rgb[180:220, 180:220] = 255  # the "face"
    thumbnail = np.asarray(
        Image.open(io.BytesIO(crop_jpeg(rgb=rgb, box=(180, 180, 40, 40), size=60, margin=0.25)))
    )
    # 40 px box with 25% margin each side = 60 px square, so the face fills the middle 40 px.
    assert thumbnail[30, 30].mean() > 200
    assert thumbnail[3, 3].mean() < 50

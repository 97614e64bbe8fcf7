"""Decoding to 8-bit RGB, rejection reasons, header probing and encoding, on real encoder output."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from flmprep import geometry
from flmprep import imageio as iio

PHOTO = Path(__file__).parent / "data" / "imageio" / "2008_001009.jpg"


def pil_bytes(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:48, 0:64]
    smooth = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1)
    return np.clip(smooth + rng.integers(0, 8, (48, 64, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photo() -> bytes:
    return PHOTO.read_bytes()


def reason_of(data: bytes, **kw: int) -> str:
    with pytest.raises(iio.ImageError) as info:
        iio.decode(data, **kw)
    assert info.value.reason in iio.REASONS
    return info.value.reason


# --- decoding real files -----------------------------------------------------------------------


def test_real_photo_decodes_like_pillow(photo: bytes) -> None:
    got = iio.decode(photo)
    ref = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
    assert (got.width, got.height, got.exif_orientation, got.format) == (360, 480, 1, "jpeg")
    assert got.pixels.shape == (480, 360, 3) and got.pixels.dtype == np.uint8
    assert got.pixels.flags.c_contiguous
    assert np.abs(got.pixels.astype(int) - ref).mean() < 0.5


def test_read_image_and_probe_a_path(photo: bytes) -> None:
    assert iio.read_image(PHOTO).pixels.shape == (480, 360, 3)
    assert iio.probe(PHOTO) == iio.ImageInfo(360, 480, "jpeg", 1)
    assert iio.probe(str(PHOTO)) == iio.probe(photo)


def test_jpeg_without_end_marker_is_truncated(photo: bytes) -> None:
    assert photo.endswith(b"\xff\xd9")
    assert reason_of(photo[:-2]) == "truncated_image"


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.999))
def test_real_jpeg_cut_anywhere_is_rejected(photo: bytes, where: float) -> None:
    cut = int(where * (len(photo) - 2))
    reason = reason_of(photo[:cut])
    expected = {"empty_file"} if cut == 0 else {"not_an_image"} if cut < 3 else {"truncated_image"}
    assert reason in expected


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "PPM", "WEBP"])
def test_lossless_formats_round_trip(rgb: np.ndarray, fmt: str) -> None:
    kw = {"lossless": True} if fmt == "WEBP" else {}
    got = iio.decode(pil_bytes(Image.fromarray(rgb), fmt, **kw))
    np.testing.assert_array_equal(got.pixels, rgb)
    assert got.format == {"PNG": "png", "BMP": "bmp", "PPM": "pnm", "WEBP": "webp"}[fmt]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "BMP"])
def test_truncated_lossless_formats_are_rejected(rgb: np.ndarray, fmt: str) -> None:
    data = pil_bytes(Image.fromarray(rgb), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    assert reason_of(data[: len(data) * 2 // 3]) == "truncated_image"


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "1"])
def test_grey_palette_alpha_and_bilevel_become_rgb(rgb: np.ndarray, mode: str) -> None:
    img = Image.fromarray(rgb).convert(mode)
    got = iio.decode(pil_bytes(img, "PNG")).pixels
    np.testing.assert_array_equal(got, np.asarray(img.convert("RGB")))  # alpha is dropped, not blended


def test_pgm_grey_becomes_rgb(rgb: np.ndarray) -> None:
    grey = Image.fromarray(rgb).convert("L")
    got = iio.decode(pil_bytes(grey, "PPM")).pixels
    np.testing.assert_array_equal(got, np.repeat(np.asarray(grey)[:, :, None], 3, axis=2))


@pytest.mark.parametrize("ext", [".png", ".pgm"])
def test_16_bit_inputs_scale_to_8_bit(rgb: np.ndarray, ext: str) -> None:
    deep = np.minimum(rgb.astype(np.uint32) * 257 + 100, 65535).astype(np.uint16)
    src = deep[:, :, 0] if ext == ".pgm" else deep[:, :, ::-1]
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(src))
    assert ok
    got = iio.decode(buf.tobytes()).pixels.astype(int)
    expected = rgb[:, :, :1] if ext == ".pgm" else rgb
    assert np.abs(got - expected).max() <= 1


def test_cmyk_jpeg_becomes_rgb(rgb: np.ndarray) -> None:
    cmyk = Image.fromarray(rgb).convert("CMYK")
    data = pil_bytes(cmyk, "JPEG", quality=95)
    got = iio.decode(data).pixels.astype(int)
    ref = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert np.abs(got - ref).mean() < 2.0
    assert np.abs(got - rgb).mean() < 4.0


# --- EXIF orientation: reported, never applied --------------------------------------------------


def exif(orientation: int) -> Image.Exif:
    tags = Image.Exif()
    tags[0x0112] = orientation
    return tags


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_is_reported_not_applied(rgb: np.ndarray, fmt: str, orientation: int) -> None:
    kw: dict[str, object] = {"exif": exif(orientation)}
    if fmt == "WEBP":
        kw["lossless"] = True
    data = pil_bytes(Image.fromarray(rgb), fmt, **kw)
    plain = pil_bytes(Image.fromarray(rgb), fmt, **{k: v for k, v in kw.items() if k != "exif"})
    got = iio.decode(data)
    assert got.exif_orientation == orientation == iio.probe(data).exif_orientation
    assert (got.width, got.height) == (64, 48)
    np.testing.assert_array_equal(got.pixels, iio.decode(plain).pixels)


def test_probe_reads_past_a_long_header(tmp_path: Path, photo: bytes) -> None:
    """APP segments longer than the first 64 KiB read: probe reads on."""
    segment = b"\xff\xe2" + struct.pack(">H", 60002) + b"\x00" * 60000
    data = photo[:2] + segment * 2 + photo[2:]
    path = tmp_path / "long-header.jpg"
    path.write_bytes(data)
    assert iio.probe(path) == iio.ImageInfo(360, 480, "jpeg", 1)
    assert iio.read_image(path).pixels.shape == (480, 360, 3)


# --- rejections ----------------------------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))


def test_pixel_limit_is_checked_from_the_header(photo: bytes) -> None:
    with pytest.raises(iio.ImageError, match="expected at most 1000 pixels, found 360×480") as info:
        iio.decode(photo, max_pixels=1000)
    assert info.value.reason == "too_many_pixels"
    bomb = png_header_only(100_000, 100_000)  # a header claiming 10^10 pixels, no pixel data
    assert reason_of(bomb) == "too_many_pixels"
    with pytest.raises(iio.ImageError, match="expected at most"):
        iio.probe(bomb, max_pixels=iio.DEFAULT_MAX_PIXELS)
    idat = struct.pack(">I", 0) + b"IDAT" + struct.pack(">I", zlib.crc32(b"IDAT"))
    assert iio.probe(bomb + idat).pixels == 10**10
    assert reason_of(bomb + idat) == "too_many_pixels"
    assert iio.decode(photo, max_pixels=None).width == 360


def test_bmp_bomb_is_rejected_from_the_header() -> None:
    header = b"BM" + struct.pack("<IHHI", 0, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 50_000, 50_000, 1, 24, 0, 0, 0, 0, 0, 0)
    assert reason_of(header + info) == "too_many_pixels"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_file"),
        (b"hello, world: not an image", "not_an_image"),
        (b"\xff\xd8\xff", "truncated_image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not_an_image"),
        (b"\xff\xd8\xff\xda\x00\x08", "not_an_image"),
    ],
)
def test_garbage_is_rejected_with_reason(data: bytes, reason: str) -> None:
    assert reason_of(data) == reason


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_other_containers_are_unsupported(rgb: np.ndarray, fmt: str) -> None:
    with pytest.raises(iio.ImageError, match=f"expected JPEG, PNG, BMP, PNM or WebP, found {fmt.lower()}"):
        iio.decode(pil_bytes(Image.fromarray(rgb), fmt))


def test_corrupt_png_data_is_rejected(rgb: np.ndarray) -> None:
    data = bytearray(pil_bytes(Image.fromarray(rgb), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 20 : idat + 40] = b"\x55" * 20
    assert reason_of(bytes(data)) == "truncated_image"


def test_read_image_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    with pytest.raises(iio.ImageError, match=f"{missing}: expected an image file, found nothing") as info:
        iio.read_image(missing)
    assert info.value.reason == "missing_image" and info.value.path == str(missing)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(iio.ImageError, match="empty") as info:
        iio.read_image(empty)
    assert info.value.reason == "empty_file"
    with pytest.raises(iio.ImageError) as info:
        iio.probe(tmp_path)
    assert info.value.reason == "missing_image"
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"not a jpeg at all")
    with pytest.raises(iio.ImageError, match=f"^{text}: expected an image signature") as info:
        iio.read_image(text)
    assert info.value.reason == "not_an_image"


# --- encoding ------------------------------------------------------------------------------------


def test_jpeg_encode_is_deterministic_and_close(rgb: np.ndarray) -> None:
    data = iio.encode(rgb, "jpg", quality=95)
    assert data == iio.encode(rgb.copy(), "jpg", quality=95)
    assert data[:3] == b"\xff\xd8\xff" and data.endswith(b"\xff\xd9")
    assert np.abs(iio.decode(data).pixels.astype(int) - rgb).mean() < 3.0
    assert len(iio.encode(rgb, "jpg", quality=50)) < len(data)


def test_grey_jpeg_round_trip(rgb: np.ndarray) -> None:
    grey = np.ascontiguousarray(rgb[:, :, 1])
    for pixels in (grey, grey[:, :, None]):
        data = iio.encode(pixels, "jpg")
        assert iio.probe(data).format == "jpeg"
        out = iio.decode(data).pixels.astype(int)
        assert np.abs(out - grey[:, :, None]).mean() < 3.0


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_lossless_encode_round_trips_exactly(rgb: np.ndarray, fmt: str) -> None:
    quality = iio.WEBP_LOSSLESS if fmt == "webp" else 95
    data = iio.encode(rgb, fmt, quality=quality)
    assert data == iio.encode(rgb, fmt, quality=quality)
    np.testing.assert_array_equal(iio.decode(data).pixels, rgb)
    grey = np.ascontiguousarray(rgb[:, :, 0])
    np.testing.assert_array_equal(iio.decode(iio.encode(grey, fmt, quality=quality)).pixels[:, :, 0], grey)


def test_lossy_webp_is_close(rgb: np.ndarray) -> None:
    data = iio.encode(rgb, "webp", quality=90)
    assert iio.probe(data).format == "webp"
    assert np.abs(iio.decode(data).pixels.astype(int) - rgb).mean() < 4.0


def test_encode_rejects_bad_input(rgb: np.ndarray) -> None:
    with pytest.raises(ValueError, match="expected uint8 pixels, found float32"):
        iio.encode(rgb.astype(np.float32))
    with pytest.raises(ValueError, match="found shape"):
        iio.encode(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="expected fmt"):
        iio.encode(rgb, "gif")
    with pytest.raises(ValueError, match="quality"):
        iio.encode(rgb, "jpg", quality=0)


# --- reduced decoding: an exact area shrink ------------------------------------------------------


def blob_image(w: int, h: int, cx: float, cy: float) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    grey = 20 + 220 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 12.0**2))
    return np.ascontiguousarray(np.repeat(np.rint(grey).astype(np.uint8)[:, :, None], 3, axis=2))


def centroid(grey: np.ndarray) -> np.ndarray:
    y, x = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
    return np.array([(x * grey).sum(), (y * grey).sum()]) / grey.sum()


@settings(max_examples=15, deadline=None)
@given(st.floats(100, 200), st.floats(100, 160), st.sampled_from([2, 4, 8]), st.sampled_from(["jpg", "png"]))
def test_reduced_decode_follows_area_shrink_geometry(cx: float, cy: float, r: int, fmt: str) -> None:
    """Measured: the blob's centroid lands within 0.008 reduced pixels of area_shrink(r) · p."""
    img = blob_image(301, 257, cx, cy)
    data = iio.encode(img, fmt, quality=100)
    got = iio.decode(data, reduce=r)
    assert got.pixels.shape == (-(-257 // r), -(-301 // r), 3)
    assert (got.width, got.height, got.reduce) == (301, 257, r)
    expected = geometry.apply_points(geometry.area_shrink(r), np.array([[cx, cy]]))[0]
    assert np.abs(centroid(got.pixels[:, :, 1].astype(float) - 20) - expected).max() < 0.02


def test_reduce_choices(photo: bytes) -> None:
    assert iio.decode(photo, reduce=4).pixels.shape == (120, 90, 3)
    with pytest.raises(ValueError, match="reduce: expected one of"):
        iio.decode(photo, reduce=3)
    assert [iio.reduce_for(s) for s in (1.5, 0.6, 0.5, 0.3, 0.2, 0.1)] == [1, 1, 2, 2, 4, 8]


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_rgbx_decodes_and_encodes_like_rgb(rgb: np.ndarray, fmt: str) -> None:
    """The 4-channel path (faster warps) carries the same pixels and writes the same bytes."""
    data = iio.encode(rgb, fmt, quality=90)
    rgbx = iio.decode(data, channels=4).pixels
    assert rgbx.shape == (48, 64, 4) and (rgbx[:, :, 3] == 255).all()
    np.testing.assert_array_equal(rgbx[:, :, :3], iio.decode(data).pixels)
    same_rgb = np.ascontiguousarray(rgbx[:, :, :3])
    assert iio.encode(rgbx, fmt, quality=90) == iio.encode(same_rgb, fmt, quality=90)
    with pytest.raises(ValueError, match="channels: expected 3"):
        iio.decode(data, channels=1)


def test_image_error_survives_pickling() -> None:
    """Errors cross process boundaries (Spark executors, the local pool) intact."""
    err = pickle.loads(pickle.dumps(iio.ImageError("truncated_image", "jpeg: cut", "a/b.jpg")))
    assert (err.reason, err.message, err.path) == ("truncated_image", "jpeg: cut", "a/b.jpg")
    assert str(err) == "a/b.jpg: jpeg: cut"


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_progressive_jpeg_is_rejected(rgb: np.ndarray, keep: float) -> None:
    data = pil_bytes(Image.fromarray(rgb), "JPEG", quality=90, progressive=True)
    assert iio.decode(data).width == 64
    assert reason_of(data[: int(len(data) * keep)]) == "truncated_image"


def test_junk_between_jpeg_segments_is_tolerated(photo: bytes) -> None:
    """libjpeg's "extraneous bytes before marker" warning (seen in real datasets) is not fatal."""
    eoi = photo.rindex(b"\xff\xd9")
    got = iio.decode(photo[:eoi] + b"\x00\x11\x22" + photo[eoi:])
    np.testing.assert_array_equal(got.pixels, iio.decode(photo).pixels)

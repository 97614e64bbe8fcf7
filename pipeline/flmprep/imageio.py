"""Decode images to 8-bit RGB and encode outputs, with clear, stable rejection reasons.

Decoding never applies EXIF orientation: annotations refer to the stored pixel grid, so the
orientation tag is only reported (``exif_orientation``, 1 when absent). Pixel limits are checked
from the header before any pixel is decoded. JPEG goes through simplejpeg (libjpeg-turbo: the
fastest of the codecs ``benchmarks/bench_codecs.py`` compares), everything else through OpenCV,
headers of BMP, PNM and WebP through Pillow's lazy ``Image.open``.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from flmprep.errors import FlmprepError

log = logging.getLogger(__name__)

#: Default decompression-bomb limit: 2**26 pixels (e.g. 8192 × 8192).
DEFAULT_MAX_PIXELS = 1 << 26
#: zlib level of every PNG we write; fixed so that the bytes are reproducible.
PNG_COMPRESSION = 3
#: ``decode(..., reduce=r)`` factors: libjpeg-turbo's DCT scalings that are exact area shrinks.
REDUCE_FACTORS = (1, 2, 4, 8)
#: ``encode(..., fmt="webp", quality=WEBP_LOSSLESS)`` writes lossless WebP.
WEBP_LOSSLESS = 101

#: Stable reject codes of ``ImageError.reason``.
REASONS: tuple[str, ...] = ("missing_image", "empty_file", "not_an_image", "truncated_image")
REASONS += ("too_many_pixels", "unsupported_image", "image_changed")
_EXPECTED = "expected JPEG, PNG, BMP, PNM or WebP"
_UNSUPPORTED = {
    b"GIF8": "gif",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
    b"\x00\x00\x00\x0cjP  ": "jpeg2000",
    b"\xff\x4f\xff\x51": "jpeg2000",
    b"\x00\x00\x01\x00": "ico",
}
_BENIGN_JPEG = "extraneous bytes before marker"
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_HEAD_BYTES = 1 << 16


class ImageError(FlmprepError):
    """An image that cannot be used; ``reason`` is one of ``REASONS`` (the stable reject code)."""

    def __init__(self, reason: str, message: str, path: str = "") -> None:
        self.reason = reason
        self.message = message
        self.path = str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def with_path(self, path: str | Path) -> ImageError:
        return ImageError(self.reason, self.message, str(path))

    def __reduce__(self) -> tuple[type[ImageError], tuple[str, str, str]]:
        return ImageError, (self.reason, self.message, self.path)  # picklable across processes


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: size, container format, EXIF orientation (1 when absent)."""

    width: int
    height: int
    format: str
    exif_orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, eq=False)
class Decoded:
    """Decoded pixels: H×W×3 uint8 RGB (H×W×4 RGBX with X = 255 when asked for 4 channels),
    C-contiguous, in the stored (un-rotated) pixel grid.

    ``width`` and ``height`` are the stored image's size. With ``reduce`` r > 1 the pixels are
    ceil(H / r) × ceil(W / r) and a source point p lies at ``geometry.area_shrink(r)`` · p in them.
    """

    pixels: np.ndarray
    width: int
    height: int
    exif_orientation: int = 1
    format: str = ""
    reduce: int = 1


# --- header parsing ----------------------------------------------------------------------------


class _NeedMore(Exception):
    """The header continues past the bytes we were given; ``partial`` holds what is known."""

    def __init__(self, partial: ImageInfo | None = None) -> None:
        super().__init__()
        self.partial = partial


def sniff(data: bytes) -> str:
    """The container format from the magic bytes: jpeg, png, bmp, pnm or webp."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"BM":
        return "bmp"
    if data[:1] == b"P" and data[1:2] in b"1234567" and data[2:3].isspace():
        return "pnm"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _UNSUPPORTED.items():
        if data.startswith(magic):
            raise ImageError("unsupported_image", f"{_EXPECTED}, found {name}")
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1")
        raise ImageError("unsupported_image", f"{_EXPECTED}, found ISO-BMFF {brand!r}")
    raise ImageError("not_an_image", f"expected an image signature, found bytes {data[:8]!r}")


def _exif_orientation(tiff: bytes) -> int:
    """Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 when absent or invalid."""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return 1
    end = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(end + "I", tiff, 4)
        (count,) = struct.unpack_from(end + "H", tiff, ifd)
        for i in range(count):
            tag, kind, _, value = struct.unpack_from(end + "HHIH", tiff, ifd + 2 + 12 * i)
            if tag == 0x0112 and kind == 3:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _jpeg_header(data: bytes) -> ImageInfo:
    """Walk JPEG marker segments up to the frame header (SOFn), reading APP1 EXIF on the way."""
    i, orientation = 2, 1
    while True:
        if i >= len(data):
            raise _NeedMore
        if data[i] != 0xFF:
            raise ImageError("not_an_image", f"JPEG: expected a marker at offset {i}, found 0x{data[i]:02x}")
        while i < len(data) and data[i] == 0xFF:
            i += 1
        if i + 3 > len(data):
            raise _NeedMore
        code = data[i]
        if code == 0xDA:
            raise ImageError("not_an_image", "JPEG: expected a frame header (SOF), found start of scan")
        if 0xD0 <= code <= 0xD8 or code == 0x01:
            i += 1
            continue
        (length,) = struct.unpack_from(">H", data, i + 1)
        if length < 2:
            found = f"{length} at offset {i + 1}"
            raise ImageError("not_an_image", f"JPEG: expected a segment length >= 2, found {found}")
        if i + 1 + length > len(data):
            raise _NeedMore
        if code == 0xE1 and data[i + 3 : i + 9] == b"Exif\x00\x00":
            orientation = _exif_orientation(data[i + 9 : i + 1 + length])
        if code in _SOF:
            height, width = struct.unpack_from(">HH", data, i + 4)
            return ImageInfo(width, height, "jpeg", orientation)
        i += 1 + length


def _png_header(data: bytes) -> ImageInfo:
    """IHDR gives the size; an eXIf chunk before IDAT gives the orientation."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError("not_an_image", "PNG: expected an IHDR chunk at offset 12")
    width, height = struct.unpack_from(">II", data, 16)
    i, orientation = 33, 1
    while i + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, i)
        kind = data[i + 4 : i + 8]
        if kind in (b"IDAT", b"IEND"):
            return ImageInfo(width, height, "png", orientation)
        if kind == b"eXIf" and i + 8 + length <= len(data):
            orientation = _exif_orientation(data[i + 8 : i + 8 + length])
        i += 12 + length
    raise _NeedMore(ImageInfo(width, height, "png", orientation))


def _webp_size(data: bytes) -> tuple[int, int]:
    """Canvas size from the first chunk: VP8X (extended), VP8L (lossless) or VP8 (lossy)."""
    kind = data[12:16]
    if len(data) < 30:
        raise _NeedMore
    if kind == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8L" and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    raise ImageError("not_an_image", f"WebP: expected a VP8X, VP8L or VP8 frame header, found {kind!r}")


def _webp_header(data: bytes) -> ImageInfo:
    """Size from the first chunk; with VP8X's EXIF flag, the EXIF chunk (often after the pixels)."""
    width, height = _webp_size(data)
    info = ImageInfo(width, height, "webp", 1)
    if data[12:16] != b"VP8X" or not data[20] & 0x08:
        return info
    i = 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        (length,) = struct.unpack_from("<I", data, i + 4)
        if kind == b"EXIF" and i + 8 + length <= len(data):
            tiff = data[i + 8 : i + 8 + length]
            tiff = tiff[6:] if tiff.startswith(b"Exif\x00\x00") else tiff
            return ImageInfo(width, height, "webp", _exif_orientation(tiff))
        i += 8 + length + (length & 1)
    raise _NeedMore(info)


def _pillow_header(data: bytes, fmt: str) -> ImageInfo:
    """Size through Pillow's lazy open (reads the header only); BMP and PNM carry no EXIF."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return ImageInfo(im.width, im.height, fmt, 1)
    except Image.DecompressionBombError as e:
        raise ImageError("too_many_pixels", f"{fmt}: {e}") from e
    except (OSError, SyntaxError, ValueError, struct.error) as e:
        raise ImageError("not_an_image", f"{fmt}: unreadable header: {e}") from e


def header_info(data: bytes) -> ImageInfo:
    """Parse the header of a whole (or the head of an) encoded image; raises ``_NeedMore``."""
    fmt = sniff(data)
    if fmt == "jpeg":
        return _jpeg_header(data)
    if fmt == "png":
        return _png_header(data)
    if fmt == "webp":
        return _webp_header(data)
    return _pillow_header(data, fmt)


def _check_pixels(info: ImageInfo, max_pixels: int | None) -> None:
    if max_pixels is not None and info.pixels > max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"expected at most {max_pixels} pixels, found {info.width}×{info.height} = {info.pixels}",
        )
    if info.width <= 0 or info.height <= 0:
        raise ImageError("not_an_image", f"expected a positive size, found {info.width}×{info.height}")


def _info_of_bytes(data: bytes, max_pixels: int | None) -> ImageInfo:
    """Header of complete file bytes, checked against the pixel limit."""
    if not data:
        raise ImageError("empty_file", "expected image bytes, found an empty file")
    try:
        info = header_info(data)
    except _NeedMore as e:
        if e.partial is not None:
            _check_pixels(e.partial, max_pixels)
        raise ImageError("truncated_image", f"{sniff(data)}: the file ends inside its header") from None
    _check_pixels(info, max_pixels)
    riff_end = 8 + struct.unpack_from("<I", data, 4)[0] if info.format == "webp" else 0
    if len(data) < riff_end:
        raise ImageError("truncated_image", f"webp: expected {riff_end} bytes, found {len(data)}")
    return info


def _read_bytes(path: str | Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file. Opened without blocking and checked before reading, so a
    named pipe, a device or a folder named like an image is a ``missing_image``, never a hang."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImageError("missing_image", "expected an image file, found nothing", str(path)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) else "a device"
        raise ImageError("missing_image", f"expected an image file, found {kind}", str(path))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read() if limit is None else fh.read(limit)
    if not data:
        raise ImageError("empty_file", "expected image bytes, found an empty file", str(path))
    return data


def probe(source: bytes | str | Path, *, max_pixels: int | None = None) -> ImageInfo:
    """Size, format and EXIF orientation from the header only (a path reads its first 64 KiB,
    more only when the header is longer); raises ``ImageError`` (with ``too_many_pixels`` when
    ``max_pixels`` is given and exceeded)."""
    if isinstance(source, bytes):
        return _info_of_bytes(source, max_pixels)
    path = os.fspath(source)  # a plain str for open() and the error messages
    try:
        head = _read_bytes(path, _HEAD_BYTES)
        try:
            info = header_info(head)
        except _NeedMore:
            return _info_of_bytes(_read_bytes(path), max_pixels)
        _check_pixels(info, max_pixels)
        return info
    except ImageError as e:
        raise e.with_path(path) from None


# --- decoding ----------------------------------------------------------------------------------


def reduce_for(stretch: float) -> int:
    """The largest ``decode(..., reduce=r)`` (1, 2, 4 or 8) after which a warp whose largest
    stretch is ``stretch`` (``geometry.max_stretch``) still magnifies nothing."""
    return max((r for r in REDUCE_FACTORS if r * stretch <= 1.0 + 1e-9), default=1)


def _decode_jpeg(data: bytes, info: ImageInfo, reduce: int, space: str) -> np.ndarray:
    """simplejpeg in strict mode: every libjpeg warning rejects the file (truncated or corrupt
    data), except junk bytes between segments (``_BENIGN_JPEG``), which is logged and decoded.
    ``reduce`` > 1 scales in the DCT domain (libjpeg-turbo), which averages like an area shrink."""
    size = {}
    if reduce > 1:
        size = {"min_height": -(-info.height // reduce), "min_width": -(-info.width // reduce)}
    try:
        return simplejpeg.decode_jpeg(data, colorspace=space, strict=True, **size)
    except ValueError as e:
        message = str(e)
    if "premature end" in message.lower():
        raise ImageError("truncated_image", f"jpeg: the file ends before its end-of-image marker ({message})")
    if _BENIGN_JPEG not in message:
        raise ImageError("truncated_image", f"jpeg: decoding failed after a valid header ({message})")
    log.debug("jpeg decoded despite a libjpeg warning: %s", message)
    return simplejpeg.decode_jpeg(data, colorspace=space, strict=False, **size)


def _decode_other(data: bytes, fmt: str) -> np.ndarray:
    """OpenCV, told to ignore EXIF orientation: grey, palette, alpha (dropped) and 16-bit
    (scaled to 8 bits) all become 8-bit RGB."""
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if pixels is None:
        what = "decoding failed after a valid header (truncated or corrupt)"
        raise ImageError("truncated_image", f"{fmt}: {what}")
    return np.ascontiguousarray(pixels)


def _area_reduce(pixels: np.ndarray, r: int) -> np.ndarray:
    """Average r×r cells, the last row and column of cells padded by edge replication as libjpeg does."""
    h, w = pixels.shape[:2]
    pad_h, pad_w = -h % r, -w % r
    if pad_h or pad_w:
        pixels = cv2.copyMakeBorder(pixels, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
    return cv2.resize(pixels, ((w + pad_w) // r, (h + pad_h) // r), interpolation=cv2.INTER_AREA)


def decode(
    data: bytes, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, reduce: int = 1, channels: int = 3
) -> Decoded:
    """Decode JPEG, PNG, BMP, PNM or WebP bytes into 8-bit RGB without applying EXIF orientation;
    raises ``ImageError`` with a stable reason code. ``reduce`` (1, 2, 4, 8) shrinks by area
    averaging while decoding (JPEG: in the DCT domain); ``channels=4`` gives RGBX, which warps
    faster than RGB (``benchmarks/bench_codecs.py``) and ``encode`` takes as is. See ``Decoded``."""
    if reduce not in REDUCE_FACTORS:
        raise ValueError(f"reduce: expected one of {REDUCE_FACTORS}, found {reduce!r}")
    if channels not in (3, 4):
        raise ValueError(f"channels: expected 3 (RGB) or 4 (RGBX), found {channels!r}")
    info = _info_of_bytes(bytes(data), max_pixels)
    if info.format == "jpeg":
        pixels = _decode_jpeg(data, info, reduce, "RGB" if channels == 3 else "RGBX")
    else:
        pixels = _decode_other(data, info.format)
        if pixels.shape[:2] == (info.height, info.width) and reduce > 1:
            pixels = _area_reduce(pixels, reduce)
        if channels == 4:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2RGBA)
    expected = (-(-info.height // reduce), -(-info.width // reduce))
    if pixels.shape[:2] != expected:
        sizes = f"expected {expected[1]}×{expected[0]} pixels, found {pixels.shape[1]}×{pixels.shape[0]}"
        raise ImageError("truncated_image", f"{info.format}: {sizes}")
    return Decoded(pixels, info.width, info.height, info.exif_orientation, info.format, reduce)


def read_image(
    path: str | Path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, reduce: int = 1, channels: int = 3
) -> Decoded:
    """Read and decode one image file (see ``decode``); errors name the path."""
    data = _read_bytes(Path(path))
    try:
        return decode(data, max_pixels=max_pixels, reduce=reduce, channels=channels)
    except ImageError as e:
        raise e.with_path(path) from None


# --- encoding ----------------------------------------------------------------------------------


def _as_image(pixels: np.ndarray) -> np.ndarray:
    """Validate an encoder input: uint8 H×W, H×W×1, H×W×3 (RGB) or H×W×4 (RGBX); C-contiguous."""
    arr = np.asarray(pixels)
    if arr.dtype != np.uint8:
        raise ValueError(f"encode: expected uint8 pixels, found {arr.dtype}")
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4)):
        return np.ascontiguousarray(arr)
    raise ValueError(f"encode: expected H×W, H×W×1, H×W×3 or H×W×4 pixels, found shape {arr.shape}")


def _cv2_encode(ext: str, arr: np.ndarray, params: list[int]) -> bytes:
    """OpenCV's encoders take BGR: RGB and RGBX are converted first."""
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR if arr.shape[2] == 3 else cv2.COLOR_RGBA2BGR)
    ok, buf = cv2.imencode(ext, arr, params)
    if not ok:
        raise ValueError(f"encode: OpenCV could not write {ext} for shape {arr.shape}")
    return buf.tobytes()


def encode(pixels: np.ndarray, fmt: str = "jpg", quality: int = 95) -> bytes:
    """Encode RGB (H×W×3), RGBX (H×W×4, X ignored) or grey (H×W) uint8 pixels as ``jpg``
    (simplejpeg, 4:2:0), ``png`` (OpenCV, zlib level ``PNG_COMPRESSION``) or ``webp`` (OpenCV;
    ``quality`` > 100 = lossless)."""
    arr = _as_image(pixels)
    if fmt in ("jpg", "jpeg"):
        if not 1 <= quality <= 100:
            raise ValueError(f"encode: JPEG quality expected in 1..100, found {quality}")
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            space = "RGB" if arr.shape[2] == 3 else "RGBX"
            return bytes(simplejpeg.encode_jpeg(arr, quality, colorspace=space, colorsubsampling="420"))
        return bytes(simplejpeg.encode_jpeg(arr.reshape(*arr.shape[:2], 1), quality, colorspace="GRAY"))
    if fmt == "png":
        return _cv2_encode(".png", arr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if fmt == "webp":
        return _cv2_encode(".webp", arr, [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
    raise ValueError(f"encode: expected fmt 'jpg', 'png' or 'webp', found {fmt!r}")

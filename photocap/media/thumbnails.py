"""Thumbnails for `photocap serve`: WebP, about 320 px on the long side, upright, cached under the home as
`thumbnails/<hash[:2]>/<content hash>.webp`. Keyed by the content hash, so a moved or renamed photo keeps its
thumbnail and two copies of one photo share one. The cache is derived: deleting it only costs time.

Photos a browser cannot show (HEIC, TIFF, camera RAW) get a second, larger rendition for the photo page, cached
the same way under `displays/`."""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

LONG_SIDE = 320
DISPLAY_LONG_SIDE = 2048
DISPLAY_FOLDER = "displays"
DISPLAY_QUALITY = 85
WEBP_QUALITY = 75
WEBP_METHOD = 0  # encoder effort 0-6: 0 takes a third of the time of Pillow's default 4, for files ~20% larger
FOLDER = "thumbnails"
BROWSER_SHOWS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".avif"})  # by file extension
_CONTENT_HASH = re.compile(r"^[0-9a-f]{16,128}$")


class ThumbnailError(Exception):
    """A thumbnail that cannot be made; the message is one line."""


def thumbnail_path(home: Path, content_hash: str) -> Path:
    if not _CONTENT_HASH.match(content_hash):
        raise ThumbnailError(f"not a content hash: {content_hash!r}")
    return Path(home) / FOLDER / content_hash[:2] / f"{content_hash}.webp"


def thumbnail_bytes(image: Image.Image) -> bytes:
    """`image` (already upright) as a WebP of at most LONG_SIDE px on its long side, never enlarged."""
    return webp_bytes(fitted(image))


def fitted(image: Image.Image) -> Image.Image:
    """`image` as RGB, at most LONG_SIDE px on its long side: itself when it fits (saving does not change it),
    else shrunk by the largest whole factor that stays at or above LONG_SIDE (a box average of each block of
    pixels, a third of the time a bilinear resize takes for the same factor) and resized the rest of the way."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    scale = LONG_SIDE / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if (factor := int(1 / scale)) >= 2:
        image = image.reduce(factor)
    return image if image.size == size else image.resize(size, Image.Resampling.BILINEAR)


def webp_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return buffer.getvalue()


def save_thumbnail(home: Path, content_hash: str, data: bytes) -> Path:
    """Put `data` in the cache; a reader sees the whole file or none (temp file, then rename)."""
    return save_thumbnail_at(thumbnail_path(home, content_hash), data)


def save_thumbnail_at(path: Path, data: bytes) -> Path:
    """Not fsynced: the cache is derived, and a file a crash left empty or cut short fails `is_whole` and is
    made again when it is next shown."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".thumb-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def is_whole(path: Path) -> bool:
    """Whether the cached WebP at `path` is all there: its RIFF header gives the file's length."""
    try:
        with open(path, "rb") as file:
            header = file.read(12)
            size = os.fstat(file.fileno()).st_size
    except OSError:
        return False
    return (len(header) == 12 and header[:4] == b"RIFF" and header[8:] == b"WEBP"
            and int.from_bytes(header[4:8], "little") + 8 == size)


def cached_thumbnail(home: Path, content_hash: str, source: str) -> Path:
    """The thumbnail of the photo at `source` whose content hash is `content_hash`, made now if not cached."""
    path = thumbnail_path(home, content_hash)
    if is_whole(path):
        return path
    return save_thumbnail(home, content_hash, thumbnail_bytes(_open_upright(source, LONG_SIDE)))


def browser_shows(path: str) -> bool:
    """Whether a web browser shows the photo at `path` itself (not HEIC, TIFF or camera RAW)."""
    return os.path.splitext(path)[1].lower() in BROWSER_SHOWS


def preview_bytes(source: str) -> bytes:
    """A thumbnail-sized WebP of the photo at `source`, not cached: for a page that must show a photo a browser
    cannot (raises ThumbnailError)."""
    return thumbnail_bytes(_open_upright(source, LONG_SIDE))


def display_path(home: Path, content_hash: str) -> Path:
    thumbnail = thumbnail_path(home, content_hash)  # checks the hash
    return Path(home) / DISPLAY_FOLDER / thumbnail.parent.name / thumbnail.name


def cached_display(home: Path, content_hash: str, source: str) -> Path:
    """A WebP of the photo at `source` that a browser can show, at most DISPLAY_LONG_SIDE px on its long
    side, made now if not cached: for formats browsers cannot show themselves (HEIC, TIFF, RAW)."""
    path = display_path(home, content_hash)
    if is_whole(path):
        return path
    image = _open_upright(source, DISPLAY_LONG_SIDE)
    image.thumbnail((DISPLAY_LONG_SIDE, DISPLAY_LONG_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=DISPLAY_QUALITY)
    return save_thumbnail_at(path, buffer.getvalue())


def _open_upright(source: str, long_side: int) -> Image.Image:
    from photocap.media.decode import open_photo, upright_rgb  # HEIC and RAW too, upright as indexing sees them
    from photocap.media.raw import RawError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_photo(source) as (image, _exif):
                assert image is not None
                image.draft("RGB", (long_side, long_side))  # JPEG: libjpeg downscales while decoding
                upright = upright_rgb(image)
                upright.load()
                return upright
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ThumbnailError("image too large to open safely") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, RawError) as error:
        raise ThumbnailError(f"cannot read the photo ({error})") from None


def prune_thumbnails(home: Path, keep: Iterable[str]) -> int:
    """Delete cached thumbnails (and displays) whose content hash is not in `keep`; returns how many
    thumbnails went."""
    kept = set(keep)
    removed = 0
    for name in (FOLDER, DISPLAY_FOLDER):
        for path in (Path(home) / name).glob("*/*.webp"):
            if path.stem not in kept:
                path.unlink(missing_ok=True)
                removed += name == FOLDER
    return removed

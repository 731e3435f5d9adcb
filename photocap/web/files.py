"""Photos and thumbnails, served by catalog id only: the request never names a path. A catalogued file that
now resolves outside the indexed folders (a photo swapped for a symlink to /etc/passwd, say) is refused."""

from __future__ import annotations

import os
from pathlib import Path

from photocap.catalog.store import PhotoRow
from photocap.media.thumbnails import (
    ThumbnailError,
    browser_shows,
    cached_display,
    cached_thumbnail,
    is_whole,
    thumbnail_path,
)
from photocap.web.library import Library

MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
               ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
               ".avif": "image/avif", ".heic": "image/heic", ".heif": "image/heif"}
# What browsers show themselves; the others (HEIC, TIFF, RAW) are shown from a WebP rendition.


class Refused(PermissionError):
    """A file photocap will not serve; the message is one line."""


class Gone(FileNotFoundError):
    """The photo's file is not there any more."""


def servable_path(library: Library, row: PhotoRow) -> str:
    """The real path of the photo's file, once it is known to lie inside an indexed folder."""
    if row["status"] == "missing":
        raise Gone("this photo is missing from disk since the last index run")
    try:
        real = os.path.realpath(row["path"], strict=True)
    except OSError:
        raise Gone("this photo's file is not there any more") from None
    roots = [os.path.realpath(root) for root in library.roots()]
    if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
        raise Refused("refused: this photo's file now lies outside the indexed folders")
    if not os.path.isfile(real):
        raise Refused("refused: this photo's path is not a regular file")
    return real


def media_type(path: str) -> str:
    return MEDIA_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


def shown_file(library: Library, row: PhotoRow) -> tuple[str, str]:
    """What the photo page shows of a photo, and its media type: the file itself when browsers show its type,
    else a cached WebP rendition of it."""
    path = servable_path(library, row)
    if browser_shows(path) or not row["content_hash"]:
        return path, media_type(path)
    try:
        return str(cached_display(library.home, row["content_hash"], path)), "image/webp"
    except ThumbnailError as error:
        raise Gone(str(error)) from None


def thumbnail_of(library: Library, row: PhotoRow) -> Path:
    """The cached thumbnail of the photo, made from its file now if it has none yet."""
    if not row["content_hash"]:
        raise Gone("this photo has no thumbnail: it could never be read")
    cached = thumbnail_path(library.home, row["content_hash"])
    if is_whole(cached):
        return cached
    try:
        return cached_thumbnail(library.home, row["content_hash"], servable_path(library, row))
    except ThumbnailError as error:
        raise Gone(str(error)) from None

"""Which photo of a group of duplicates to keep, and why: the largest pixel count; then an original format over a
derived JPEG (camera RAW, then HEIC/HEIF, TIFF, PNG, WebP, ..., JPEG last); then the one with the user's own
caption or tags; then the oldest (date taken, else the file's time); then the first by path."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TypedDict

from photocap.metadata.formats import RAW_EXTENSIONS

PIXELS_TOLERANCE = 0.01  # pixel counts this close are a tie (a re-encode can round a dimension)
FORMAT_RANK = {".heic": 1, ".heif": 1, ".hif": 1, ".avif": 1, ".tif": 2, ".tiff": 2, ".png": 3, ".webp": 4,
               ".bmp": 4, ".gif": 5, ".jpg": 6, ".jpeg": 6}  # RAW is 0; unknown 5


class Candidate(TypedDict):
    id: int
    path: str
    width: int | None
    height: int | None
    taken_at: datetime | None
    mtime_ns: int
    users: bool  # the user's own caption or tags


def format_rank(path: str) -> int:
    extension = os.path.splitext(path)[1].lower()
    return 0 if extension in RAW_EXTENSIONS else FORMAT_RANK.get(extension, 5)


def pixels(photo: Candidate) -> int:
    return (photo["width"] or 0) * (photo["height"] or 0)


def date_of(photo: Candidate) -> datetime:
    return photo["taken_at"] or datetime.fromtimestamp(photo["mtime_ns"] / 1e9, UTC).replace(tzinfo=None)


def choose_keeper(photos: list[Candidate]) -> tuple[Candidate, str]:
    """(the photo to keep, why), by the rules above, each only among those the rules before it left tied."""
    left = sorted(photos, key=lambda photo: photo["path"])
    most = max(pixels(photo) for photo in left)
    largest = [photo for photo in left if pixels(photo) >= most * (1 - PIXELS_TOLERANCE)]
    if len(largest) < len(left):
        keeper = largest[0]
        if len(largest) == 1:
            return keeper, f"the largest ({keeper['width']}x{keeper['height']} pixels)"
    left = largest
    best_format = min(format_rank(photo["path"]) for photo in left)
    originals = [photo for photo in left if format_rank(photo["path"]) == best_format]
    if len(originals) == 1 and len(left) > 1:
        kind = os.path.splitext(originals[0]["path"])[1].lstrip(".").upper()
        return originals[0], f"the original format ({kind}) over a derived JPEG or other copy"
    left = originals
    edited = [photo for photo in left if photo["users"]]
    if len(edited) == 1:
        return edited[0], "it has your own caption or tags"
    left = edited or left
    oldest = min(date_of(photo) for photo in left)
    first = [photo for photo in left if date_of(photo) == oldest]
    if len(first) == 1:
        return first[0], f"the oldest ({oldest:%Y-%m-%d %H:%M:%S})"
    return first[0], "all alike; the first by path"

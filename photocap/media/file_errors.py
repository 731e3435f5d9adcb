"""How photocap words a file it cannot read or that is no photo, the same in `index`, `watch`, `caption` and the
Ray engine."""

from __future__ import annotations

import os


def not_an_image_reason(path: str | os.PathLike[str]) -> str:
    """Why a file is no photo, in the words `index` and `caption` both use."""
    try:
        with open(path, "rb") as file:
            head = file.read(512)
    except OSError:
        return "not an image"
    if not head:
        return "empty file"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not an image (the file holds text)"
    return "not an image (not JPEG, PNG, WebP, TIFF, BMP, GIF, HEIF, AVIF or camera RAW content)"


def unreadable_reason(error: OSError) -> str:
    """Why a photo's file could not be opened, in the words every engine records in the catalog."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied"
    return f"cannot read: {error.strerror or error}"

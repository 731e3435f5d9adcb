"""Which files are photos: the extensions the scanner takes, and the format a file's first bytes announce.

Reading the first bytes needs no image library, so the scanner sniffs formats without importing Pillow's
plugins. HEIC/HEIF files are decoded through pillow-heif, AVIF through Pillow's own AVIF support, and RAW
files through the JPEG preview they embed (photocap.media.raw).
"""

from __future__ import annotations

import os

COMMON_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
AVIF_EXTENSIONS = frozenset({".avif"})
RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"})
IMAGE_EXTENSIONS = COMMON_EXTENSIONS | HEIF_EXTENSIONS | AVIF_EXTENSIONS | RAW_EXTENSIONS
SIDECAR_EXTENSION = ".xmp"
# Formats whose files photocap never rewrites: their alt text goes to an XMP sidecar.
SIDECAR_ONLY_KINDS = frozenset({"heif", "avif", "raw"})
SUPPORTED_TYPES = ("JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC/HEIF, AVIF and camera RAW "
                   "(DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, read through the preview they embed)")
SNIFF_BYTES = 64  # enough for every signature below, an ISO-BMFF brand list included

_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# TIFF structures under another magic number: Olympus ORF and Panasonic RW2.
_RAW_TIFF_MAGIC = (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_CR3_BRAND = b"crx "


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def has_image_extension(name: str) -> bool:
    return extension(name) in IMAGE_EXTENSIONS


def is_sidecar(name: str) -> bool:
    return extension(name) == SIDECAR_EXTENSION


def image_kind(head: bytes, name: str = "") -> str | None:
    """The image format the first bytes of a file announce (jpeg, png, gif, webp, tiff, bmp, heif, avif,
    raw), or None. `name`, when given, tells a camera's RAW file from a plain TIFF: both are TIFF inside."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in _TIFF_MAGIC:
        return "raw" if extension(name) in RAW_EXTENSIONS else "tiff"
    if head[:4] in _RAW_TIFF_MAGIC or head.startswith(b"FUJIFILMCCD-RAW"):
        return "raw"
    if head[4:8] == b"ftyp":
        return _iso_bmff_kind(head)
    # "BM" alone is too weak a signature (text can start with it): check the DIB header size too.
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    return None


def _iso_bmff_kind(head: bytes) -> str | None:
    """HEIF, AVIF or Canon CR3, from the major and compatible brands of an ISO-BMFF `ftyp` box."""
    box_size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = [head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
    if major == _CR3_BRAND:
        return "raw"
    if major in _AVIF_BRANDS or any(brand in _AVIF_BRANDS for brand in compatible):
        return "avif"
    if major in _HEIF_BRANDS or any(brand in _HEIF_BRANDS for brand in compatible):
        return "heif"
    return None

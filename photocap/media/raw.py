"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2): the picture and the EXIF they carry.

The picture is the JPEG preview the camera embedded (rawpy's `extract_thumb`: no demosaicing, a few
milliseconds), or, when there is none large enough, LibRaw's own decode at half size. The EXIF (date, camera)
is read from the file's TIFF structure (every format but CR3 and RAF is TIFF inside, some under another magic
number), from CR3's CMT1/CMT2 boxes, or from the preview's own EXIF.

LibRaw's decode runs OpenMP (libgomp) threads, and a process forked after it has run them hangs the next time
it decodes: RAW data is decoded only in the decode workers (and by `photocap caption`, which forks none); the
scanner reads RAW files' EXIF without LibRaw.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

HEAD_BYTES = 1 << 20  # where the TIFF directories of a RAW file live, in practice
MIN_PREVIEW_SIDE = 200  # a smaller embedded thumbnail is too coarse to caption: decode the RAW data instead
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_OTHER_TIFF_MAGIC = {b"IIRO": b"II*\x00", b"IIRS": b"II*\x00", b"IIU\x00": b"II*\x00", b"MMOR": b"MM\x00*"}
_LIBRAW_FLIP_TO_ORIENTATION = {3: 3, 5: 8, 6: 6}  # LibRaw's sizes.flip -> EXIF Orientation
_EXIF_ORIENTATION = 0x0112


class RawError(Exception):
    """A RAW file LibRaw cannot read; the message is one line."""


@dataclass
class RawPhoto:
    image: Image.Image | None  # upright-able: its EXIF orientation (if any) is in `exif`; None when not asked
    exif: Image.Exif


def open_raw(path: str, *, pixels: bool = True) -> RawPhoto:
    """The RAW file at `path`: its picture (when `pixels`) and its EXIF."""
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    exif = exif_of_raw(head)
    if not pixels:
        return RawPhoto(None, exif)
    image, preview_exif = _picture(path)
    if preview_exif is not None:
        for tag, value in preview_exif.items():  # the file's own tags win; the preview fills the gaps
            exif.setdefault(tag, value)
        exif[_EXIF_ORIENTATION] = preview_exif.get(_EXIF_ORIENTATION, 1)  # how the preview itself is stored
    else:
        exif.pop(_EXIF_ORIENTATION, None)  # LibRaw's decode is upright already
    return RawPhoto(image, exif)


def exif_of_raw(head: bytes) -> Image.Exif:
    """The EXIF of a RAW file from its first bytes: the TIFF structure, or CR3's CMT boxes; empty if neither."""
    exif = Image.Exif()
    tiff = _tiff_structure(head)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a directory cut short by HEAD_BYTES: what was read is used
            _load_exif(exif, head, tiff)
    except Exception:  # noqa: BLE001  a damaged directory: the photo is still a photo, without a date
        return Image.Exif()
    return exif


def _load_exif(exif: Image.Exif, head: bytes, tiff: bytes | None) -> None:
    if tiff is not None:
        exif.load(tiff)
    elif head[4:12] == b"ftypcrx ":
        _load_cr3_exif(exif, head)


def _tiff_structure(head: bytes) -> bytes | None:
    if head[:4] in _TIFF_MAGIC:
        return head
    if head[:4] in _OTHER_TIFF_MAGIC:
        return _OTHER_TIFF_MAGIC[head[:4]] + head[4:]
    return None


def _load_cr3_exif(exif: Image.Exif, head: bytes) -> None:
    """CR3 keeps IFD0 (camera) in a CMT1 box and the Exif IFD (dates) in a CMT2 box, each a TIFF structure."""
    boxes = {}
    for name in (b"CMT1", b"CMT2"):
        at = head.find(name)
        if at >= 4:
            size = int.from_bytes(head[at - 4:at], "big")
            boxes[name] = head[at + 4:at - 4 + size]
    if b"CMT1" in boxes:
        exif.load(boxes[b"CMT1"])
    if b"CMT2" in boxes:
        dates = Image.Exif()
        dates.load(boxes[b"CMT2"])
        exif.get_ifd(0x8769).update(dates.items())


def _picture(path: str) -> tuple[Image.Image, Image.Exif | None]:
    """The embedded JPEG preview (with its EXIF), else LibRaw's half-size decode (already upright)."""
    import rawpy

    try:
        with rawpy.imread(path) as raw:
            orientation = _LIBRAW_FLIP_TO_ORIENTATION.get(raw.sizes.flip, 1)
            preview = _preview(raw, rawpy)
            if preview is not None:
                preview_exif = preview.getexif()
                if _EXIF_ORIENTATION not in preview_exif and orientation != 1:
                    preview_exif[_EXIF_ORIENTATION] = orientation
                    preview.info["exif"] = preview_exif.tobytes()
                return preview, preview_exif
            if raw.sizes.width * raw.sizes.height > (Image.MAX_IMAGE_PIXELS or 1 << 62) * 4:
                raise Image.DecompressionBombError(
                    f"{raw.sizes.width}x{raw.sizes.height} pixels is more than photocap decodes")
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except rawpy.LibRawError as error:
        reason = str(error).strip("b'\"") or type(error).__name__
        raise RawError(f"cannot read this RAW file ({reason})") from None
    return Image.fromarray(rgb), None


def _preview(raw, rawpy) -> Image.Image | None:  # noqa: ANN001  (rawpy is imported lazily)
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        image = Image.open(io.BytesIO(thumb.data))
    elif thumb.format == rawpy.ThumbFormat.BITMAP:
        image = Image.fromarray(thumb.data)
    else:
        return None
    if min(image.size) < MIN_PREVIEW_SIDE:
        return None
    return image

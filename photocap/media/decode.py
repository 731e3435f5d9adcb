"""Decoding photos into the captioner's input: one function, shared by indexing, captioning and training."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

from photocap.media.file_errors import not_an_image_reason, unreadable_reason
from photocap.media.perceptual import phash_of_upright
from photocap.media.raw import RawError, open_raw
from photocap.metadata.dates import photo_date
from photocap.metadata.formats import RAW_EXTENSIONS, extension
from photocap.metadata.read import WrittenMetadata, embedded_blocks, exif_text, written_metadata

register_heif_opener()  # HEIC/HEIF through Pillow; AVIF is Pillow's own

INPUT_SIZE = 224
_EXIF_ORIENTATION = 0x0112
_EXIF_MAKE, _EXIF_MODEL, _EXIF_DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _EXIF_DATETIME_ORIGINAL = 0x8769, 0x9003


class PhotoDecodeError(Exception):
    """A file that cannot be decoded as a photo; the message says why, in one line."""


@dataclass
class DecodedPhoto:
    pixels: np.ndarray  # (INPUT_SIZE, INPUT_SIZE, 3) uint8, upright RGB
    width: int  # upright size of the original
    height: int
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    date_source: str | None = None  # where taken_at comes from (photocap.metadata.dates.DATE_SOURCES)
    written: WrittenMetadata | None = None  # what the file and its sidecars say (when asked for)
    # (detector_size, detector_size, 3) uint8, upright RGB, for the object detector (when asked for)
    detector_pixels: np.ndarray | None = None
    phash: int | None = None  # the perceptual hash (photocap.media.perceptual), when asked for


@contextmanager
def open_photo(path: str | Path, *, pixels: bool = True) -> Iterator[tuple[Image.Image | None, Image.Exif]]:
    """The photo at `path` opened (Pillow reads headers only until pixels are asked for) and its EXIF. A RAW
    file gives its embedded preview, or its decoded data (or no image, without `pixels`)."""
    if extension(os.fspath(path)) in RAW_EXTENSIONS:
        raw = open_raw(os.fspath(path), pixels=pixels)
        try:
            yield raw.image, raw.exif
        finally:
            if raw.image is not None:
                raw.image.close()
        return
    with Image.open(path) as image:
        yield image, image.getexif()


def decode_photo(path: str | Path, size: int = INPUT_SIZE, *, read_metadata: bool = False,
                 preview: Callable[[Image.Image], None] | None = None,
                 detector_size: int | None = None, perceptual_hash: bool = False) -> DecodedPhoto:
    """Read `path` as an upright RGB `size`x`size` array, with its EXIF capture time and camera, and (with
    `read_metadata`) the captions, keywords and XMP date its files carry (photocap.metadata.read).

    The whole frame is squashed to a square, as the Flickr8k training images were. Only the first frame of
    an animated image is used. Decompression bombs (more pixels than Pillow's limit) are refused unloaded.
    `preview`, when given, sees the upright RGB image before it is squashed (at least `size` px on its short
    side when libjpeg downscaled it): indexing makes thumbnails from it while the photo is decoded anyway.
    With `detector_size`, the same frame is also squashed to that size for the object detector. With
    `perceptual_hash`, the frame's perceptual hash is computed too (about a millisecond).
    """
    embedded = None
    phash = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_photo(path) as (image, exif):
                assert image is not None
                width, height = image.size
                if exif.get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # stored a quarter turn from upright
                    width, height = height, width
                # JPEG: let libjpeg downscale while decoding. The detector's input may come from an image a
                # little smaller than it (scaled up by at most 4/3): half the decoding work on large photos.
                largest = max(size, (detector_size or 0) * 3 // 4)
                image.draft("RGB", (largest, largest))
                upright = upright_rgb(image)
                if preview is not None:
                    preview(upright)
                pixels = squashed(upright, size)
                detector_pixels = squashed(upright, detector_size) if detector_size else None
                if perceptual_hash:
                    phash = phash_of_upright(upright)
                taken_at, make, model = capture_details(exif)
                if read_metadata:  # while the file is open: its metadata blocks are read already
                    embedded = embedded_blocks(image, exif)
    except RawError as error:
        raise PhotoDecodeError(str(error)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoDecodeError(f"refused: image too large ({error})") from None
    except (FileNotFoundError, PermissionError) as error:
        raise PhotoDecodeError(unreadable_reason(error)) from None
    except Image.UnidentifiedImageError:
        raise PhotoDecodeError(not_an_image_reason(path)) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as error:
        raise PhotoDecodeError(f"cannot decode: {error}") from None
    written = written_metadata(os.fspath(path), embedded) if embedded is not None else None
    taken_at, date_source = photo_date(path, taken_at, written.taken_at if written else None)
    return DecodedPhoto(pixels, width, height, taken_at, make, model, date_source, written, detector_pixels, phash)


def pixels_of(image: Image.Image, size: int = INPUT_SIZE) -> np.ndarray:
    """An opened image as the captioner's input: upright, RGB, squashed to size x size, uint8."""
    return squashed(upright_rgb(image), size)


def upright_rgb(image: Image.Image) -> Image.Image:
    return _to_rgb(ImageOps.exif_transpose(image))


def squashed(upright: Image.Image, size: int) -> np.ndarray:
    resized = upright.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(resized, dtype=np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (not black, which reads as a night scene)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits, as Pillow's own conversion would clip it to white
        array = np.asarray(image, dtype=np.float32)
        peak = float(array.max()) or 1.0
        return Image.fromarray((array * (255.0 / peak)).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def capture_details(exif: Image.Exif) -> tuple[datetime | None, str | None, str | None]:
    """EXIF capture time (DateTimeOriginal, else DateTime) and camera make and model, when present."""
    try:
        in_exif_ifd = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL)
    except Exception:  # noqa: BLE001  an Exif IFD pointing past what was read, or damaged
        in_exif_ifd = None
    # DNG and other TIFF-based RAW files may keep DateTimeOriginal in IFD0 itself.
    stamp = (exif_text(in_exif_ifd) or exif_text(exif.get(_EXIF_DATETIME_ORIGINAL))
             or exif_text(exif.get(_EXIF_DATETIME)))
    taken_at = None
    if stamp:
        try:
            taken_at = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            taken_at = None  # cameras write "0000:00:00 00:00:00" and worse; not worth failing a photo for
    return taken_at, exif_text(exif.get(_EXIF_MAKE)), exif_text(exif.get(_EXIF_MODEL))

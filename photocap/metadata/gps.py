"""GPS coordinates as photos carry them: the EXIF GPS IFD (JPEG, HEIC, PNG, WebP, TIFF and RAW files, as Pillow
or the RAW reader gives their EXIF) and XMP's `exif:GPSLatitude` / `exif:GPSLongitude` ("38,43.338N", or
"38,43,20.3N"). Coordinates are decimal degrees, north and east positive; anything out of range, not finite, or the
0,0 of a device without a fix is no position."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from photocap.metadata.places import valid_coordinates

if TYPE_CHECKING:
    from PIL import Image

GPS_IFD = 0x8825
_LATITUDE_REF, _LATITUDE, _LONGITUDE_REF, _LONGITUDE = 1, 2, 3, 4
_XMP_COORDINATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)(?:\s*,\s*(\d+(?:\.\d+)?))?\s*([NSEW])\s*$",
                             re.IGNORECASE)


def exif_position(exif: Image.Exif) -> tuple[float, float] | None:
    """The position in a photo's EXIF GPS IFD, or None."""
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001  a GPS IFD pointing past what was read, or damaged
        return None
    if not gps:
        return None
    lat = _degrees(gps.get(_LATITUDE), gps.get(_LATITUDE_REF), "S")
    lon = _degrees(gps.get(_LONGITUDE), gps.get(_LONGITUDE_REF), "W")
    if lat is None or lon is None or not valid_coordinates(lat, lon):
        return None
    return lat, lon


def xmp_position(latitude: str | None, longitude: str | None) -> tuple[float, float] | None:
    """The position XMP's exif:GPSLatitude and exif:GPSLongitude spell, or None."""
    lat, lon = _xmp_degrees(latitude, "NS"), _xmp_degrees(longitude, "EW")
    if lat is None or lon is None or not valid_coordinates(lat, lon):
        return None
    return lat, lon


def _degrees(value: object, ref: object, negative: str) -> float | None:
    """EXIF's (degrees, minutes, seconds) rationals and N/S or E/W reference as signed degrees."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    try:
        parts = [float(part) for part in value]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = sum(part / 60.0 ** i for i, part in enumerate(parts))
    if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative:
        degrees = -degrees
    return degrees


def _xmp_degrees(text: str | None, hemispheres: str) -> float | None:
    if not text:
        return None
    match = _XMP_COORDINATE.match(text)
    if match is None:
        return None
    degrees_text, minutes_text, seconds_text, hemisphere = match.groups()
    if hemisphere.upper() not in hemispheres:
        return None
    degrees = float(degrees_text) + float(minutes_text) / 60.0 + float(seconds_text or 0) / 3600.0
    return -degrees if hemisphere.upper() == hemispheres[1] else degrees

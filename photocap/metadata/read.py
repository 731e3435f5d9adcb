"""What people already wrote about a photo: captions and keywords from Lightroom, digiKam, Apple Photos, a camera,
or photocap's own export, read from the file and from XMP sidecars beside it (`photo.jpg.xmp`, `photo.xmp`).

The caption is the first of, in this order: a sidecar's `dc:description` (photo.jpg.xmp before photo.xmp),
the embedded XMP `dc:description`, IPTC Caption-Abstract, EXIF ImageDescription (camera boilerplate such as
"OLYMPUS DIGITAL CAMERA" is not a caption). Keywords are gathered from all of them (XMP `dc:subject` and
`lr:hierarchicalSubject`, IPTC Keywords), each with the first source that has it. An XMP date (sidecar first)
dates a photo whose EXIF has none.

The position is the first of a sidecar's `exif:GPSLatitude`/`GPSLongitude`, the EXIF GPS IFD, the embedded XMP's.
The place is what location fields another application wrote say (a sidecar's XMP, the embedded XMP, IPTC: they
win, as written captions do), else the position reverse-geocoded offline (photocap.metadata.places).

Nothing here writes: the photo and its sidecars are only read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from photocap.metadata.formats import SIDECAR_EXTENSION
from photocap.metadata.gps import exif_position
from photocap.metadata.places import Place, PlacesAssetError

if TYPE_CHECKING:
    from PIL import Image

    from photocap.metadata.xmp_read import XmpFacts

# The XML and IPTC readers are imported where they are used: the scanner and the catalog import this module
# for its row shape and sidecar stamps, and re-scanning an unchanged library must not pay for them.

MAX_CAPTION_CHARS = 2000
MAX_SIDECAR_BYTES = 4 << 20  # a sidecar larger than this is not one (edit histories run to a few hundred KB)
_EXIF_IMAGE_DESCRIPTION, _EXIF_MAKE, _EXIF_MODEL = 0x010E, 0x010F, 0x0110
_TIFF_XMP, _TIFF_IPTC, _TIFF_PHOTOSHOP = 700, 33723, 34377
# What cameras write into ImageDescription when nobody wrote anything.
_BOILERPLATE = re.compile(
    r"^(?:(?:[A-Z][A-Z0-9\-]* )*(?i:(?:digital )?(?:still )?camera)"  # OLYMPUS DIGITAL CAMERA
    r"|(?:[A-Z][A-Z0-9\-]* )*DSC(?: [A-Z0-9\-]+)*"  # SONY DSC
    r"|<[^<>]*>"  # <KENOX S630  / Samsung S630>
    r"|(?i:(?:IMG|DSC[NF]?|PICT|P)[_\- ]?\d+)"  # a file name, IMG_1234
    r"|(?i:default|untitled|no description|description|image|picture|photo|camera)"
    r"|[\W\d_]*)$"  # nothing but spaces, digits and punctuation
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class WrittenMetadata:
    """What a photo's files say about it. Sources are labels for people: "XMP sidecar photo.xmp",
    "embedded XMP", "IPTC", "EXIF"."""

    caption: str | None = None
    caption_source: str | None = None
    keywords: tuple[tuple[str, str], ...] = ()  # (keyword, source)
    taken_at: datetime | None = None  # the XMP date, if any
    sidecar_stamp: str = ""  # the sidecars read (names, sizes, times): a scan sees when they change
    place: Place | None = None  # where the photo was taken (coordinates, names or both)


@dataclass(frozen=True)
class Embedded:
    """The metadata blocks of an opened photo, not yet interpreted."""

    xmp: bytes | None = None
    iim: bytes | None = None  # IPTC-IIM datasets
    exif_description: str | None = None
    camera: tuple[str, ...] = ()
    position: tuple[float, float] | None = None  # EXIF GPS (latitude, longitude)


def embedded_blocks(image: Image.Image | None, exif: Image.Exif) -> Embedded:
    """The XMP, IPTC and EXIF description of a photo opened with Pillow (or a RAW file's EXIF alone)."""
    xmp = (image.info.get("xmp") if image is not None else None) or exif.get(_TIFF_XMP)
    return Embedded(
        xmp=_as_bytes(xmp),
        iim=_iim_of(image, exif),
        exif_description=exif_text(exif.get(_EXIF_IMAGE_DESCRIPTION)),
        camera=tuple(filter(None, (exif_text(exif.get(_EXIF_MAKE)), exif_text(exif.get(_EXIF_MODEL))))),
        position=exif_position(exif),
    )


def written_metadata(path: str, embedded: Embedded) -> WrittenMetadata:
    """Everything `embedded` and the sidecars beside `path` say, ranked as the module says."""
    from photocap.metadata.xmp_read import read_xmp

    sidecars, stamp = read_sidecars(path)
    xmp = read_xmp(embedded.xmp)
    iim_caption, iim_keywords = _iim_caption_and_keywords(embedded.iim)
    positions = [*(facts.position for _, facts in sidecars), embedded.position, xmp.position]
    iim_place = _iim_place(embedded.iim)
    ours = {facts.photocaps_place for facts in (xmp, *(facts for _, facts in sidecars))}
    if iim_place is not None and iim_place.label() in ours:
        iim_place = None  # photocap's export wrote it beside its XMP, from GPS
    written_places = [*(facts.place for _, facts in sidecars), xmp.place, iim_place]
    place = photo_place(next(filter(None, positions), None), next(filter(None, written_places), None))
    exif_caption = embedded.exif_description
    if exif_caption is not None and is_camera_boilerplate(exif_caption, embedded.camera):
        exif_caption = None
    captions = [*((facts.description, f"XMP sidecar {name}") for name, facts in sidecars),
                (xmp.description, "embedded XMP"), (iim_caption, "IPTC"), (exif_caption, "EXIF")]
    caption, caption_source = next(((_clean(text), source) for text, source in captions if text and _clean(text)),
                                   (None, None))
    # IPTC Keywords that photocap's export wrote beside its XMP are the catalog's tags, not the file's.
    ours = {word.casefold() for facts in (xmp, *(facts for _, facts in sidecars)) for word in facts.photocaps_keywords}
    iim_keywords = [word for word in iim_keywords if word.casefold() not in ours]
    keywords: dict[str, tuple[str, str]] = {}
    for words, source in [*((facts.keywords, f"XMP sidecar {name}") for name, facts in sidecars),
                          (xmp.keywords, "embedded XMP"), (iim_keywords, "IPTC")]:
        for word in words:
            cleaned = _clean(word)
            if cleaned and len(cleaned) <= 200:
                keywords.setdefault(cleaned.casefold(), (cleaned, source))
    dates = [facts.taken_at for _, facts in sidecars] + [xmp.taken_at]
    return WrittenMetadata(caption=caption, caption_source=caption_source, keywords=tuple(keywords.values()),
                           taken_at=next(filter(None, dates), None), sidecar_stamp=stamp, place=place)


def photo_place(position: tuple[float, float] | None, written: Place | None) -> Place | None:
    """The place of a photo at `position` (if known) whose files' location fields say `written` (if anything):
    those names win; else the position's place, found offline (names left empty at sea, or without the asset)."""
    from dataclasses import replace

    lat, lon = (round(position[0], 6), round(position[1], 6)) if position is not None else (None, None)
    if written is not None:
        return replace(written, lat=lat, lon=lon)
    if lat is None or lon is None:
        return None
    from photocap.metadata.places import place_at

    try:
        found = place_at(lat, lon)
    except PlacesAssetError:
        found = None
    return found or Place(lat=lat, lon=lon, source="gps")


def is_camera_boilerplate(text: str, camera: tuple[str, ...] = ()) -> bool:
    """Whether an EXIF ImageDescription is what the camera writes by itself ("OLYMPUS DIGITAL CAMERA",
    "SONY DSC", its own make or model), not something a person wrote."""
    stripped = " ".join(text.split())
    return bool(_BOILERPLATE.match(stripped)) or stripped.casefold() in {name.casefold() for name in camera}


# ------------------------------------------------------------------------------------------- sidecars


def sidecar_candidates(path: str) -> list[str]:
    """Where a photo's sidecars may be: photo.jpg.xmp (darktable, digiKam) and photo.xmp (Lightroom),
    in either case of the extension."""
    stem = os.path.splitext(path)[0]
    return [path + SIDECAR_EXTENSION, path + SIDECAR_EXTENSION.upper(), stem + SIDECAR_EXTENSION,
            stem + SIDECAR_EXTENSION.upper()]


def sidecar_stamp(found: list[tuple[str, int, int]]) -> str:
    """A short fingerprint of the sidecars found: (name, size, mtime_ns) each."""
    return "\n".join(f"{name}\0{size}\0{mtime_ns}" for name, size, mtime_ns in sorted(set(found)))


def read_sidecars(path: str) -> tuple[list[tuple[str, XmpFacts]], str]:
    """The facts of each sidecar beside `path` (photo.jpg.xmp first), and their stamp. A sidecar that
    cannot be read or parsed counts as present but saying nothing."""
    from photocap.metadata.xmp_read import XmpFacts, read_xmp

    facts: list[tuple[str, XmpFacts]] = []
    found: list[tuple[str, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for candidate in sidecar_candidates(path):
        try:
            with open(candidate, "rb") as file:
                st = os.fstat(file.fileno())
                if (st.st_dev, st.st_ino) in seen:  # a case-insensitive file system gives the same file twice
                    continue
                seen.add((st.st_dev, st.st_ino))
                data = file.read(MAX_SIDECAR_BYTES + 1)
        except OSError:
            continue
        name = os.path.basename(candidate)
        found.append((name, st.st_size, st.st_mtime_ns))
        facts.append((name, read_xmp(data) if len(data) <= MAX_SIDECAR_BYTES else XmpFacts()))
    return facts, sidecar_stamp(found)


# ----------------------------------------------------------------------------------------------- IPTC


def _iim_of(image: Image.Image | None, exif: Image.Exif) -> bytes | None:
    """The IPTC-IIM datasets: from a JPEG's Photoshop APP13 segments, or a TIFF's IPTC or Photoshop tag."""
    from photocap.metadata import iptc

    if image is not None and hasattr(image, "applist"):
        block = b"".join(payload[len(iptc.PHOTOSHOP_HEADER):] for marker, payload in image.applist
                         if marker == "APP13" and payload.startswith(iptc.PHOTOSHOP_HEADER))
        if block:
            return _iim_in_photoshop_block(block)
    tags = getattr(image, "tag_v2", None) or exif
    raw = tags.get(_TIFF_IPTC)
    if raw is not None:
        return _as_bytes(raw)
    photoshop = _as_bytes(tags.get(_TIFF_PHOTOSHOP))
    return _iim_in_photoshop_block(photoshop) if photoshop else None


def _iim_in_photoshop_block(block: bytes) -> bytes | None:
    from photocap.metadata import iptc

    try:
        resources, _ = iptc.parse_resources(block)
    except iptc.IptcError:
        return None
    return next((r.data for r in resources if r.signature == b"8BIM" and r.id == iptc.IPTC_RESOURCE), None)


def _iim_place(iim: bytes | None) -> Place | None:
    from photocap.metadata import iptc

    if not iim:
        return None
    try:
        fields = iptc.place_fields(iim)
    except iptc.IptcError:
        return None
    if not fields:
        return None
    code = fields.get("country_code")
    return Place(city=fields.get("city"), region=fields.get("region"), country=fields.get("country"),
                 country_code=code.upper() if code else None, sublocation=fields.get("sublocation"), source="iptc")


def _iim_caption_and_keywords(iim: bytes | None) -> tuple[str | None, list[str]]:
    from photocap.metadata import iptc

    if not iim:
        return None, []
    try:
        return iptc.caption_and_keywords(iim)
    except iptc.IptcError:
        return None, []


# ---------------------------------------------------------------------------------------------- text


def _as_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value or None
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass") or None
    if isinstance(value, tuple) and all(isinstance(v, int) and 0 <= v < 256 for v in value):
        return bytes(value) or None  # Pillow gives some undefined-type TIFF tags as tuples of bytes
    return None


def exif_text(value: object) -> str | None:
    """An EXIF text value (bytes or str, NUL-padded by many cameras) stripped, or None if empty or not text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value or None


def _clean(text: str) -> str:
    return " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())[:MAX_CAPTION_CHARS]

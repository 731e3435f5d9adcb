"""Reading what an XMP document (embedded in a photo, or a sidecar) says about the photo: its description, its
keywords and when it was taken. Writing XMP is photocap.metadata.xmp_write's job.

- description: `dc:description`, the x-default item of its language alternatives (else the first item);
- keywords: `dc:subject`, and every level of Lightroom's `lr:hierarchicalSubject` ("People|Family|Mia"
  gives People, Family and Mia);
- keywords photocap's own export wrote (its record, `photocap:subject`), which are the catalog's tags already:
  reading them back as the file's would freeze the model's tags of the day;
- date: `exif:DateTimeOriginal`, else `photoshop:DateCreated`, else `xmp:CreateDate` (the first is when the
  shutter fired; the others may be when a scan or an edit was made), as a wall-clock time;
- position: `exif:GPSLatitude` and `exif:GPSLongitude`;
- place: `photoshop:City`, `photoshop:State`, `photoshop:Country`, `Iptc4xmpCore:CountryCode` and
  `Iptc4xmpCore:Location` (sub-location), unless they are what photocap's own export wrote from GPS (its record,
  `photocap:place`, still matches them).

Properties are read in both RDF forms: as elements and as attributes of rdf:Description.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from photocap.metadata.gps import xmp_position
from photocap.metadata.places import Place
from photocap.metadata.xmp_write import (
    DC_NS,
    GPS_LATITUDE,
    GPS_LONGITUDE,
    HIERARCHICAL_SUBJECT,
    PLACE_PROPERTIES,
    PLACE_WRITTEN_BY_US,
    RDF_NS,
    SUBJECT,
    WRITTEN_BY_US,
    XML_NS,
)

DESCRIPTION = f"{{{DC_NS}}}description"
DATE_PROPERTIES = (
    "{http://ns.adobe.com/exif/1.0/}DateTimeOriginal",
    "{http://ns.adobe.com/photoshop/1.0/}DateCreated",
    "{http://ns.adobe.com/xap/1.0/}CreateDate",
)
_DESCRIPTION_ELEMENT = f"{{{RDF_NS}}}Description"
_LI = f"{{{RDF_NS}}}li"
_LANG = f"{{{XML_NS}}}lang"
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XMP_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


@dataclass(frozen=True)
class XmpFacts:
    description: str | None = None
    keywords: tuple[str, ...] = ()
    taken_at: datetime | None = None
    keyword_paths: tuple[str, ...] = field(default=(), repr=False)  # lr:hierarchicalSubject as written
    photocaps_keywords: tuple[str, ...] = ()  # the keywords photocap's export wrote (and recorded as its own)
    position: tuple[float, float] | None = None  # (latitude, longitude)
    place: Place | None = None  # the location fields another application wrote (source "xmp")
    photocaps_place: str | None = None  # the place label photocap's export wrote (its record)


def read_xmp(data: bytes | str | None) -> XmpFacts:
    """What the XMP document (or packet) `data` says; empty facts for no XMP or XMP that is not well-formed
    (a damaged packet never stops a photo from being indexed)."""
    root = _parse(data)
    if root is None:
        return XmpFacts()
    descriptions = list(root.iter(_DESCRIPTION_ELEMENT))
    paths = _items(descriptions, HIERARCHICAL_SUBJECT)
    ours = _items(descriptions, WRITTEN_BY_US[SUBJECT])
    our_paths = set(_items(descriptions, WRITTEN_BY_US[HIERARCHICAL_SUBJECT]))
    levels = [level.strip() for path in paths if path not in our_paths for level in path.split("|")]
    folded_ours = {word.casefold() for word in ours}
    keywords = [word for word in _unique([*_items(descriptions, SUBJECT), *levels])
                if word.casefold() not in folded_ours]
    return XmpFacts(
        description=_language_default(descriptions, DESCRIPTION),
        keywords=tuple(keywords),
        photocaps_keywords=tuple(ours),
        taken_at=next(filter(None, (_date(value) for name in DATE_PROPERTIES
                                    for value in _items(descriptions, name))), None),
        keyword_paths=tuple(paths),
        position=xmp_position(_first(descriptions, GPS_LATITUDE), _first(descriptions, GPS_LONGITUDE)),
        place=_written_place(descriptions),
        photocaps_place=_first(descriptions, PLACE_WRITTEN_BY_US),
    )


def _first(descriptions: list[ET.Element], name: str) -> str | None:
    return next(iter(_items(descriptions, name)), None)


def _written_place(descriptions: list[ET.Element]) -> Place | None:
    """The place the location fields name, unless none is set or photocap's export wrote them as they are."""
    values = {key: _first(descriptions, name) for key, name in PLACE_PROPERTIES.items()}
    if not any(values.values()):
        return None
    place = Place(city=values["city"], region=values["region"], country=values["country"],
                  country_code=(values["country_code"] or "").upper()[:3] or None,
                  sublocation=values["sublocation"], source="xmp")
    if _first(descriptions, PLACE_WRITTEN_BY_US) == place.label():
        return None
    return place


def _parse(data: bytes | str | None) -> ET.Element | None:
    if not data:
        return None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if _DOCTYPE.search(data):  # XMP forbids DTDs; refusing them rules out entity expansion too
        return None
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        start = data.find(b"<rdf:RDF")
    if start < 0:
        return None
    data = data[start:]
    end = max(data.rfind(b"</x:xmpmeta>") + len(b"</x:xmpmeta>"), data.rfind(b"</rdf:RDF>") + len(b"</rdf:RDF>"))
    try:
        return ET.parse(io.BytesIO(data[:end] if end > 20 else data)).getroot()
    except ET.ParseError:
        return None


def _items(descriptions: list[ET.Element], name: str) -> list[str]:
    """The values of property `name`: an attribute, a simple element, or the items of an array."""
    values: list[str] = []
    for description in descriptions:
        if name in description.attrib:
            values.append(description.attrib[name])
        for element in description.findall(name):
            items = list(element.iter(_LI))
            if items:
                values.extend(item.text or "" for item in items)
            else:
                values.append(element.text or "")
    return [value.strip() for value in values if value and value.strip()]


def _language_default(descriptions: list[ET.Element], name: str) -> str | None:
    for description in descriptions:
        if name in description.attrib and description.attrib[name].strip():
            return description.attrib[name].strip()
        for element in description.findall(name):
            items = list(element.iter(_LI))
            chosen = next((i for i in items if i.get(_LANG) == "x-default"), items[0] if items else element)
            if chosen.text and chosen.text.strip():
                return chosen.text.strip()
    return None


def _date(value: str) -> datetime | None:
    match = _XMP_DATE.match(value.strip())
    if match is None:
        return None
    parts = [int(part) if part else 0 for part in match.groups()]
    try:
        return datetime(*parts)  # the time zone, if any, is dropped: photocap's dates are wall-clock times
    except ValueError:
        return None


def _unique(words: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for word in words:
        if word:
            seen.setdefault(word.casefold(), word)
    return list(seen.values())

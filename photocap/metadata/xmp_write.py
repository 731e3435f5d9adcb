"""XMP alt text and keywords: set a photo's description and tags in an XMP document, keep everything else.

Two properties carry the alt text, both language alternatives (rdf:Alt) whose "x-default" item is set:
`dc:description` (what most photo tools show as the caption) and `Iptc4xmpCore:AltTextAccessibility`
(the IPTC field meant for alt text). The tags are keywords: `dc:subject`, an rdf:Bag of the words, and
Lightroom's `lr:hierarchicalSubject`, an rdf:Bag of their "|"-separated paths ("animal|dog").

Where the photo was taken goes into the location fields Lightroom and the IPTC Core schema use (`photoshop:City`,
`photoshop:State`, `photoshop:Country`, `Iptc4xmpCore:CountryCode`, `Iptc4xmpCore:Location` for a sub-location);
a place photocap named from GPS is recorded in `photocap:place`, so that reading the file back does not take it for
one another application wrote.

Keywords merge with those already there: photocap's keywords replace the ones photocap wrote before, and
every other keyword stays. What photocap wrote is recorded in `photocap:subject` and
`photocap:hierarchicalSubject`; a keyword someone else also wrote is never recorded as photocap's, so it stays
when the tag goes. Without that record (an older file, a tool that dropped it) the merge is a union.

Every other element, attribute, comment and namespace prefix of an existing document is kept, so a sidecar
written by darktable, digiKam or Lightroom keeps its ratings, keywords and edit history.
"""

from __future__ import annotations

import contextlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace

from photocap.metadata.places import Place

X_NS = "adobe:ns:meta/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS = "http://purl.org/dc/elements/1.1/"
IPTC_CORE_NS = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
LIGHTROOM_NS = "http://ns.adobe.com/lightroom/1.0/"
PHOTOCAP_NS = "http://ns.photocap.invalid/xmp/1.0/"  # private: which keywords photocap wrote
PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"
EXIF_NS = "http://ns.adobe.com/exif/1.0/"

ALT_TEXT_PROPERTIES = (f"{{{DC_NS}}}description", f"{{{IPTC_CORE_NS}}}AltTextAccessibility")
SUBJECT = f"{{{DC_NS}}}subject"
HIERARCHICAL_SUBJECT = f"{{{LIGHTROOM_NS}}}hierarchicalSubject"
WRITTEN_BY_US = {SUBJECT: f"{{{PHOTOCAP_NS}}}subject", HIERARCHICAL_SUBJECT: f"{{{PHOTOCAP_NS}}}hierarchicalSubject"}
OUR_PREFIXES = {"x": X_NS, "rdf": RDF_NS, "dc": DC_NS, "Iptc4xmpCore": IPTC_CORE_NS, "lr": LIGHTROOM_NS,
                "photocap": PHOTOCAP_NS, "photoshop": PHOTOSHOP_NS}
# Where a photo was taken (photocap.metadata.places.Place's fields), as Lightroom and the IPTC Core schema name it.
PLACE_PROPERTIES = {
    "city": f"{{{PHOTOSHOP_NS}}}City",
    "region": f"{{{PHOTOSHOP_NS}}}State",
    "country": f"{{{PHOTOSHOP_NS}}}Country",
    "country_code": f"{{{IPTC_CORE_NS}}}CountryCode",
    "sublocation": f"{{{IPTC_CORE_NS}}}Location",
}
PLACE_WRITTEN_BY_US = f"{{{PHOTOCAP_NS}}}place"  # the place label photocap wrote from GPS
GPS_LATITUDE, GPS_LONGITUDE = f"{{{EXIF_NS}}}GPSLatitude", f"{{{EXIF_NS}}}GPSLongitude"

PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '\n<?xpacket end="w"?>'
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

_RDF = f"{{{RDF_NS}}}RDF"
_DESCRIPTION = f"{{{RDF_NS}}}Description"
_ALT = f"{{{RDF_NS}}}Alt"
_BAG = f"{{{RDF_NS}}}Bag"
_ARRAYS = (_BAG, f"{{{RDF_NS}}}Seq", _ALT)
_LI = f"{{{RDF_NS}}}li"
_ABOUT = f"{{{RDF_NS}}}about"
_LANG = f"{{{XML_NS}}}lang"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class XmpError(ValueError):
    """XMP that cannot be safely written (an existing document that is not XMP, text XML cannot hold)."""


@dataclass(frozen=True)
class Keyword:
    word: str  # dc:subject (and IPTC Keywords)
    path: str  # lr:hierarchicalSubject: the word's place in the tag map, "animal|dog"


@dataclass(frozen=True)
class PhotoMetadata:
    """What photocap writes into a photo's metadata."""

    alt_text: str | None  # None: no alt text is written, and the description fields are left as they are
    keywords: tuple[Keyword, ...] = ()
    place: Place | None = None  # where it was taken: its location fields (PLACE_PROPERTIES)


@dataclass(frozen=True)
class XmpUpdate:
    document: str  # the x:xmpmeta element as text, without XML declaration or packet wrapper
    subjects: tuple[str, ...]  # dc:subject as written: the merged keywords, for IPTC Keywords beside it


def with_metadata(existing: bytes | None, metadata: PhotoMetadata, *, held_keywords: Sequence[str] = ()) -> XmpUpdate:
    """The XMP document `existing` (or a new one) with the alt text set and the keywords merged in.

    `held_keywords` are keywords the file holds elsewhere (IPTC-IIM), merged as if dc:subject held them.
    See `sidecar_bytes` and `packet_bytes` for the file forms of the document. Raises XmpError when
    `existing` is not XMP that can be edited, or the text holds characters XML cannot carry.
    """
    texts = [metadata.alt_text or "", *(text for keyword in metadata.keywords for text in (keyword.word, keyword.path)),
             *(metadata.place.names() if metadata.place else [])]
    if any(_NOT_XML_CHARACTERS.search(text) for text in texts):
        raise XmpError("the alt text or a tag holds control characters, which XML cannot carry")
    _keep_prefixes(list(OUR_PREFIXES.items()))
    new = not (existing and existing.strip(b"\x00 \t\r\n"))
    root = _new_document() if new else _parse(existing or b"")
    rdf = root if root.tag == _RDF else root.find(f".//{_RDF}")
    if rdf is None:
        raise XmpError("no rdf:RDF element in the XMP")
    descriptions = rdf.findall(_DESCRIPTION)
    if not descriptions:
        descriptions = [ET.SubElement(rdf, _DESCRIPTION, {_ABOUT: ""})]
    if metadata.alt_text is not None:
        for name in ALT_TEXT_PROPERTIES:
            _set_default_language_text(descriptions, name, metadata.alt_text)
    held = [word for word in held_keywords if not _NOT_XML_CHARACTERS.search(word)]
    subjects = _merge_keywords(descriptions, SUBJECT, [k.word for k in metadata.keywords], held)
    _merge_keywords(descriptions, HIERARCHICAL_SUBJECT, [k.path for k in metadata.keywords])
    if metadata.place is not None and metadata.place.names():
        _set_place(descriptions, metadata.place)
    if new:
        ET.indent(root, space=" ")
    return XmpUpdate(ET.tostring(root, encoding="unicode"), tuple(subjects))


def sidecar_bytes(document: str) -> bytes:
    """A sidecar file's content: an XML declaration, then the document, in UTF-8."""
    return (XML_DECLARATION + document + "\n").encode("utf-8")


def packet_bytes(document: str) -> bytes:
    """An XMP packet for embedding in an image file: the document inside xpacket processing instructions."""
    return (PACKET_BEGIN + document + PACKET_END).encode("utf-8")


# ---------------------------------------------------------------------------------------------- helpers


def _new_document() -> ET.Element:
    root = ET.Element(f"{{{X_NS}}}xmpmeta")
    ET.SubElement(root, _RDF)
    return root


def _parse(data: bytes) -> ET.Element:
    # XMP forbids DTDs; refusing them also rules out entity-expansion attacks from a crafted file.
    if _DOCTYPE.search(data):
        raise XmpError("the XMP has a DOCTYPE, which XMP does not allow")
    data = data.rstrip(b"\x00 \t\r\n")
    try:
        prefixes = [ns for _, ns in ET.iterparse(io.BytesIO(data), events=("start-ns",))]
        root = ET.fromstring(data, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    except ET.ParseError as error:
        raise XmpError(f"the XMP is not well-formed XML ({error})") from None
    _keep_prefixes(prefixes)
    return root


def _keep_prefixes(prefixes: list[tuple[str, str]]) -> None:
    """Make ElementTree write each namespace with the document's own prefix instead of ns0, ns1...

    ElementTree keeps one process-wide prefix map: `with_metadata` registers our own prefixes first, then
    the document's, so that a document's choices win for the namespaces it declares.
    """
    for prefix, uri in prefixes:
        if not prefix or uri == XML_NS:
            continue
        with contextlib.suppress(ValueError):  # a reserved ns<digits> prefix: ElementTree picks its own
            ET.register_namespace(prefix, uri)


def _set_default_language_text(descriptions: list[ET.Element], name: str, text: str) -> None:
    """Set the x-default item of the language alternative `name`, keeping its other languages."""
    found = _one_property(descriptions, name)
    assert found is not None
    holder, description = found
    alternatives = holder.find(_ALT)
    if alternatives is None or len(holder) != 1:
        alternatives = ET.SubElement(_emptied(holder), _ALT)
    default = next((item for item in alternatives.findall(_LI) if item.get(_LANG) == "x-default"), None)
    if default is None:
        default = ET.Element(_LI, {_LANG: "x-default"})
        alternatives.insert(0, default)  # XMP: the x-default item comes first
    for child in list(default):
        default.remove(child)
    default.text = text
    _lay_out(holder, description)


def _merge_keywords(descriptions: list[ET.Element], name: str, ours: list[str], held: Sequence[str] = ()) -> list[str]:
    """Set the bag `name` to the keywords others wrote plus `ours`, and record which are ours; returns the bag.

    Keywords compare without case, so a "Dog" someone else wrote stands for our "dog".
    """
    record = WRITTEN_BY_US[name]
    existing = _bag_items(descriptions, name)
    existing += _unique([word for word in held if word.casefold() not in _folded(existing)])
    ours_before = _folded(_bag_items(descriptions, record))
    kept = [word for word in existing if word.casefold() not in ours_before]
    added = _unique([word for word in ours if word.casefold() not in _folded(kept)])
    _set_bag(descriptions, name, kept + added)
    _set_bag(descriptions, record, added)
    return kept + added


def _bag_items(descriptions: list[ET.Element], name: str) -> list[str]:
    """The items of the array property `name`, wherever it is; a malformed simple value counts as one item."""
    items: list[str] = []
    for description in descriptions:
        items.append(description.get(name, ""))
        for element in description.findall(name):
            array = next((child for child in element if child.tag in _ARRAYS), None)
            if array is None:
                items.append(element.text or "")
            else:
                items.extend(item.text or "" for item in array.findall(_LI))
    return [item.strip() for item in items if item.strip()]


def _set_bag(descriptions: list[ET.Element], name: str, items: list[str]) -> None:
    """Make `name` one rdf:Bag of `items`, or remove it when `items` is empty (no empty bags are written).

    A bag that already holds exactly `items` is left as it was.
    """
    found = _one_property(descriptions, name, keep=bool(items))
    if found is None:
        return
    holder, description = found
    bag = holder.find(_BAG)
    if bag is not None and len(holder) == 1 and [(item.tag, item.text) for item in bag] == [(_LI, i) for i in items]:
        return
    bag = ET.SubElement(_emptied(holder), _BAG)
    for item in items:
        ET.SubElement(bag, _LI).text = item
    _lay_out(holder, description)


def written_place_label(place: Place) -> str:
    """The label of what the location fields say of `place` (they have no second-level division)."""
    return replace(place, county=None).label()


def _set_place(descriptions: list[ET.Element], place: Place) -> None:
    """Set the location fields `place` has a name for (others are left as they are), and record the place photocap
    wrote when it named it from GPS, so that reading the file again does not take it for someone else's."""
    for key, name in PLACE_PROPERTIES.items():
        value = getattr(place, key)
        found = _one_property(descriptions, name) if value else None
        if found is not None:
            _emptied(found[0]).text = value
    record = _one_property(descriptions, PLACE_WRITTEN_BY_US, keep=place.source == "gps")
    if record is not None:
        _emptied(record[0]).text = written_place_label(place)


def _one_property(descriptions: list[ET.Element], name: str, *, keep: bool = True
                  ) -> tuple[ET.Element, ET.Element] | None:
    """The element of property `name` and the rdf:Description holding it, added to the first one when missing.

    The property lives in one rdf:Description: a copy elsewhere (or a malformed attribute form) is dropped,
    and so is every copy when not `keep` (then None is returned).
    """
    found = None
    for description in descriptions:
        description.attrib.pop(name, None)
        for element in description.findall(name):
            if found is None and keep:
                found = (element, description)
            else:
                description.remove(element)
    if found is None and keep:
        element = ET.Element(name)
        _append_indented(descriptions[0], element)
        found = (element, descriptions[0])
    return found


def _emptied(element: ET.Element) -> ET.Element:
    for child in list(element):
        element.remove(child)
    element.attrib.clear()
    element.text = None
    return element


def _lay_out(holder: ET.Element, description: ET.Element) -> None:
    """Indent a property's elements like the rdf:Description around it, when that is laid out one element
    a line (as darktable, digiKam and exiv2 write sidecars); a compact document stays compact."""
    indent = description.text or ""
    if "\n" in indent and not indent.strip() and indent[-1] in " \t":
        ET.indent(holder, space=indent[-1], level=len(indent) - indent.rindex("\n") - 1)


def _folded(words: Sequence[str]) -> set[str]:
    return {word.casefold() for word in words}


def _unique(words: Sequence[str]) -> list[str]:
    unique: dict[str, str] = {}
    for word in words:
        unique.setdefault(word.casefold(), word)
    return list(unique.values())


def _append_indented(parent: ET.Element, child: ET.Element) -> None:
    """Append `child` on a line of its own when `parent`'s children are laid out one per line."""
    siblings = list(parent)
    if siblings and parent.text and not parent.text.strip():
        child.tail, siblings[-1].tail = siblings[-1].tail, parent.text
    parent.append(child)

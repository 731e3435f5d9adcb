"""XMP alt text: set a photo's description in an XMP document and keep everything else in it.

Two properties carry the alt text, both language alternatives (rdf:Alt) whose "x-default" item is set:
`dc:description` (what most photo tools show as the caption) and `Iptc4xmpCore:AltTextAccessibility`
(the IPTC field meant for alt text). Every other element, attribute, comment and namespace prefix of an
existing document is kept, so a sidecar written by darktable, digiKam or Lightroom keeps its ratings,
keywords and edit history.
"""

from __future__ import annotations

import contextlib
import io
import re
import xml.etree.ElementTree as ET

X_NS = "adobe:ns:meta/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS = "http://purl.org/dc/elements/1.1/"
IPTC_CORE_NS = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ALT_TEXT_PROPERTIES = (f"{{{DC_NS}}}description", f"{{{IPTC_CORE_NS}}}AltTextAccessibility")
OUR_PREFIXES = {"x": X_NS, "rdf": RDF_NS, "dc": DC_NS, "Iptc4xmpCore": IPTC_CORE_NS}

PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '\n<?xpacket end="w"?>'
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

_RDF = f"{{{RDF_NS}}}RDF"
_DESCRIPTION = f"{{{RDF_NS}}}Description"
_ALT = f"{{{RDF_NS}}}Alt"
_LI = f"{{{RDF_NS}}}li"
_ABOUT = f"{{{RDF_NS}}}about"
_LANG = f"{{{XML_NS}}}lang"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NOT_XML_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class XmpError(ValueError):
    """XMP that cannot be safely written (an existing document that is not XMP, text XML cannot hold)."""


def with_alt_text(existing: bytes | None, text: str) -> str:
    """The XMP document `existing` (or a new one) with both alt-text properties set to `text`.

    Returns the x:xmpmeta element as text, without an XML declaration or packet wrapper (see
    `sidecar_bytes` and `packet_bytes`). Raises XmpError when `existing` is not XMP that can be edited.
    """
    if _NOT_XML_CHARACTERS.search(text):
        raise XmpError("the alt text holds control characters, which XML cannot carry")
    _keep_prefixes(list(OUR_PREFIXES.items()))
    root = _parse(existing) if existing and existing.strip(b"\x00 \t\r\n") else _new_document()
    rdf = root if root.tag == _RDF else root.find(f".//{_RDF}")
    if rdf is None:
        raise XmpError("no rdf:RDF element in the XMP")
    descriptions = rdf.findall(_DESCRIPTION)
    if not descriptions:
        descriptions = [ET.SubElement(rdf, _DESCRIPTION, {_ABOUT: ""})]
    for name in ALT_TEXT_PROPERTIES:
        _set_default_language_text(descriptions, name, text)
    return ET.tostring(root, encoding="unicode")


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

    ElementTree keeps one process-wide prefix map: `with_alt_text` registers our own prefixes first, then
    the document's, so that a document's choices win for the namespaces it declares.
    """
    for prefix, uri in prefixes:
        if not prefix or uri == XML_NS:
            continue
        with contextlib.suppress(ValueError):  # a reserved ns<digits> prefix: ElementTree picks its own
            ET.register_namespace(prefix, uri)


def _set_default_language_text(descriptions: list[ET.Element], name: str, text: str) -> None:
    """Set the x-default item of the language alternative `name`, keeping its other languages.

    The property lives in one rdf:Description: a copy elsewhere (or a malformed attribute form) is dropped.
    """
    holder = None
    for description in descriptions:
        description.attrib.pop(name, None)
        for element in description.findall(name):
            if holder is None:
                holder = element
            else:
                description.remove(element)
    if holder is None:
        holder = ET.Element(name)
        _append_indented(descriptions[0], holder)
    alternatives = holder.find(_ALT)
    if alternatives is None or len(holder) != 1:
        for child in list(holder):
            holder.remove(child)
        holder.attrib.clear()
        holder.text = None
        alternatives = ET.SubElement(holder, _ALT)
    default = next((item for item in alternatives.findall(_LI) if item.get(_LANG) == "x-default"), None)
    if default is None:
        default = ET.Element(_LI, {_LANG: "x-default"})
        alternatives.insert(0, default)  # XMP: the x-default item comes first
    for child in list(default):
        default.remove(child)
    default.text = text


def _append_indented(parent: ET.Element, child: ET.Element) -> None:
    """Append `child` on a line of its own when `parent`'s children are laid out one per line."""
    siblings = list(parent)
    if siblings and parent.text and not parent.text.strip():
        child.tail, siblings[-1].tail = siblings[-1].tail, parent.text
    parent.append(child)

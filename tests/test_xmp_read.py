"""Reading XMP as other tools write it (photocap.metadata.xmp_read): both RDF forms, language alternatives, dates with
and without time zones, and documents that must be ignored rather than trusted."""

from __future__ import annotations

from datetime import datetime

from photocap.metadata.xmp_read import read_xmp

HEAD = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/"')
TAIL = "</rdf:Description></rdf:RDF></x:xmpmeta>"


def test_element_and_attribute_forms_languages_and_hierarchies() -> None:
    facts = read_xmp(HEAD + ' photoshop:DateCreated="2018-06-01">'
                     '<dc:description><rdf:Alt><rdf:li xml:lang="de">Oma</rdf:li>'
                     '<rdf:li xml:lang="x-default">Grandma</rdf:li></rdf:Alt></dc:description>'
                     "<dc:subject><rdf:Bag><rdf:li>Family</rdf:li><rdf:li>family</rdf:li></rdf:Bag></dc:subject>"
                     "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|France|Lyon</rdf:li></rdf:Bag>"
                     "</lr:hierarchicalSubject>" + TAIL)
    assert facts.description == "Grandma"  # x-default, not the first language
    assert facts.keywords == ("Family", "Places", "France", "Lyon")  # case-insensitive duplicates dropped
    assert facts.taken_at == datetime(2018, 6, 1)

    # The date the shutter fired wins over the others; a time zone is dropped (wall-clock time).
    attributes = read_xmp(HEAD + ' xmp:CreateDate="2020-01-01T00:00:00" exif:DateTimeOriginal='
                          '"2019-12-31T23:59:58+01:00" dc:description="Fireworks">' + TAIL)
    assert (attributes.description, attributes.taken_at) == ("Fireworks", datetime(2019, 12, 31, 23, 59, 58))


def test_what_cannot_be_trusted_says_nothing() -> None:
    assert read_xmp(None).description is None
    assert read_xmp(b"not xml at all").keywords == ()
    assert read_xmp((HEAD + "><dc:description>unclosed" + TAIL)[:-20]).description is None
    doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + (HEAD + ' dc:description="&a;">' + TAIL).encode()
    assert read_xmp(doctype).description is None  # entity expansion is refused
    assert read_xmp(HEAD + ' xmp:CreateDate="0000-00-00T00:00:00" xmp:MetadataDate="2021">' + TAIL).taken_at is None
    packet = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + (
        HEAD + ' dc:description="In a packet">' + TAIL).encode() + b'\n<?xpacket end="w"?>' + b"\x00" * 8
    assert read_xmp(packet).description == "In a packet"

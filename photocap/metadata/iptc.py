"""IPTC-IIM in a JPEG's Photoshop block (APP13 "Photoshop 3.0"): Caption-Abstract and Keywords.

The block is a list of image resources ("8BIM", id, Pascal name, data); resource 0x0404 holds the IIM
datasets (0x1C, record, dataset number, length, value). Only three datasets are ours: 1:90 (coded character
set, ESC % G: UTF-8), 2:120 Caption-Abstract and 2:25 Keywords (2:00, the record version, is added when
missing). Every other dataset and resource is kept; text datasets of a record that did not declare UTF-8 are
re-encoded to it (read as UTF-8 when valid, else Windows-1252). Resource 0x0425 (the MD5 digest of the IIM
data) is set to match, so readers following the Metadata Working Group's rules take the IIM and the XMP
written beside it as in sync.

IIM limits: a keyword longer than 64 bytes is left out of the IIM (the XMP carries it), a caption longer than
2,000 bytes is cut at a character boundary.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from photocap.metadata.country_codes import alpha3

PHOTOSHOP_HEADER = b"Photoshop 3.0\x00"
IPTC_RESOURCE, IPTC_DIGEST_RESOURCE = 0x0404, 0x0425
RESOURCE_SIGNATURES = (b"8BIM", b"PHUT", b"AgHg", b"DCSR", b"MeSa")
ENVELOPE, APPLICATION = 1, 2  # IIM record numbers
CODED_CHARACTER_SET, RECORD_VERSION, KEYWORDS, CAPTION = 90, 0, 25, 120
# Where the photo was taken: 2:90 City, 2:92 Sub-location, 2:95 Province/State, 2:100 Country code, 2:101 Country.
PLACE_DATASETS = {"city": 90, "sublocation": 92, "region": 95, "country_code": 100, "country": 101}
PLACE_LIMITS = {"city": 32, "sublocation": 32, "region": 32, "country_code": 3, "country": 64}  # bytes, as IIM says
UTF8_ESCAPE = b"\x1b%G"
MAX_KEYWORD_BYTES, MAX_CAPTION_BYTES = 64, 2000
_BINARY_APPLICATION_DATASETS = {RECORD_VERSION, 125, 200, 201, 202}  # record version, rasterized caption, preview


class IptcError(ValueError):
    """A Photoshop block or IIM record too damaged to edit; the message says which part."""


@dataclass(frozen=True)
class Resource:
    signature: bytes
    id: int
    name: bytes  # the Pascal string as stored: length byte, name, padding to an even size
    data: bytes


@dataclass(frozen=True)
class Dataset:
    record: int
    number: int
    value: bytes


def with_caption_and_keywords(block: bytes | None, caption: str | None, keywords: Sequence[str],
                              place: Mapping[str, str | None] | None = None) -> bytes:
    """The Photoshop block `block` (or a new one, without the "Photoshop 3.0" header) with IIM 2:120 set to
    `caption` (None: left as it is) and 2:25 to `keywords`, and the location datasets `place` names
    (PLACE_DATASETS' keys; a country code in ISO 3166's three letters, as IIM wants: PT is written PRT), in UTF-8,
    and the IPTC digest updated."""
    resources, tail = parse_resources(block or b"")
    datasets = _with_ours(parse_datasets(_iim_of(resources)), caption, keywords)
    if place:
        datasets = _with_place(datasets, place)
    iim = datasets_bytes(datasets)
    resources = _with_resource(resources, IPTC_RESOURCE, iim)
    resources = _with_resource(resources, IPTC_DIGEST_RESOURCE, hashlib.md5(iim).digest())
    return resources_bytes(resources) + tail


def keywords_in(block: bytes | None) -> list[str]:
    """The IIM Keywords (2:25) of a Photoshop block, decoded; [] when there are none."""
    datasets = parse_datasets(_iim_of(parse_resources(block or b"")[0]))
    utf8 = _declares_utf8(datasets)
    return [_decode(d.value, utf8) for d in datasets if (d.record, d.number) == (APPLICATION, KEYWORDS)]


def caption_and_keywords(iim: bytes) -> tuple[str | None, list[str]]:
    """The Caption-Abstract (2:120) and Keywords (2:25) of IIM datasets, decoded (UTF-8 when declared or
    valid, else Windows-1252). Raises IptcError for damaged datasets."""
    datasets = parse_datasets(iim)
    utf8 = _declares_utf8(datasets)
    caption = next((_decode(d.value, utf8) for d in datasets if (d.record, d.number) == (APPLICATION, CAPTION)),
                   None)
    keywords = [_decode(d.value, utf8) for d in datasets if (d.record, d.number) == (APPLICATION, KEYWORDS)]
    return caption, keywords


def place_fields(iim: bytes) -> dict[str, str]:
    """The location datasets of IIM datasets (PLACE_DATASETS' keys), decoded; raises IptcError when damaged."""
    datasets = parse_datasets(iim)
    utf8 = _declares_utf8(datasets)
    numbers = {number: key for key, number in PLACE_DATASETS.items()}
    found: dict[str, str] = {}
    for d in datasets:
        if d.record == APPLICATION and d.number in numbers:
            text = " ".join(_decode(d.value, utf8).split())
            if text:
                found.setdefault(numbers[d.number], text)
    return found


# ------------------------------------------------------------------------------------------- datasets


def _iim_of(resources: list[Resource]) -> bytes:
    return next((r.data for r in resources if r.signature == b"8BIM" and r.id == IPTC_RESOURCE), b"")


def _with_ours(datasets: list[Dataset], caption: str | None, keywords: Sequence[str]) -> list[Dataset]:
    utf8 = _declares_utf8(datasets)
    ours = {(ENVELOPE, CODED_CHARACTER_SET), (APPLICATION, KEYWORDS)}
    if caption is not None:
        ours.add((APPLICATION, CAPTION))
    kept = [_as_utf8(d, utf8) for d in datasets if (d.record, d.number) not in ours]
    added = [Dataset(ENVELOPE, CODED_CHARACTER_SET, UTF8_ESCAPE)]
    if caption is not None:
        added.append(Dataset(APPLICATION, CAPTION, _cut(caption.encode("utf-8"), MAX_CAPTION_BYTES)))
    added += [Dataset(APPLICATION, KEYWORDS, word.encode("utf-8")) for word in keywords
              if word and len(word.encode("utf-8")) <= MAX_KEYWORD_BYTES]
    if not any((d.record, d.number) == (APPLICATION, RECORD_VERSION) for d in kept):
        added.append(Dataset(APPLICATION, RECORD_VERSION, b"\x00\x04"))
    # IIM wants datasets in ascending record and dataset order; sorted() is stable, so repeated ones
    # (keywords) keep their order.
    return sorted(kept + added, key=lambda d: (d.record, d.number))


def _with_place(datasets: list[Dataset], place: Mapping[str, str | None]) -> list[Dataset]:
    values = {key: value for key, value in place.items() if value and key in PLACE_DATASETS}
    if "country_code" in values:  # IIM wants ISO 3166's three letters: GeoNames' PT is written PRT
        code = alpha3(values["country_code"])
        if code is None:
            del values["country_code"]
        else:
            values["country_code"] = code
    replaced = {PLACE_DATASETS[key] for key in values}
    kept = [d for d in datasets if not (d.record == APPLICATION and d.number in replaced)]
    added = [Dataset(APPLICATION, PLACE_DATASETS[key], _cut(value.encode("utf-8"), PLACE_LIMITS[key]))
             for key, value in values.items()]
    return sorted(kept + added, key=lambda d: (d.record, d.number))


def _declares_utf8(datasets: list[Dataset]) -> bool:
    return any((d.record, d.number, d.value) == (ENVELOPE, CODED_CHARACTER_SET, UTF8_ESCAPE) for d in datasets)


def _as_utf8(dataset: Dataset, utf8: bool) -> Dataset:
    """A kept text dataset re-encoded in UTF-8, since the record is about to declare UTF-8 for all of them."""
    if utf8 or dataset.record != APPLICATION or dataset.number in _BINARY_APPLICATION_DATASETS:
        return dataset
    return Dataset(dataset.record, dataset.number, _decode(dataset.value, utf8).encode("utf-8"))


def _decode(value: bytes, utf8: bool) -> str:
    """IIM text: UTF-8 when declared or valid, else what writers without a declared set mostly used."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        if utf8:
            return value.decode("utf-8", "replace")
    try:
        return value.decode("cp1252")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _cut(data: bytes, limit: int) -> bytes:
    return data[:limit].decode("utf-8", "ignore").encode("utf-8")


def parse_datasets(iim: bytes) -> list[Dataset]:
    datasets: list[Dataset] = []
    position = 0
    while position < len(iim) and iim[position] == 0x1C:
        if position + 5 > len(iim):
            raise IptcError("damaged IPTC: a dataset header is cut short")
        record, number, length = struct.unpack(">BBH", iim[position + 1:position + 5])
        position += 5
        if length & 0x8000:  # extended dataset: the next (length & 0x7FFF) bytes hold the length
            size = length & 0x7FFF
            length = int.from_bytes(iim[position:position + size], "big")
            position += size
        if position + length > len(iim):
            raise IptcError(f"damaged IPTC: dataset {record}:{number} runs past the end of its block")
        datasets.append(Dataset(record, number, iim[position:position + length]))
        position += length
    if iim[position:].strip(b"\x00"):
        raise IptcError(f"damaged IPTC: no dataset marker at byte {position}")
    return datasets


def datasets_bytes(datasets: Sequence[Dataset]) -> bytes:
    out = bytearray()
    for dataset in datasets:
        size = len(dataset.value)
        out += struct.pack(">BBB", 0x1C, dataset.record, dataset.number)
        out += struct.pack(">H", size) if size < 0x8000 else struct.pack(">HI", 0x8004, size)
        out += dataset.value
    return bytes(out)


# ------------------------------------------------------------------------------------------ resources


def _with_resource(resources: list[Resource], resource_id: int, data: bytes) -> list[Resource]:
    """`resources` with the first 8BIM resource `resource_id` replaced (others of that id dropped), or added."""
    out: list[Resource] = []
    replaced = False
    for resource in resources:
        if resource.signature == b"8BIM" and resource.id == resource_id:
            if not replaced:
                out.append(Resource(b"8BIM", resource_id, resource.name, data))
                replaced = True
            continue
        out.append(resource)
    if not replaced:
        out.append(Resource(b"8BIM", resource_id, b"\x00\x00", data))
    return out


def parse_resources(block: bytes) -> tuple[list[Resource], bytes]:
    """The image resources of a Photoshop block, and any trailing bytes that are not a resource (kept)."""
    resources: list[Resource] = []
    position = 0
    while position + 4 <= len(block) and block[position:position + 4] in RESOURCE_SIGNATURES:
        resource, position = _resource_at(block, position)
        resources.append(resource)
    return resources, block[position:]


def _resource_at(block: bytes, position: int) -> tuple[Resource, int]:
    signature = block[position:position + 4]
    if position + 7 > len(block):
        raise IptcError("damaged Photoshop block: a resource header is cut short")
    (resource_id,) = struct.unpack(">H", block[position + 4:position + 6])
    name_size = 1 + block[position + 6]
    name_size += name_size & 1
    name = block[position + 6:position + 6 + name_size]
    size_at = position + 6 + name_size
    if size_at + 4 > len(block):
        raise IptcError(f"damaged Photoshop block: resource 0x{resource_id:04x} is cut short")
    (size,) = struct.unpack(">I", block[size_at:size_at + 4])
    data_at = size_at + 4
    if data_at + size > len(block):
        raise IptcError(f"damaged Photoshop block: resource 0x{resource_id:04x} runs past the end")
    return Resource(signature, resource_id, name, block[data_at:data_at + size]), data_at + size + (size & 1)


def resources_bytes(resources: Sequence[Resource]) -> bytes:
    return b"".join(
        r.signature + struct.pack(">H", r.id) + r.name + struct.pack(">I", len(r.data)) + r.data
        + (b"\x00" if len(r.data) & 1 else b"")
        for r in resources
    )

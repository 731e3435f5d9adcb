"""Embed alt text and keywords in the bytes of a JPEG, PNG or WebP file without re-encoding a single pixel.

Each writer walks the file's container (JPEG marker segments, PNG chunks, WebP RIFF chunks), replaces or
adds only the metadata parts, and copies every other byte as it was: the compressed image data of the
result is byte-identical to the original's. Nothing here goes through Pillow's image encoders; Pillow only
builds the EXIF (TIFF) block, from the original's own EXIF so that its other tags (Orientation, camera,
dates, GPS) are kept.

- JPEG: APP1 "Exif" (ImageDescription), APP1 XMP (dc:description, Iptc4xmpCore:AltTextAccessibility,
  dc:subject, lr:hierarchicalSubject) and APP13 "Photoshop 3.0" IPTC-IIM (Caption-Abstract, Keywords).
- PNG: iTXt "XML:com.adobe.xmp" (the XMP) and iTXt "Description"; an existing eXIf chunk is updated too.
- WebP: EXIF and "XMP " chunks, with the VP8X header (added to a simple-format file) flagging them.
The XMP is described in photocap.metadata.xmp_write, the IPTC-IIM in photocap.metadata.iptc.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib

from PIL import Image

from photocap.metadata import iptc
from photocap.metadata.formats import SNIFF_BYTES
from photocap.metadata.formats import image_kind as sniff
from photocap.metadata.xmp_write import PhotoMetadata, packet_bytes, with_metadata

IMAGE_DESCRIPTION = 0x010E
EMBEDDABLE_KINDS = ("jpeg", "png", "webp")


class CannotEmbed(Exception):
    """The format cannot carry the alt text safely (the file is copied unchanged instead)."""


class MetadataError(ValueError):
    """A file whose structure is damaged, or whose metadata would not fit; the message says which."""


def embed_metadata(data: bytes, metadata: PhotoMetadata, name: str = "") -> bytes:
    """`data` (a whole image file, named `name`) with `metadata`'s alt text and keywords. Raises CannotEmbed
    for formats other than JPEG, PNG and WebP, MetadataError for damaged files, photocap.metadata.xmp_write.XmpError for
    unusable XMP."""
    kind = image_kind(data, name)
    if kind == "jpeg":
        return jpeg_with_metadata(data, metadata)
    if kind == "png":
        return png_with_metadata(data, metadata)
    if kind == "webp":
        return webp_with_metadata(data, metadata)
    raise CannotEmbed(f"{kind.upper() if kind else 'this format'} cannot carry alt text safely")


def image_kind(data: bytes, name: str = "") -> str | None:
    return sniff(data[:SNIFF_BYTES], name)  # the scanner's own format sniffing


# ------------------------------------------------------------------------------------------------ EXIF


_TYPOGRAPHIC_TO_ASCII = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


def exif_ascii(text: str) -> str | None:
    """`text` as EXIF ASCII: accents and typographic punctuation folded, or None when that loses letters.

    EXIF's ImageDescription is ASCII and Pillow writes it so (other characters become "?"), so UTF-8 would
    not survive; the XMP always carries the exact text.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHIC_TO_ASCII))
    folded = "".join(character for character in folded if not unicodedata.combining(character))
    return folded if folded.isascii() else None


def exif_with_description(existing: bytes | None, text: str | None) -> bytes:
    """An EXIF block (the TIFF structure, without the "Exif\\0\\0" header) holding the original's tags and
    `text` as ImageDescription (the tag is dropped when `text` cannot be written as ASCII; None: left as it is).

    Pillow rewrites the main, Exif, GPS and Interop directories; a thumbnail (IFD1) is not carried over.
    """
    exif = Image.Exif()
    if existing:
        try:
            exif.load(existing)
        except Exception as error:  # Pillow raises many kinds for damaged TIFF structures
            raise MetadataError(f"the photo's EXIF is unreadable ({error})") from None
    if text is None:
        return exif.tobytes().removeprefix(b"Exif\x00\x00")
    description = exif_ascii(text)
    if description is None:
        exif.pop(IMAGE_DESCRIPTION, None)
    else:
        exif[IMAGE_DESCRIPTION] = description
    block = exif.tobytes()
    return block.removeprefix(b"Exif\x00\x00")


# ------------------------------------------------------------------------------------------------ JPEG


JPEG_SOI = b"\xff\xd8"
JPEG_SOS, JPEG_EOI, JPEG_APP0, JPEG_APP1, JPEG_APP13 = 0xDA, 0xD9, 0xE0, 0xE1, 0xED
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field (TEM, RST0-7)
JPEG_MAX_PAYLOAD = 65533  # a segment's 16-bit length counts itself: 65535 - 2
EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
PHOTOSHOP_HEADER = iptc.PHOTOSHOP_HEADER


def jpeg_with_metadata(data: bytes, metadata: PhotoMetadata) -> bytes:
    """Replace (in place) or add the Exif and XMP APP1 segments and the Photoshop APP13 segment; copy
    everything else, SOS onwards verbatim.

    A new Exif segment goes after the leading APP0 (JFIF) segments, a new XMP segment right after the Exif
    one and a new Photoshop segment right after that, so the order other readers expect is kept and later
    segments (such as an MPF index) do not move relative to the images they point at.
    """
    segments, image_data_start = _jpeg_segments(data)
    old_exif = next((s[4 + len(EXIF_HEADER):] for s in segments if _is_app(s, JPEG_APP1, EXIF_HEADER)), None)
    old_xmp = next((s[4 + len(XMP_HEADER):] for s in segments if _is_app(s, JPEG_APP1, XMP_HEADER)), None)
    # Photoshop splits a block too big for one segment across several; they are read as one.
    old_photoshop = b"".join(s[4 + len(PHOTOSHOP_HEADER):] for s in segments
                             if _is_app(s, JPEG_APP13, PHOTOSHOP_HEADER)) or None
    try:
        xmp_update = with_metadata(old_xmp, metadata, held_keywords=iptc.keywords_in(old_photoshop))
        place = metadata.place
        photoshop = iptc.with_caption_and_keywords(old_photoshop, metadata.alt_text, xmp_update.subjects, {
            "city": place.city, "sublocation": place.sublocation, "region": place.region, "country": place.country,
            "country_code": place.country_code} if place is not None else None)
    except iptc.IptcError as error:
        raise MetadataError(str(error)) from None
    replacements = [
        (JPEG_APP1, EXIF_HEADER, [_jpeg_segment(JPEG_APP1, EXIF_HEADER + exif_with_description(
            old_exif, metadata.alt_text), "EXIF")]),
        (JPEG_APP1, XMP_HEADER, [_jpeg_segment(JPEG_APP1, XMP_HEADER + packet_bytes(xmp_update.document), "XMP")]),
        (JPEG_APP13, PHOTOSHOP_HEADER, _photoshop_segments(photoshop)),
    ]
    return JPEG_SOI + b"".join(_replace_segments(segments, replacements)) + data[image_data_start:]


def _replace_segments(segments: list[bytes], replacements: list[tuple[int, bytes, list[bytes]]]) -> list[bytes]:
    """`segments` with the first segment of each (marker, header) replaced by its new segments and later
    ones dropped (readers could take them for the current metadata); new ones placed as
    `jpeg_with_metadata` says."""
    out: list[bytes] = []
    placed: set[int] = set()
    for segment in segments:
        kind = next((i for i, (marker, header, _) in enumerate(replacements) if _is_app(segment, marker, header)),
                    None)
        if kind is None:
            out.append(segment)
        elif kind not in placed:
            out.extend(replacements[kind][2])
            placed.add(kind)
    position = next((i for i, s in enumerate(out) if s[1] != JPEG_APP0), len(out))
    for kind, (_, _, new) in enumerate(replacements):
        if kind in placed:
            position = out.index(new[-1]) + 1
        else:
            out[position:position] = new
            position += len(new)
    return out


def _photoshop_segments(block: bytes) -> list[bytes]:
    size = JPEG_MAX_PAYLOAD - len(PHOTOSHOP_HEADER)
    return [_jpeg_segment(JPEG_APP13, PHOTOSHOP_HEADER + block[i:i + size], "Photoshop")
            for i in range(0, max(len(block), 1), size)]


def _jpeg_segments(data: bytes) -> tuple[list[bytes], int]:
    """The marker segments between SOI and the first SOS (each with its marker), and the offset of SOS."""
    if not data.startswith(JPEG_SOI):
        raise MetadataError("not a JPEG file (no start-of-image marker)")
    segments: list[bytes] = []
    position = 2
    while True:
        if position + 1 >= len(data) or data[position] != 0xFF:
            raise MetadataError(f"damaged JPEG: no marker at byte {position}")
        while position + 1 < len(data) and data[position + 1] == 0xFF:  # fill bytes before a marker
            position += 1
        marker = data[position + 1]
        if marker == JPEG_SOS:
            return segments, position
        if marker == JPEG_EOI:
            raise MetadataError("damaged JPEG: it ends before any image data")
        if marker in JPEG_STANDALONE:
            segments.append(data[position:position + 2])
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2:position + 4] or b"\x00\x00")
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise MetadataError(f"damaged JPEG: segment at byte {position} runs past the end of the file")
        segments.append(data[position:end])
        position = end


def _jpeg_segment(marker: int, payload: bytes, what: str) -> bytes:
    if len(payload) > JPEG_MAX_PAYLOAD:
        raise MetadataError(f"the {what} block would be {len(payload)} bytes, more than a JPEG segment holds "
                            f"({JPEG_MAX_PAYLOAD})")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _is_app(segment: bytes, marker: int, header: bytes) -> bool:
    return segment[1] == marker and segment[4:].startswith(header)


# ------------------------------------------------------------------------------------------------- PNG


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
PNG_DESCRIPTION_KEYWORD = b"Description"
PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def png_with_metadata(data: bytes, metadata: PhotoMetadata) -> bytes:
    """Replace the XMP and Description text chunks with iTXt chunks placed before the first IDAT; update
    an eXIf chunk if there is one. Every other chunk, IDAT included, is copied as it was."""
    chunks, end = _png_chunks(data)
    old_xmp: bytes | None = None
    out: list[tuple[bytes, bytes]] = []  # (type, whole chunk)
    for kind, payload, raw in chunks:
        keyword = payload.split(b"\x00", 1)[0] if kind in PNG_TEXT_CHUNKS else None
        if keyword == PNG_XMP_KEYWORD and old_xmp is None:
            old_xmp = _png_text(kind, payload)
        if keyword == PNG_XMP_KEYWORD or (keyword == PNG_DESCRIPTION_KEYWORD and metadata.alt_text is not None):
            continue
        if kind == b"eXIf":
            raw = _png_chunk(b"eXIf", exif_with_description(payload, metadata.alt_text))
        out.append((kind, raw))
    first_idat = next(i for i, (kind, _) in enumerate(out) if kind == b"IDAT")
    out[first_idat:first_idat] = [
        (b"iTXt", _png_chunk(b"iTXt", _itxt(PNG_XMP_KEYWORD, packet_bytes(with_metadata(old_xmp, metadata).document)))),
    ]
    if metadata.alt_text is not None:
        out.insert(first_idat + 1, (b"iTXt", _png_chunk(b"iTXt", _itxt(PNG_DESCRIPTION_KEYWORD,
                                                                          metadata.alt_text.encode("utf-8")))))
    return PNG_SIGNATURE + b"".join(raw for _, raw in out) + data[end:]


def _png_chunks(data: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], int]:
    """(type, payload, whole chunk) of every chunk up to IEND, and the offset just after IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise MetadataError("not a PNG file")
    chunks: list[tuple[bytes, bytes, bytes]] = []
    position = len(PNG_SIGNATURE)
    while True:
        if position + 8 > len(data):
            raise MetadataError("damaged PNG: it ends without an IEND chunk")
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        end = position + 12 + length
        if end > len(data):
            raise MetadataError(f"damaged PNG: the {kind.decode('latin-1')} chunk runs past the end of the file")
        chunks.append((kind, data[position + 8:position + 8 + length], data[position:end]))
        position = end
        if kind == b"IEND":
            break
    if not any(kind == b"IDAT" for kind, _, _ in chunks):
        raise MetadataError("damaged PNG: no image data (IDAT)")
    return chunks, position


def _png_text(kind: bytes, payload: bytes) -> bytes:
    """The text of a tEXt, zTXt or iTXt chunk, as bytes (UTF-8 for iTXt)."""
    try:
        if kind == b"tEXt":
            return payload.split(b"\x00", 1)[1]
        if kind == b"zTXt":
            return zlib.decompress(payload.split(b"\x00", 1)[1][1:])
        _, rest = payload.split(b"\x00", 1)
        compressed, rest = rest[0], rest[2:]
        _language, _translated, text = rest.split(b"\x00", 2)
        return zlib.decompress(text) if compressed else text
    except (IndexError, ValueError, zlib.error) as error:
        raise MetadataError(f"damaged PNG: unreadable {kind.decode()} chunk ({error})") from None


def _itxt(keyword: bytes, text: bytes) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, text
    return keyword + b"\x00\x00\x00" + b"\x00" + b"\x00" + text


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# ------------------------------------------------------------------------------------------------ WebP


WEBP_IMAGE_CHUNKS = (b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L")
VP8X_ALPHA, VP8X_EXIF, VP8X_XMP = 0x10, 0x08, 0x04


def webp_with_metadata(data: bytes, metadata: PhotoMetadata) -> bytes:
    """Replace or add the EXIF and "XMP " chunks after the image data, and flag them in VP8X (added when
    the file is in the simple format). The image chunks are copied as they were."""
    chunks = _riff_chunks(data)
    old_exif = next((payload for kind, payload in chunks if kind == b"EXIF"), None)
    old_xmp = next((payload for kind, payload in chunks if kind == b"XMP "), None)
    kept = [(kind, payload) for kind, payload in chunks if kind not in (b"EXIF", b"XMP ")]
    if kept[0][0] == b"VP8X":
        header = bytearray(kept[0][1])
        header[0] |= VP8X_EXIF | VP8X_XMP
        kept[0] = (b"VP8X", bytes(header))
    else:
        kept.insert(0, (b"VP8X", _vp8x_for(*kept[0])))
    after_image = max(i for i, (kind, _) in enumerate(kept) if kind in WEBP_IMAGE_CHUNKS) + 1
    kept[after_image:after_image] = [
        (b"EXIF", exif_with_description(old_exif, metadata.alt_text)),
        (b"XMP ", packet_bytes(with_metadata(old_xmp, metadata).document)),
    ]
    body = b"WEBP" + b"".join(_riff_chunk(kind, payload) for kind, payload in kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise MetadataError("not a WebP file")
    (riff_size,) = struct.unpack("<I", data[4:8])
    end = 8 + riff_size
    if end > len(data):
        raise MetadataError("damaged WebP: the file is shorter than its header says")
    chunks: list[tuple[bytes, bytes]] = []
    position = 12
    while position + 8 <= end:
        kind, size = struct.unpack("<4sI", data[position:position + 8])
        if position + 8 + size > end:
            raise MetadataError(f"damaged WebP: the {kind.decode('latin-1')!r} chunk runs past the end")
        chunks.append((kind, data[position + 8:position + 8 + size]))
        position += 8 + size + (size & 1)  # chunks are padded to an even size
    if not chunks or not any(kind in (b"VP8 ", b"VP8L", b"ANMF") for kind, _ in chunks):
        raise MetadataError("damaged WebP: no image data")
    return chunks


def _vp8x_for(kind: bytes, payload: bytes) -> bytes:
    """The VP8X header a simple-format file (one VP8 or VP8L chunk) needs to carry metadata."""
    if kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = (value & 0x3FFF for value in struct.unpack("<HH", payload[6:10]))
        has_alpha = False
    elif kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        (bits,) = struct.unpack("<I", payload[1:5])
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        has_alpha = bool(bits >> 28 & 1)
    else:
        raise MetadataError(f"damaged WebP: unreadable {kind.decode('latin-1')!r} image header")
    flags = VP8X_EXIF | VP8X_XMP | (VP8X_ALPHA if has_alpha else 0)
    return bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")

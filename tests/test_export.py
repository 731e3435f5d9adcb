"""`photocap export` and `photocap caption --set/--clear`: a real catalog (filled through its own write path),
real JPEG, PNG, WebP and GIF files drawn with Pillow, the command line run through click's CliRunner. What the
exports embed is read back with ElementTree and, independently of photocap's own code, with exiv2 (pyexiv2)."""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pyexiv2
import pytest
from click.testing import CliRunner, Result
from conftest import REPO, draw_photo
from PIL import Image

from photocap.atomic import write_atomically
from photocap.catalog.store import Catalog, PhotoResult
from photocap.cli import main
from photocap.indexing.scan import scan_folders

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_DESCRIPTION = "{http://purl.org/dc/elements/1.1/}description"
IPTC_ALT_TEXT = "{http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/}AltTextAccessibility"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MODEL = "photocap-test-model"

CAPTIONS = {
    "beach.jpg": "a dog runs on the beach",
    "park.png": "children play in a green park",
    "snow.webp": "a snowy mountain under a blue sky",
    "glass.webp": "a glass of orange juice",
    "balloon.gif": "a red balloon in the air",
    "été 🌸.jpg": "a café terrace in summer",
}
ODD_NAME = b"caf\xe9.jpg"  # Latin-1, not valid UTF-8
ODD_CAPTION = "a cat sleeps on a sofa"

DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="4"
   darktable:xmp_version="5">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <dc:description>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">an old description</rdf:li>
     <rdf:li xml:lang="de">eine alte Beschreibung</rdf:li>
    </rdf:Alt>
   </dc:description>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def camera_jpeg(path: Path) -> Path:
    """A JPEG as a camera and a photo manager leave it: EXIF (orientation, camera, date) and an XMP rating."""
    draw_photo(path, size=(96, 64), seed=7)
    with Image.open(path) as drawn:
        image = drawn.copy()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2023:07:14 10:30:00"  # DateTimeOriginal
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + RDF.encode() + b'">'
           b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>'
           b"</rdf:RDF></x:xmpmeta>")
    image.save(path, "JPEG", exif=exif, xmp=xmp, quality=90)
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    camera_jpeg(root / "beach.jpg")
    draw_photo(root / "park.png", seed=2)
    draw_photo(root / "snow.webp", seed=3)  # lossy: VP8, simple format
    Image.new("RGBA", (40, 30), (200, 120, 0, 128)).save(root / "glass.webp", lossless=True)  # VP8L with alpha
    draw_photo(root / "balloon.gif", seed=4)
    draw_photo(root / "été 🌸.jpg", seed=5)
    draw_photo(os.fsencode(root) + b"/" + ODD_NAME, seed=6)
    draw_photo(root / "pending.jpg", seed=8)  # catalogued, never captioned
    return root


@pytest.fixture
def catalogued(tmp_home: Path, library: Path) -> Path:
    """The library scanned into the catalog and captioned, through the catalog's own write path."""
    captions = {str(library / name): text for name, text in CAPTIONS.items()}
    captions[os.fsdecode(os.fsencode(library) + b"/" + ODD_NAME)] = ODD_CAPTION
    with Catalog.open(tmp_home) as catalog:
        scan_folders(catalog, [library])
        ids = {photo.path: photo.id for photo in catalog.pending_photos()}
        catalog.save_batch_results([
            PhotoResult(photo_id=ids[path], caption=text, model_id=MODEL, model_checksum="c0ffee")
            for path, text in captions.items()
        ])
    return library


def snapshot(folder: Path) -> dict[bytes, tuple[bytes, int]]:
    """Every file's bytes and mtime under `folder` (names as bytes: some are not UTF-8)."""
    files = {}
    for dirpath, _, names in os.walk(os.fsencode(folder)):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as file:
                files[path] = (file.read(), os.stat(path).st_mtime_ns)
    return files


def jpeg_parts(data: bytes) -> tuple[list[bytes], bytes]:
    """The APPn/other segments' payloads before SOS, and everything from the SOS marker on."""
    assert data[:2] == b"\xff\xd8"
    position, payloads = 2, []
    while data[position + 1] != 0xDA:
        length = int.from_bytes(data[position + 2:position + 4], "big")
        payloads.append(data[position:position + 2 + length])
        position += 2 + length
    return payloads, data[position:]


def jpeg_xmp(data: bytes) -> bytes:
    header = b"http://ns.adobe.com/xap/1.0/\x00"
    packets = [segment[4 + len(header):] for segment in jpeg_parts(data)[0]
               if segment[1] == 0xE1 and segment[4:].startswith(header)]
    assert len(packets) == 1
    return packets[0]


def xmp_alt_texts(xmp: bytes) -> dict[str, str]:
    """The x-default text of dc:description and Iptc4xmpCore:AltTextAccessibility."""
    root = ET.fromstring(xmp)
    found = {}
    for name in (DC_DESCRIPTION, IPTC_ALT_TEXT):
        for prop in root.iter(name):
            for item in prop.find(f"{{{RDF}}}Alt"):
                if item.get(XML_LANG) == "x-default":
                    found[name] = item.text
    return found


def pixels(path: Path | bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(path) as image:
        return image.mode, image.size, image.tobytes()


# ------------------------------------------------------------------------------------------ embedding


def test_a_jpeg_copy_carries_the_alt_text_and_the_same_image_data(tmp_home: Path, catalogued: Path,
                                                                  tmp_path: Path) -> None:
    before = snapshot(catalogued)
    original = catalogued / "beach.jpg"
    run = photocap(tmp_home, "export", str(original), "--to", str(tmp_path / "out"), "--json")
    assert run.exit_code == 0, run.output
    copy = tmp_path / "out" / "beach.jpg"
    assert json_lines(run.stdout) == [{"source": str(original), "path": str(copy), "alt_text": CAPTIONS["beach.jpg"],
                                       "model": MODEL, "caption_source": "model", "embedded": True, "tags": [],
                                       "sidecar": None, "place": None, "alt_text_from": "caption",
                                       "confidence": None}]

    with Image.open(copy) as image:
        exif = image.getexif()
    assert exif[0x010E] == CAPTIONS["beach.jpg"]
    assert (exif[0x0112], exif[0x010F], exif[0x0110]) == (6, "Canon", "Canon EOS 5D")  # the camera's tags stay
    assert exif.get_ifd(0x8769)[0x9003] == "2023:07:14 10:30:00"
    xmp = jpeg_xmp(copy.read_bytes())
    assert xmp_alt_texts(xmp) == {DC_DESCRIPTION: CAPTIONS["beach.jpg"], IPTC_ALT_TEXT: CAPTIONS["beach.jpg"]}
    assert ET.fromstring(xmp).find(f".//{{{RDF}}}Description").get("{http://ns.adobe.com/xap/1.0/}Rating") == "5"

    assert jpeg_parts(copy.read_bytes())[1] == jpeg_parts(original.read_bytes())[1]  # SOS onwards, byte for byte
    assert pixels(copy) == pixels(original)
    assert os.stat(copy).st_mtime_ns == os.stat(original).st_mtime_ns
    assert snapshot(catalogued) == before  # originals: same bytes, same mtimes


def test_png_and_webp_copies_carry_the_alt_text_and_decode_to_the_same_pixels(tmp_home: Path, catalogued: Path,
                                                                              tmp_path: Path) -> None:
    names = ["park.png", "snow.webp", "glass.webp"]
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", *(str(catalogued / name) for name in names), "--to", str(out))
    assert run.exit_code == 0, run.output

    with Image.open(out / "park.png") as png:
        assert png.text["Description"] == CAPTIONS["park.png"]
        assert xmp_alt_texts(png.info["xmp"])[IPTC_ALT_TEXT] == CAPTIONS["park.png"]
    for name in ("snow.webp", "glass.webp"):
        data = (out / name).read_bytes()
        assert data[12:16] == b"VP8X" and data[20] & 0x0C == 0x0C  # EXIF and XMP flags
        with Image.open(out / name) as webp:
            assert webp.getexif()[0x010E] == CAPTIONS[name]
            assert xmp_alt_texts(webp.info["xmp"]) == {DC_DESCRIPTION: CAPTIONS[name], IPTC_ALT_TEXT: CAPTIONS[name]}
    for name in names:
        assert pixels(out / name) == pixels(catalogued / name)
    assert pixels(out / "glass.webp")[0] == "RGBA"  # the alpha flag carried into the new VP8X header


def test_a_format_that_cannot_carry_alt_text_is_copied_unchanged_and_reported(tmp_home: Path, catalogued: Path,
                                                                             tmp_path: Path) -> None:
    run = photocap(tmp_home, "export", str(catalogued / "balloon.gif"), "--to", str(tmp_path / "out"), "--json")
    assert run.exit_code == 0
    assert json_lines(run.stdout)[0]["embedded"] is False
    assert "note: " in run.stderr and "GIF cannot carry alt text" in run.stderr
    assert (tmp_path / "out" / "balloon.gif").read_bytes() == (catalogued / "balloon.gif").read_bytes()


def test_unicode_and_non_utf8_file_names(tmp_home: Path, catalogued: Path, tmp_path: Path) -> None:
    odd = os.fsdecode(os.fsencode(catalogued) + b"/" + ODD_NAME)
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(catalogued / "été 🌸.jpg"), odd, "--to", str(out), "--json",
                   "--manifest", "html")
    assert run.exit_code == 0, run.output
    assert [line["alt_text"] for line in json_lines(run.stdout)] == [CAPTIONS["été 🌸.jpg"], ODD_CAPTION]
    assert sorted(os.listdir(os.fsencode(out))) == sorted([ODD_NAME, "été 🌸.jpg".encode(), b"manifest.html"])
    with Image.open(os.fsencode(out) + b"/" + ODD_NAME) as image:
        assert image.getexif()[0x010E] == ODD_CAPTION
    with Image.open(out / "été 🌸.jpg") as image:
        assert image.getexif()[0x010E] == "a cafe terrace in summer"  # EXIF is ASCII: accents folded
    assert xmp_alt_texts(jpeg_xmp((out / "été 🌸.jpg").read_bytes()))[DC_DESCRIPTION] == CAPTIONS["été 🌸.jpg"]
    sources = [src for src, _ in images_in_page(out / "manifest.html")]
    assert all(os.path.exists(os.fsencode(out) + b"/" + unquote_to_bytes(src)) for src in sources)


# -------------------------------------------------------------------------------------------- sidecars


def test_sidecars_merge_into_existing_ones_and_leave_the_photos_untouched(tmp_home: Path, catalogued: Path) -> None:
    (catalogued / "beach.jpg.xmp").write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    before = snapshot(catalogued)
    run = photocap(tmp_home, "export", str(catalogued / "beach.jpg"), str(catalogued / "park.png"), "--sidecar",
                   "--json")
    assert run.exit_code == 0, run.output
    assert [line["path"] for line in json_lines(run.stdout)] == [str(catalogued / "beach.jpg.xmp"),
                                                                 str(catalogued / "park.png.xmp")]

    merged = (catalogued / "beach.jpg.xmp").read_bytes()
    assert xmp_alt_texts(merged) == {DC_DESCRIPTION: CAPTIONS["beach.jpg"], IPTC_ALT_TEXT: CAPTIONS["beach.jpg"]}
    root = ET.fromstring(merged)
    description = root.find(f".//{{{RDF}}}Description")
    assert description.get("{http://ns.adobe.com/xap/1.0/}Rating") == "4"
    assert description.get("{http://darktable.sf.net/}xmp_version") == "5"
    assert root.find(f".//{{http://purl.org/dc/elements/1.1/}}subject/{{{RDF}}}Bag/{{{RDF}}}li").text == "holiday"
    history = root.find(".//{http://darktable.sf.net/}history")
    assert history.find(f".//{{{RDF}}}li").get("{http://darktable.sf.net/}operation") == "exposure"
    german = [li for li in root.iter(f"{{{RDF}}}li") if li.get(XML_LANG) == "de"]
    assert german[0].text == "eine alte Beschreibung"  # other languages are kept
    assert "xmlns:darktable=" in merged.decode() and "ns0:" not in merged.decode()  # prefixes kept as they were
    assert xmp_alt_texts((catalogued / "park.png.xmp").read_bytes())[IPTC_ALT_TEXT] == CAPTIONS["park.png"]

    after = snapshot(catalogued)
    merged_into = os.fsencode(catalogued / "beach.jpg.xmp")
    assert {path: after[path] for path in before if path != merged_into} == {
        path: before[path] for path in before if path != merged_into}  # every photo: same bytes, same mtime
    assert set(after) - set(before) == {os.fsencode(catalogued / "park.png.xmp")}

    lightroom = photocap(tmp_home, "export", str(catalogued / "snow.webp"), "--sidecar", "--sidecar-style",
                         "lightroom")
    assert lightroom.exit_code == 0 and (catalogued / "snow.xmp").is_file()


def test_a_damaged_sidecar_is_left_alone_and_reported(tmp_home: Path, catalogued: Path) -> None:
    (catalogued / "beach.jpg.xmp").write_text("<x:xmpmeta><unclosed>", encoding="utf-8")
    run = photocap(tmp_home, "export", str(catalogued / "beach.jpg"), str(catalogued / "park.png"), "--sidecar")
    assert run.exit_code == 3
    assert "beach.jpg: existing sidecar" in run.stderr and "not well-formed" in run.stderr
    assert (catalogued / "beach.jpg.xmp").read_text(encoding="utf-8") == "<x:xmpmeta><unclosed>"


# --------------------------------------------------------------------------------------- user captions


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append((dict(attrs)["src"] or "", dict(attrs)["alt"] or ""))


def images_in_page(page: Path) -> list[tuple[str, str]]:
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.images


def test_a_user_caption_wins_in_export_and_search(tmp_home: Path, catalogued: Path, tmp_path: Path) -> None:
    assert photocap(tmp_home, "rebuild-index").exit_code == 0
    beach = catalogued / "beach.jpg"
    mine = 'Mia\'s "first" <sandcastle> & a dog'
    saved = photocap(tmp_home, "caption", "--set", str(beach), mine)
    assert saved.exit_code == 0, saved.output

    hits = json_lines(photocap(tmp_home, "search", "sandcastle", "--json").stdout)
    assert [(hit["path"], hit["caption"]) for hit in hits] == [(str(beach), mine)]  # no sync step needed
    assert photocap(tmp_home, "search", "runs", "--json").exit_code == 1  # the model's words are gone
    [hit] = json_lines(photocap(tmp_home, "search", "beach", "--json").stdout)  # the file's name stays
    assert hit["matched"] == {"names": ["beach"]}

    run = photocap(tmp_home, "export", str(beach), str(catalogued / "park.png"), "--to", str(tmp_path / "out"),
                   "--json", "--manifest", "html")
    assert run.exit_code == 0, run.output
    first = json_lines(run.stdout)[0]
    assert (first["alt_text"], first["model"], first["caption_source"]) == (mine, None, "user")
    with Image.open(tmp_path / "out" / "beach.jpg") as image:
        assert image.getexif()[0x010E] == mine
    page = (tmp_path / "out" / "manifest.html").read_text(encoding="utf-8")
    assert "<sandcastle>" not in page and "&lt;sandcastle&gt;" in page and "&quot;first&quot;" in page
    assert images_in_page(tmp_path / "out" / "manifest.html") == [("beach.jpg", mine),
                                                                  ("park.png", CAPTIONS["park.png"])]

    assert photocap(tmp_home, "caption", "--clear", str(beach)).exit_code == 0
    again = photocap(tmp_home, "export", str(beach), "--to", str(tmp_path / "again"), "--json")
    assert json_lines(again.stdout)[0]["alt_text"] == CAPTIONS["beach.jpg"]
    assert photocap(tmp_home, "search", "sandcastle").exit_code == 1

    not_catalogued = photocap(tmp_home, "caption", "--set", str(tmp_path / "elsewhere.jpg"), "a photo")
    assert not_catalogued.exit_code == 2 and "no such file" in not_catalogued.stderr
    assert photocap(tmp_home, "caption", "--set", str(beach), "  ").exit_code == 2
    assert photocap(tmp_home, "caption", str(beach), "--clear", str(beach)).exit_code == 2


# ------------------------------------------------------------------------------------------- manifests


def test_manifests_list_file_alt_text_and_model(tmp_home: Path, catalogued: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(catalogued / "beach.jpg"), str(catalogued / "park.png"), "--to", str(out),
                   "--manifest", "json")
    assert run.exit_code == 0, run.output
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [(row["file"], row["alt_text"], row["model"]) for row in rows] == [
        ("beach.jpg", CAPTIONS["beach.jpg"], MODEL), ("park.png", CAPTIONS["park.png"], MODEL)]

    # Without --to: a manifest only, naming the originals relative to where it is.
    listing = tmp_path / "lists" / "alt.csv"
    listing.parent.mkdir()
    run = photocap(tmp_home, "export", str(catalogued / "snow.webp"), "--manifest", "csv", "--manifest-file",
                   str(listing))
    assert run.exit_code == 0, run.output
    with listing.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["file"], row["alt_text"], row["model"], row["caption_source"]) for row in rows] == [
        ("../photos/snow.webp", CAPTIONS["snow.webp"], MODEL, "model")]
    assert not (catalogued / "snow.webp.xmp").exists()

    html_file = tmp_path / "page.html"
    run = photocap(tmp_home, "export", str(catalogued), "--manifest", "html", "--manifest-file", str(html_file))
    assert run.exit_code == 3  # pending.jpg has no caption yet
    assert f"error: {catalogued / 'pending.jpg'}: no caption yet" in run.stderr
    images = images_in_page(html_file)
    assert len(images) == len(CAPTIONS) + 1
    assert all((tmp_path / unquote_to_bytes(src).decode("utf-8", "surrogateescape")).exists() for src, _ in images)


# -------------------------------------------------------------------------------------------- keywords

TAGGER = "photocap-test-tagger"
MODEL_TAGS = {
    "beach.jpg": [("dog", 0.97), ("golden retriever", 0.71), ("beach", 0.55)],
    "park.png": [("swing", 0.8), ("bench", 0.4)],
    "snow.webp": [("alp", 0.9)],
}
BEACH_KEYWORDS = ["café", "grandma", "dog", "golden retriever"]  # the user's own first, then the model's
BEACH_PATHS = ["café", "grandma", "animal|dog", "animal|dog|retriever|golden retriever"]
DC_SUBJECT = "{http://purl.org/dc/elements/1.1/}subject"
LR_SUBJECT = "{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject"

# darktable's sidecar as a user left it: their own keywords "holiday" and "Dog", a Lightroom-style hierarchy.
KEYWORDED_SIDECAR = DARKTABLE_SIDECAR.replace(
    'xmlns:darktable="http://darktable.sf.net/"',
    'xmlns:darktable="http://darktable.sf.net/"\n    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"',
).replace(
    "     <rdf:li>holiday</rdf:li>\n",
    "     <rdf:li>holiday</rdf:li>\n     <rdf:li>Dog</rdf:li>\n",
).replace(
    "   <dc:description>",
    "   <lr:hierarchicalSubject>\n    <rdf:Bag>\n     <rdf:li>places|holiday</rdf:li>\n    </rdf:Bag>\n"
    "   </lr:hierarchicalSubject>\n   <dc:description>",
)


def save_model_tags(home: Path, photos: dict[Path, list[tuple[str, float]]]) -> None:
    """Index results with tags for already captioned photos, through the catalog's write path."""
    with Catalog.open(home) as catalog:
        rows = {path: catalog.photo_by_path(str(path)) for path in photos}
        catalog.save_batch_results([
            PhotoResult(photo_id=row["id"], caption=row["caption"], model_id=MODEL, model_checksum="c0ffee",
                        tags=photos[path], tagger_id=TAGGER)
            for path, row in rows.items()
        ])


@pytest.fixture
def tagged(tmp_home: Path, catalogued: Path) -> Path:
    """The catalogued library with the tagger's tags on three photos, and the user's own edits of beach.jpg's
    tags made with `photocap tag`: two words added, one of the model's taken away."""
    save_model_tags(tmp_home, {catalogued / name: tags for name, tags in MODEL_TAGS.items()})
    edit = photocap(tmp_home, "tag", str(catalogued / "beach.jpg"), "--add", "Grandma", "--add", "café",
                    "--remove", "beach")
    assert edit.exit_code == 0, edit.output
    return catalogued


def xmp_bag(xmp: bytes, name: str) -> list[str] | None:
    """The items of the rdf:Bag property `name` (one in the document), or None when there is none."""
    found = list(ET.fromstring(xmp).iter(name))
    if not found:
        return None
    assert len(found) == 1 and [child.tag for child in found[0]] == [f"{{{RDF}}}Bag"]
    return [item.text for item in found[0].find(f"{{{RDF}}}Bag")]


def exiv2_read(data: bytes, capfd: pytest.CaptureFixture[str]) -> tuple[dict, dict]:
    """The XMP and IPTC of a file (an image or a sidecar) as exiv2 reads them; exiv2 must not complain."""
    capfd.readouterr()
    with pyexiv2.ImageData(data) as image:
        found = image.read_xmp(), image.read_iptc()
    complaints = "".join(capfd.readouterr())
    assert "[warn]" not in complaints and "[error]" not in complaints, complaints
    return found


def photoshop_segments(data: bytes) -> list[bytes]:
    return [segment for segment in jpeg_parts(data)[0] if segment[1] == 0xED]


def test_tags_are_embedded_as_xmp_and_iptc_keywords_in_a_jpeg_copy(tmp_home: Path, tagged: Path, tmp_path: Path,
                                                                    capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(tagged / "beach.jpg"), str(tagged / "été 🌸.jpg"), "--to", str(out),
                   "--json")
    assert run.exit_code == 0, run.output
    assert [line["tags"] for line in json_lines(run.stdout)] == [BEACH_KEYWORDS, []]

    data = (out / "beach.jpg").read_bytes()
    xmp, iptc = exiv2_read(data, capfd)
    assert xmp["Xmp.dc.subject"] == BEACH_KEYWORDS  # the user's "beach" removal wins over the model
    assert xmp["Xmp.lr.hierarchicalSubject"] == BEACH_PATHS  # a word the tag map does not know stands alone
    assert xmp["Xmp.xmp.Rating"] == "5"  # what the photo's XMP held stays
    assert iptc["Iptc.Application2.Keywords"] == BEACH_KEYWORDS
    assert iptc["Iptc.Application2.Caption"] == CAPTIONS["beach.jpg"]
    assert iptc["Iptc.Envelope.CharacterSet"] == "\x1b%G"  # UTF-8
    packet = jpeg_xmp(data)
    assert xmp_bag(packet, DC_SUBJECT) == BEACH_KEYWORDS and xmp_bag(packet, LR_SUBJECT) == BEACH_PATHS
    assert xmp_alt_texts(packet) == {DC_DESCRIPTION: CAPTIONS["beach.jpg"], IPTC_ALT_TEXT: CAPTIONS["beach.jpg"]}
    assert len(photoshop_segments(data)) == 1
    assert jpeg_parts(data)[1] == jpeg_parts((tagged / "beach.jpg").read_bytes())[1]  # image data untouched
    with Image.open(out / "beach.jpg") as image:
        assert image.getexif()[0x010F] == "Canon"

    untagged = (out / "été 🌸.jpg").read_bytes()
    xmp, iptc = exiv2_read(untagged, capfd)
    assert "Xmp.dc.subject" not in xmp and "Xmp.lr.hierarchicalSubject" not in xmp
    assert xmp_bag(jpeg_xmp(untagged), DC_SUBJECT) is None and xmp_bag(jpeg_xmp(untagged), LR_SUBJECT) is None
    assert "Iptc.Application2.Keywords" not in iptc
    assert iptc["Iptc.Application2.Caption"] == CAPTIONS["été 🌸.jpg"]


def test_png_and_webp_copies_carry_the_keywords_in_their_xmp(tmp_home: Path, tagged: Path, tmp_path: Path,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(tagged / "park.png"), str(tagged / "snow.webp"), "--to", str(out))
    assert run.exit_code == 0, run.output
    for name, paths in (("park.png", ["toy|swing", "furniture|bench"]), ("snow.webp", ["mountain|alp"])):
        xmp, _ = exiv2_read((out / name).read_bytes(), capfd)
        assert xmp["Xmp.dc.subject"] == [word for word, _ in MODEL_TAGS[name]]
        assert xmp["Xmp.lr.hierarchicalSubject"] == paths
        assert pixels(out / name) == pixels(tagged / name)


def test_sidecar_keywords_merge_with_the_users_own_and_follow_tag_edits(tmp_home: Path, tagged: Path,
                                                                        capfd: pytest.CaptureFixture[str]) -> None:
    beach, sidecar = tagged / "beach.jpg", tagged / "beach.jpg.xmp"
    sidecar.write_text(KEYWORDED_SIDECAR, encoding="utf-8")
    assert photocap(tmp_home, "export", str(beach), "--sidecar").exit_code == 0

    xmp, _ = exiv2_read(sidecar.read_bytes(), capfd)
    # "Dog" is the user's own keyword: photocap's "dog" does not repeat it (nor, below, take it away).
    assert xmp["Xmp.dc.subject"] == ["holiday", "Dog", "café", "grandma", "golden retriever"]
    assert xmp["Xmp.lr.hierarchicalSubject"] == ["places|holiday", *BEACH_PATHS]
    assert xmp["Xmp.xmp.Rating"] == "4"
    root = ET.fromstring(sidecar.read_bytes())
    assert root.find(f".//{{{RDF}}}Description").get("{http://darktable.sf.net/}xmp_version") == "5"
    history = root.find(".//{http://darktable.sf.net/}history")
    assert history.find(f".//{{{RDF}}}li").get("{http://darktable.sf.net/}operation") == "exposure"
    assert xmp_alt_texts(sidecar.read_bytes())[DC_DESCRIPTION] == CAPTIONS["beach.jpg"]

    # The user takes two of the model's tags away: photocap's keywords go, the user's own stay.
    edit = photocap(tmp_home, "tag", str(beach), "--remove", "dog", "--remove", "golden retriever")
    assert edit.exit_code == 0, edit.output
    assert photocap(tmp_home, "export", str(beach), "--sidecar").exit_code == 0
    xmp, _ = exiv2_read(sidecar.read_bytes(), capfd)
    assert xmp["Xmp.dc.subject"] == ["holiday", "Dog", "café", "grandma"]
    assert xmp["Xmp.lr.hierarchicalSubject"] == ["places|holiday", "café", "grandma"]

    merged = sidecar.read_bytes()
    assert photocap(tmp_home, "export", str(beach), "--sidecar").exit_code == 0
    assert sidecar.read_bytes() == merged  # exporting again changes nothing


def test_iptc_the_original_holds_is_kept_and_merged(tmp_home: Path, catalogued: Path, tmp_path: Path,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    original = camera_jpeg(catalogued / "harbour.jpg")
    with pyexiv2.Image(str(original)) as image:  # as an older tool leaves it: Latin-1, no character set given
        image.modify_iptc({"Iptc.Application2.Byline": "Zoë Ørsted", "Iptc.Application2.Keywords": ["holiday", "sea"],
                           "Iptc.Application2.Caption": "an old caption"}, encoding="latin-1")
    with Catalog.open(tmp_home) as catalog:
        scan_folders(catalog, [catalogued])
        catalog.save_batch_results([PhotoResult(
            photo_id=catalog.photo_by_path(str(original))["id"], caption="boats in a harbour", model_id=MODEL,
            model_checksum="c0ffee", tags=[("boat", 0.9), ("sailboat", 0.6)], tagger_id=TAGGER)])

    run = photocap(tmp_home, "export", str(original), "--to", str(tmp_path / "out"))
    assert run.exit_code == 0, run.output
    data = (tmp_path / "out" / "harbour.jpg").read_bytes()
    xmp, iptc = exiv2_read(data, capfd)
    assert iptc["Iptc.Application2.Byline"] == ["Zoë Ørsted"]  # re-encoded: the record now says UTF-8
    assert iptc["Iptc.Application2.Keywords"] == ["holiday", "sea", "boat", "sailboat"]
    assert iptc["Iptc.Application2.Caption"] == "boats in a harbour"
    assert xmp["Xmp.dc.subject"] == ["holiday", "sea", "boat", "sailboat"]  # the two kept in step
    assert xmp["Xmp.lr.hierarchicalSubject"] == ["vehicle|boat", "vehicle|boat|sailboat"]
    assert len(photoshop_segments(data)) == 1
    assert jpeg_parts(data)[1] == jpeg_parts(original.read_bytes())[1]


def test_a_photoshop_block_split_over_two_segments_is_kept_whole(tmp_home: Path, catalogued: Path, tmp_path: Path,
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    """A block too big for one APP13 segment (here a 70 kB private resource, as a large thumbnail would be) is
    read across its segments and written back split, byte for byte, beside the new IPTC."""
    original = catalogued / "scan.jpg"
    draw_photo(original, seed=9)
    resource = os.urandom(70_001)
    block = b"8BIM\x0f\xa0\x00\x00" + len(resource).to_bytes(4, "big") + resource + b"\x00"
    header = b"Photoshop 3.0\x00"
    segments = b"".join(b"\xff\xed" + (len(header) + len(part) + 2).to_bytes(2, "big") + header + part
                        for part in (block[:60_000], block[60_000:]))
    data = original.read_bytes()
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    original.write_bytes(data[:app0_end] + segments + data[app0_end:])
    with Catalog.open(tmp_home) as catalog:
        scan_folders(catalog, [catalogued])
        catalog.save_batch_results([PhotoResult(
            photo_id=catalog.photo_by_path(str(original))["id"], caption="a scanned page", model_id=MODEL,
            model_checksum="c0ffee", tags=[("dog", 0.8)], tagger_id=TAGGER)])

    assert photocap(tmp_home, "export", str(original), "--to", str(tmp_path / "out")).exit_code == 0
    copy = (tmp_path / "out" / "scan.jpg").read_bytes()
    written = photoshop_segments(copy)
    assert len(written) == 2 and all(segment[4:].startswith(header) for segment in written)
    assert resource in b"".join(segment[4 + len(header):] for segment in written)
    _, iptc = exiv2_read(copy, capfd)
    assert (iptc["Iptc.Application2.Keywords"], iptc["Iptc.Application2.Caption"]) == (["dog"], "a scanned page")
    assert pixels(tmp_path / "out" / "scan.jpg") == pixels(original)


class _Figures(HTMLParser):
    """Each figure's image alt text and the tags listed under its caption."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[tuple[str, list[str]]] = []
        self._in_tag = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.figures.append((dict(attrs)["alt"] or "", []))
        self._in_tag = tag == "li"

    def handle_data(self, data: str) -> None:
        if self._in_tag:
            self.figures[-1][1].append(data)
            self._in_tag = False


def test_manifests_list_the_tags(tmp_home: Path, tagged: Path, tmp_path: Path) -> None:
    photos = [str(tagged / name) for name in ("beach.jpg", "park.png", "été 🌸.jpg")]
    expected = [BEACH_KEYWORDS, ["swing", "bench"], []]
    out = tmp_path / "out"
    assert photocap(tmp_home, "export", *photos, "--to", str(out), "--manifest", "json").exit_code == 0
    rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [row["tags"] for row in rows] == expected
    assert list(rows[0]) == ["file", "source", "alt_text", "model", "caption_source", "tags", "place",  # only added
                             "alt_text_from", "confidence"]

    listing = tmp_path / "alt.csv"
    assert photocap(tmp_home, "export", *photos, "--manifest", "csv", "--manifest-file", str(listing)).exit_code == 0
    with listing.open(encoding="utf-8", newline="") as file:
        assert [row["tags"] for row in csv.DictReader(file)] == ["; ".join(tags) for tags in expected]

    page = tmp_path / "page.html"
    assert photocap(tmp_home, "export", *photos, "--manifest", "html", "--manifest-file", str(page)).exit_code == 0
    parser = _Figures()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.figures == [(CAPTIONS[os.path.basename(photo)], tags) for photo, tags in zip(photos, expected,
                                                                                                 strict=True)]


# ------------------------------------------------------------------------------------ errors, exit codes


def test_exit_codes_and_one_line_errors(tmp_home: Path, catalogued: Path, tmp_path: Path) -> None:
    out, beach = tmp_path / "out", catalogued / "beach.jpg"
    stranger = tmp_path / "stranger.jpg"
    draw_photo(stranger)

    partial = photocap(tmp_home, "export", str(beach), str(stranger), "--to", str(out))
    assert partial.exit_code == 3
    assert partial.stderr.strip() == f"error: {stranger}: not in the catalog (run `photocap index` on its folder first)"
    assert photocap(tmp_home, "export", str(stranger), str(tmp_path / "nothing.jpg"), "--to", str(out)).exit_code == 2

    first = (out / "beach.jpg").read_bytes()
    (catalogued / "park.png").touch()  # no new content, but the caption may now be stale
    refused = photocap(tmp_home, "export", str(beach), str(catalogued / "snow.webp"), "--to", str(out))
    assert refused.exit_code == 2 and "already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (out / "snow.webp").exists()  # refused before anything was written
    replaced = photocap(tmp_home, "export", str(beach), str(catalogued / "snow.webp"), "--to", str(out),
                        "--overwrite")
    assert replaced.exit_code == 0 and (out / "beach.jpg").read_bytes() == first and (out / "snow.webp").exists()
    stale = photocap(tmp_home, "export", str(catalogued / "park.png"), "--to", str(out))
    assert stale.exit_code == 2 and "changed since it was captioned" in stale.stderr

    into_originals = photocap(tmp_home, "export", str(beach), "--to", str(catalogued), "--overwrite")
    assert into_originals.exit_code == 2 and "the original photo itself" in into_originals.stderr

    for args in ([], ["--to", str(out)], [str(beach), "--to", str(out), "--sidecar"], [str(beach)],
                 [str(beach), "--manifest", "json"], [str(beach), "--sidecar-style", "lightroom"],
                 ["--query", "dog", "--to", str(out)]):  # no search index yet
        run = photocap(tmp_home, "export", *args)
        assert run.exit_code == 2, args
        assert run.stderr.startswith("Error: ") and len(run.stderr.strip().splitlines()) == 1, run.stderr

    assert photocap(tmp_home, "rebuild-index").exit_code == 0
    found = photocap(tmp_home, "export", "--query", "snowy mountain", "--to", str(tmp_path / "found"), "--json")
    assert [line["source"] for line in json_lines(found.stdout)] == [str(catalogued / "snow.webp")]
    assert photocap(tmp_home, "export", "--query", "helicopter", "--to", str(tmp_path / "found")).exit_code == 1
    malformed = photocap(tmp_home, "export", "--query", "dog AND", "--to", str(tmp_path / "found"))
    assert malformed.exit_code == 2 and malformed.stderr.startswith("Error: bad query:")

    elsewhere = tmp_path / "empty-home"
    no_catalog = photocap(elsewhere, "export", str(beach), "--to", str(out))
    assert no_catalog.exit_code == 2 and "no catalog" in no_catalog.stderr and not elsewhere.exists()


# ------------------------------------------------------------------------------------------- atomicity


def test_the_atomic_writer_leaves_no_temp_and_no_partial_file_when_it_fails(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kept.txt").write_bytes(b"the user's file")

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    for name, replace in (("new.txt", False), ("kept.txt", True)):
        with pytest.raises(OSError, match="simulated"):
            write_atomically(str(tmp_path / name), b"x" * 100_000, replace=replace)
    assert sorted(os.listdir(tmp_path)) == ["kept.txt"]
    assert (tmp_path / "kept.txt").read_bytes() == b"the user's file"


# A real `photocap export` process whose first file write stalls in fsync, so the test can SIGKILL it there.
KILLABLE_EXPORT = textwrap.dedent("""
    import os, sys, time
    def stalled_fsync(fd):
        print("writing", flush=True)
        time.sleep(60)
    os.fsync = stalled_fsync
    from photocap.cli import main
    main(["--home", sys.argv[1], "export", *sys.argv[2:]])
""")


def test_an_export_killed_while_writing_leaves_no_partial_file(tmp_home: Path, catalogued: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = [str(tmp_home), str(catalogued / "beach.jpg"), "--to", str(out)]
    exporter = subprocess.Popen([sys.executable, "-c", KILLABLE_EXPORT, *args], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert exporter.stdout.readline().strip() == "writing", exporter.stderr.read()
        os.kill(exporter.pid, signal.SIGKILL)
    finally:
        exporter.kill()
        exporter.wait()
    assert not (out / "beach.jpg").exists()
    assert all(name.startswith(".") for name in os.listdir(out))  # at most the hidden temp file

    run = photocap(tmp_home, "export", str(catalogued / "beach.jpg"), "--to", str(out))
    assert run.exit_code == 0, run.output
    assert os.listdir(out) == ["beach.jpg"]  # the dead export's temp file is cleaned up
    with Image.open(out / "beach.jpg") as image:
        assert image.getexif()[0x010E] == CAPTIONS["beach.jpg"]


def test_caption_set_and_export_never_import_torch(tmp_home: Path, catalogued: Path, tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        from photocap.cli import main
        home, photo, out = sys.argv[1:]
        for args in (["caption", "--set", photo, "a dog digs in the sand"], ["export", photo, "--to", out]):
            try:
                main(["--home", home, *args])
            except SystemExit as done:
                assert not done.code, done.code
        print("torch" in sys.modules)
    """)
    run = subprocess.run([sys.executable, "-c", script, str(tmp_home), str(catalogued / "beach.jpg"),
                          str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"


# ------------------------------------------------------------------------------------ unsure captions


def save_with_confidence(home: Path, photos: dict[Path, tuple[float, list[tuple[str, float]]]]) -> None:
    """Model captions with their confidence (and tags), through the catalog's write path."""
    with Catalog.open(home) as catalog:
        rows = {path: catalog.photo_by_path(str(path)) for path in photos}
        catalog.save_batch_results([
            PhotoResult(photo_id=row["id"], caption=row["caption"], model_id=MODEL, model_checksum="c0ffee",
                        tags=photos[path][1], tagger_id=TAGGER, confidence=photos[path][0])
            for path, row in rows.items()
        ])


def test_unsure_captions_are_exported_as_their_tags_or_not_at_all(tmp_home: Path, catalogued: Path,
                                                                 tmp_path: Path) -> None:
    save_with_confidence(tmp_home, {
        catalogued / "beach.jpg": (0.91, MODEL_TAGS["beach.jpg"]),
        catalogued / "park.png": (0.22, [("animal", 0.9), *MODEL_TAGS["park.png"], ("dog", 0.35)]),
        catalogued / "snow.webp": (0.48, []),
    })
    names = ["beach.jpg", "park.png", "snow.webp"]
    sources = [str(catalogued / name) for name in names]

    as_tags = photocap(tmp_home, "export", *sources, "--to", str(tmp_path / "tags"), "--json")
    assert as_tags.exit_code == 0, as_tags.output
    exported = {Path(item["source"]).name: item for item in json_lines(as_tags.stdout)}
    assert exported["beach.jpg"]["alt_text"] == CAPTIONS["beach.jpg"]
    assert exported["beach.jpg"]["alt_text_from"] == "caption" and exported["beach.jpg"]["confidence"] == 0.91
    # Its tags instead, a kind that another names more closely left out ("dog", not "animal, ... dog").
    assert exported["park.png"]["alt_text"] == "swing, bench, dog" and exported["park.png"]["alt_text_from"] == "tags"
    # Without tags to say instead, an unsure caption leaves the photo without alt text.
    assert exported["snow.webp"]["alt_text"] is None and exported["snow.webp"]["alt_text_from"] == "none"
    assert "1 photo with a caption under confidence 0.50: their tags written as alt text instead" in as_tags.stderr
    assert "1 photo with a caption under confidence 0.50: no alt text written" in as_tags.stderr
    with Image.open(tmp_path / "tags" / "park.png") as copy:
        assert copy.text["Description"] == "swing, bench, dog"
        alt_text = "swing, bench, dog"
        assert xmp_alt_texts(copy.info["xmp"]) == {DC_DESCRIPTION: alt_text, IPTC_ALT_TEXT: alt_text}

    shown = photocap(tmp_home, "show", sources[0], sources[1], "--json")
    assert [json.loads(line)["unsure"] for line in shown.stdout.splitlines()] == [False, True]
    caption_line = photocap(tmp_home, "show", sources[1]).stdout.splitlines()[1]
    assert "confidence 0.22" in caption_line and caption_line.endswith("unsure: more likely wrong than right]")

    nothing = photocap(tmp_home, "export", *sources, "--to", str(tmp_path / "none"), "--unsure", "none",
                       "--min-confidence", "0.5", "--manifest", "csv")
    assert nothing.exit_code == 0, nothing.output
    assert "2 photos with a caption under confidence 0.50: no alt text written" in nothing.stderr
    with Image.open(tmp_path / "none" / "park.png") as copy:
        xmp = copy.info["xmp"]
        assert "Description" not in copy.text
    assert xmp_alt_texts(xmp) == {}  # no alt text, and the keywords all the same
    assert xmp_bag(xmp, DC_SUBJECT) == ["animal", "swing", "bench", "dog"]
    with open(tmp_path / "none" / "manifest.csv", encoding="utf-8") as file:
        rows = {row["source"].rsplit("/", 1)[-1]: row for row in csv.DictReader(file)}
    assert rows["park.png"]["alt_text"] == "" and rows["park.png"]["alt_text_from"] == "none"
    assert rows["beach.jpg"]["alt_text"] == CAPTIONS["beach.jpg"]

    # A lower threshold writes the 0.48 caption; 0 writes every caption; the user's own caption is always written.
    lower = photocap(tmp_home, "export", *sources, "--manifest", "json", "--manifest-file",
                     str(tmp_path / "lower.json"), "--min-confidence", "0.3", "--json")
    assert {Path(i["source"]).name: i["alt_text_from"] for i in json_lines(lower.stdout)} == {
        "beach.jpg": "caption", "park.png": "tags", "snow.webp": "caption"}
    every = photocap(tmp_home, "export", *sources, "--manifest", "json", "--manifest-file",
                     str(tmp_path / "every.json"), "--min-confidence", "0", "--json")
    assert [i["alt_text"] for i in json_lines(every.stdout)] == [CAPTIONS[name] for name in names]
    assert "under confidence" not in every.stderr
    assert photocap(tmp_home, "caption", "--set", str(catalogued / "park.png"), "swings in a park").exit_code == 0
    mine = photocap(tmp_home, "export", sources[1], "--manifest", "json", "--manifest-file",
                    str(tmp_path / "mine.json"), "--json")
    assert json_lines(mine.stdout)[0]["alt_text"] == "swings in a park"
    assert json_lines(mine.stdout)[0]["alt_text_from"] == "caption"

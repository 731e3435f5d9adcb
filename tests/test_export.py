"""`photocap export` and `photocap caption --set/--clear`: a real catalog (filled through its own write path),
real JPEG, PNG, WebP and GIF files drawn with Pillow, the command line run through click's CliRunner."""

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

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, draw_photo
from PIL import Image

from photocap.atomic import write_atomically
from photocap.catalog import Catalog, PhotoResult
from photocap.cli import main
from photocap.scan import scan_folders

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
                                       "model": MODEL, "caption_source": "model", "embedded": True}]

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
    assert photocap(tmp_home, "search", "beach", "--json").exit_code == 1  # the model's words are gone

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
    assert not_catalogued.exit_code == 2 and "not in the catalog" in not_catalogued.stderr
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
    assert photocap(tmp_home, "export", "--query", "xylophone", "--to", str(tmp_path / "found")).exit_code == 1
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

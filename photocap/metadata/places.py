"""Where a photo was taken, by name: offline reverse geocoding of GPS coordinates to a town or city, its region
(first-level division: state, province) and its country, from GeoNames data shipped in photocap/assets/places.npz
(built by train/build_places.py; CC BY 4.0, see photocap/assets/PLACES.md). Never the network.

Places are kept in 1-degree cells (sorted by cell, with where each cell starts), so a lookup reads only the cells
around the point. Of the places within MAX_KM, the one ranked first is the nearest after weighing by population
(distance / population^POPULATION_EXPONENT): a point 1 km from Lisbon's centre and 300 m from a district of 5,000
people is in Lisbon, a point in a village is in the village. A point farther than MAX_KM from every place (at sea,
in a desert) has no place. numpy and the asset are loaded on the first lookup, not on import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ASSET = Path(__file__).resolve().parent.parent / "assets" / "places.npz"
FORMAT = "photocap.places/1"
PLACE_SOURCES = ("gps", "xmp", "iptc")  # GPS coordinates geocoded, or location fields another application wrote
SOURCE_NAMES = {"gps": "GPS, named offline from GeoNames", "xmp": "XMP location fields", "iptc": "IPTC location fields"}
CELLS = 180 * 360
KM_PER_DEGREE = 111.195  # of latitude, on a sphere of the Earth's mean radius
MAX_KM = 100.0
POPULATION_EXPONENT = 0.2
MIN_POPULATION = 1000  # a district or village of unknown population counts as this many


class PlacesAssetError(Exception):
    """The shipped places file is missing or damaged; the message is one line."""


@dataclass(frozen=True)
class Place:
    """A photo's place: names (any may be None) and coordinates (None when only names were written)."""

    city: str | None = None
    region: str | None = None
    country: str | None = None
    country_code: str | None = None
    county: str | None = None  # the second-level division (a district's city, a county)
    sublocation: str | None = None  # a place inside the city (IPTC Sub-location), as written
    lat: float | None = None
    lon: float | None = None
    source: str = "gps"  # one of PLACE_SOURCES

    def names(self) -> list[str]:
        """The place's names from the most to the least precise, each once: "Intendente", "Lisbon", "Portugal"."""
        found: list[str] = []
        for name in (self.sublocation, self.city, self.county, self.region, self.country):
            if name and name.casefold() not in {f.casefold() for f in found}:
                found.append(name)
        return found

    def label(self) -> str:
        """One line for people: "Nazaré, Leiria, Portugal"."""
        return ", ".join(self.names())

    def as_json(self) -> dict[str, Any]:
        """What `show --json` and the web app's JSON say of the place."""
        return {"name": self.label() or None, "city": self.city, "county": self.county, "region": self.region,
                "country": self.country, "country_code": self.country_code, "sublocation": self.sublocation,
                "lat": self.lat, "lon": self.lon, "source": self.source,
                "source_name": SOURCE_NAMES.get(self.source, self.source)}

    def described(self) -> str:
        """One line for people, with where it comes from: "Lisbon, Portugal (38.72230, -9.13930; from GPS ...)"."""
        where = f"{self.lat:.5f}, {self.lon:.5f}; " if self.lat is not None and self.lon is not None else ""
        return f"{self.label() or 'no named place'} ({where}from {SOURCE_NAMES.get(self.source, self.source)})"

    def search_text(self) -> str:
        """What a search for the place may say: every name."""
        return " ".join(self.names())


def cell_of(lat: Any, lon: Any) -> np.ndarray:
    """The 1-degree cell of each point: row (latitude) * 360 + column (longitude), columns wrapping at 180."""
    import numpy as np

    row = np.clip(np.floor(np.asarray(lat, dtype=np.float64) + 90.0), 0, 179).astype(np.int64)
    column = np.floor(np.asarray(lon, dtype=np.float64) + 180.0).astype(np.int64) % 360
    return row * 360 + column


def place_weight(population: Any) -> np.ndarray:
    import numpy as np

    return np.maximum(np.asarray(population, dtype=np.float64), MIN_POPULATION) ** POPULATION_EXPONENT


def valid_coordinates(lat: float, lon: float) -> bool:
    """Real coordinates: in range, finite, and not the 0,0 that devices write when they have no fix."""
    return (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0
            and not (lat == 0.0 and lon == 0.0))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


class Geocoder:
    """The places of photocap/assets/places.npz and the lookup over them."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        import numpy as np

        self._lat = columns["lat"].astype(np.float64)
        self._lon = columns["lon"].astype(np.float64)
        self._weight = columns["weight"].astype(np.float64)
        self._cell_start = columns["cell_start"]
        self._city, self._county, self._region = columns["city"], columns["county"], columns["region"]
        self._country = columns["country"]
        self._strings = _texts(columns["strings"])
        self._codes = _texts(columns["country_codes"])
        self._country_names = _texts(columns["country_names"])
        self.source = bytes(columns["source"]).decode()
        self._candidates_of: dict[int, np.ndarray] = {}

    @classmethod
    def load(cls, path: str | Path = ASSET) -> Geocoder:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                columns = {name: data[name] for name in data.files}
            if bytes(columns["format"]).decode() != FORMAT:
                raise PlacesAssetError(f"{path}: not a {FORMAT} file")
            return cls(columns)
        except (OSError, ValueError, KeyError) as error:
            raise PlacesAssetError(f"cannot read the places file {path}: {error}") from None

    def __len__(self) -> int:
        return len(self._lat)

    def place_at(self, lat: float, lon: float) -> Place | None:
        """The place at a point, or None (no place within MAX_KM, or not a real point)."""
        if not valid_coordinates(lat, lon):
            return None
        return self.places_at([lat], [lon])[0]

    def places_at(self, lats: Any, lons: Any) -> list[Place | None]:
        """The place of each point, as `place_at`; fastest when given many points at once."""
        found = self.nearest(lats, lons)
        return [self._place(int(i), float(lat), float(lon)) if i >= 0 else None
                for i, lat, lon in zip(found, lats, lons, strict=True)]

    def nearest(self, lats: Any, lons: Any) -> np.ndarray:
        """For each point, the index of its place (see the module), or -1. Points are taken a cell at a time."""
        import numpy as np

        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        found = np.full(len(lat), -1, dtype=np.int64)
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        cells = cell_of(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0))
        order = np.argsort(cells, kind="stable")
        order = order[ok[order]]
        if not len(order):
            return found
        sorted_cells = cells[order]
        starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        for start, end in zip(starts, [*starts[1:], len(order)], strict=True):
            members = order[start:end]
            candidates = self._candidates(int(sorted_cells[start]))
            if not len(candidates):
                continue
            qlat, qlon = lat[members][:, None], lon[members][:, None]
            dy = (self._lat[candidates][None, :] - qlat) * KM_PER_DEGREE
            dlon = (self._lon[candidates][None, :] - qlon + 180.0) % 360.0 - 180.0
            dx = dlon * np.cos(np.radians(qlat)) * KM_PER_DEGREE
            km = np.sqrt(dx * dx + dy * dy)
            ranked = np.where(km <= MAX_KM, km / self._weight[candidates][None, :], np.inf)
            best = np.argmin(ranked, axis=1)
            hit = np.isfinite(ranked[np.arange(len(members)), best])
            found[members[hit]] = candidates[best[hit]]
        return found

    def _candidates(self, cell: int) -> np.ndarray:
        """The places in the cells around `cell` that may lie within MAX_KM of a point in it."""
        import numpy as np

        cached = self._candidates_of.get(cell)
        if cached is not None:
            return cached
        row, column = divmod(cell, 360)
        rows = range(max(row - 1, 0), min(row + 1, 179) + 1)
        widest = min(max(abs(rows[0] - 90), abs(rows[-1] + 1 - 90)), 89.9)
        reach = min(math.ceil(MAX_KM / (KM_PER_DEGREE * math.cos(math.radians(widest)))), 180)
        parts = []
        for r in rows:
            first, last = column - reach, column + reach
            spans = [(first, last)] if reach < 180 else [(0, 359)]
            if reach < 180 and first < 0:
                spans = [(0, last), (first + 360, 359)]
            elif reach < 180 and last > 359:
                spans = [(first, 359), (0, last - 360)]
            for lo, hi in spans:
                parts.append(np.arange(self._cell_start[r * 360 + lo], self._cell_start[r * 360 + hi + 1]))
        candidates = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if len(self._candidates_of) < 4096:
            self._candidates_of[cell] = candidates
        return candidates

    def _place(self, i: int, lat: float, lon: float) -> Place:
        def name(index: int) -> str | None:
            return self._strings[index] if index >= 0 else None

        country = int(self._country[i])
        return Place(city=name(int(self._city[i])), county=name(int(self._county[i])),
                     region=name(int(self._region[i])), country=self._country_names[country] or None,
                     country_code=self._codes[country] or None, lat=round(lat, 6), lon=round(lon, 6), source="gps")


@lru_cache(maxsize=1)
def geocoder() -> Geocoder:
    """The shipped geocoder, loaded once per process."""
    return Geocoder.load(ASSET)


def place_at(lat: float, lon: float) -> Place | None:
    return geocoder().place_at(lat, lon)


def _texts(buffer: np.ndarray) -> list[str]:
    text = bytes(buffer).decode("utf-8")
    return text.split("\n") if text else []

"""Where a photo was taken, by name: offline reverse geocoding of GPS coordinates to a town or city, its region
(first-level division: state, province) and its country, from GeoNames data shipped in photocap/assets/places.npz
(built by train/build_places.py; CC BY 4.0, see photocap/assets/PLACES.md). Never the network.

Of the places within MAX_KM, the one ranked first is the nearest after weighing by population (distance /
population^POPULATION_EXPONENT): a point 1 km from Lisbon's centre and 300 m from a district of 5,000 people is in
Lisbon, a point in a village is in the village. A point farther than MAX_KM from every place (at sea, in a desert)
has no place. numpy and the asset are loaded on the first lookup, not on import.

Places are kept in cells of a quarter of a degree (sorted by cell; where each cell starts is counted at load), so a
lookup reads only the cells around the point: first the ring of cells next to it, which settles it when the best
place found there could not be beaten by any place farther away (the asset holds, for each cell, the largest weight
of any place within MAX_KM of it), else every cell within MAX_KM.
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
FORMAT = "photocap.places/3"
PLACE_SOURCES = ("gps", "xmp", "iptc")  # GPS coordinates geocoded, or location fields another application wrote
SOURCE_NAMES = {"gps": "GPS, named offline from GeoNames", "xmp": "XMP location fields", "iptc": "IPTC location fields"}
CELL_DEGREES = 0.25
ROWS, COLUMNS = round(180 / CELL_DEGREES), round(360 / CELL_DEGREES)
CELLS = ROWS * COLUMNS
KM_PER_DEGREE = 111.195  # of latitude, on a sphere of the Earth's mean radius
CELL_KM = CELL_DEGREES * KM_PER_DEGREE  # a cell's height, and at least its width within its ring (see _ring)
MAX_KM = 100.0
OUTER_REACH = math.ceil(MAX_KM / CELL_KM)  # rows of cells around a point that hold every place within MAX_KM
TOP_WEIGHT_STEPS = 4  # outer_top is stored in quarters of a weight, rounded up
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
    """The grid cell of each point: row (latitude) * COLUMNS + column (longitude), columns wrapping at 180."""
    import numpy as np

    row = np.clip(np.floor((np.asarray(lat, dtype=np.float64) + 90.0) / CELL_DEGREES), 0, ROWS - 1).astype(np.int64)
    column = np.floor((np.asarray(lon, dtype=np.float64) + 180.0) / CELL_DEGREES).astype(np.int64) % COLUMNS
    return row * COLUMNS + column


def ring_columns(row: int, reach: int) -> int:
    """How many columns either side of a cell in `row` make at least `reach` cell heights of width, at the widest
    latitude of the rows within `reach` of it."""
    first_row, last_row = max(row - reach, 0), min(row + reach, ROWS - 1)
    widest = min(max(abs(first_row * CELL_DEGREES - 90), abs((last_row + 1) * CELL_DEGREES - 90)), 89.99)
    return min(math.ceil(reach / math.cos(math.radians(widest))), COLUMNS // 2)


def outer_top_weights(cells: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each cell, the largest weight of the places in the cells within OUTER_REACH of it (every place within
    MAX_KM of any of its points), in TOP_WEIGHT_STEPS rounded up, as uint8; 0 where there is none."""
    import numpy as np

    top = np.zeros(CELLS, dtype=np.float64)
    np.maximum.at(top, cells, weights)
    grid = top.reshape(ROWS, COLUMNS)
    outer = np.zeros_like(grid)
    for row in range(ROWS):
        band = grid[max(row - OUTER_REACH, 0):min(row + OUTER_REACH, ROWS - 1) + 1].max(axis=0)
        reach = ring_columns(row, OUTER_REACH)
        if reach >= COLUMNS // 2:
            outer[row] = band.max()
            continue
        widened = band.copy()
        for shift in range(1, reach + 1):
            np.maximum(widened, np.roll(band, shift), out=widened)
            np.maximum(widened, np.roll(band, -shift), out=widened)
        outer[row] = widened
    return np.minimum(np.ceil(outer.ravel() * TOP_WEIGHT_STEPS), 255).astype(np.uint8)


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


def distances_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """`distance_km` from one point to each of the points (lats[i], lons[i])."""
    import numpy as np

    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(a)))


class Geocoder:
    """The places of photocap/assets/places.npz and the lookup over them."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        import numpy as np

        self._lat = columns["lat"].astype(np.float64)
        self._lon = columns["lon"].astype(np.float64)
        self._weight = columns["weight"].astype(np.float64)
        cells = cell_of(self._lat, self._lon)
        self._cell_start = np.concatenate(([0], np.cumsum(np.bincount(cells, minlength=CELLS)))).astype(np.int64)
        self._city, self._county, self._region = columns["city"], columns["county"], columns["region"]
        self._country = columns["country"]
        self._strings = bytes(columns["strings"])  # UTF-8 names, each from its offset to the next
        self._string_at = columns["string_offsets"]
        self._codes = _texts(columns["country_codes"])
        self._country_names = _texts(columns["country_names"])
        self.source = bytes(columns["source"]).decode()
        self._outer_top = columns["outer_top"]  # per cell: the top weight within MAX_KM, in TOP_WEIGHT_STEPS
        self._rings: dict[int, np.ndarray] = {}

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
        found = self._nearest_one(lat, lon)
        return self._place(found, lat, lon) if found >= 0 else None

    def places_at(self, lats: Any, lons: Any) -> list[Place | None]:
        """The place of each point, as `place_at` (0,0 included); faster a point when given many at once."""
        found = self.nearest(lats, lons)
        return [self._place(int(i), float(lat), float(lon)) if i >= 0 else None
                for i, lat, lon in zip(found, lats, lons, strict=True)]

    def nearest(self, lats: Any, lons: Any) -> np.ndarray:
        """For each point, the index of its place (see the module), or -1. The points of a cell are taken together
        in its ring; those the ring does not settle, one at a time."""
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
            cell = int(sorted_cells[start])
            candidates = self._inner_ring(cell)
            if len(candidates):
                best, score = self._best(candidates, lat[members][:, None], lon[members][:, None])
                settled = score * self._top_of(cell) <= CELL_KM
                found[members[settled]] = best[settled]
                members = members[~settled]
            for i in members:
                found[i] = self._nearest_one(float(lat[i]), float(lon[i]), settle=False)
        return found

    def _nearest_one(self, lat: float, lon: float, *, settle: bool = True) -> int:
        row = min(max(int((lat + 90.0) / CELL_DEGREES), 0), ROWS - 1)
        cell = row * COLUMNS + int(math.floor((lon + 180.0) / CELL_DEGREES)) % COLUMNS
        top = self._top_of(cell)
        if top == 0.0:
            return -1  # no place within MAX_KM of any point of the cell
        if settle:
            candidates = self._inner_ring(cell)
            if len(candidates):
                best, score = self._best_of_one(candidates, lat, lon)
                if score * top <= CELL_KM:
                    return best
        best, score = self._best_of_one(self._ring(cell, OUTER_REACH), lat, lon)
        return best if math.isfinite(score) else -1

    def _top_of(self, cell: int) -> float:
        return float(self._outer_top[cell]) / TOP_WEIGHT_STEPS

    def _best_of_one(self, candidates: np.ndarray, lat: float, lon: float) -> tuple[int, float]:
        import numpy as np

        if not len(candidates):
            return -1, math.inf
        dy = (self._lat[candidates] - lat) * KM_PER_DEGREE
        dx = ((self._lon[candidates] - lon + 180.0) % 360.0 - 180.0) * (math.cos(math.radians(lat)) * KM_PER_DEGREE)
        km = np.sqrt(dx * dx + dy * dy)
        ranked = np.where(km <= MAX_KM, km / self._weight[candidates], np.inf)
        position = int(np.argmin(ranked))
        return int(candidates[position]), float(ranked[position])

    def _best(self, candidates: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The best-ranked candidate of each point (a column of them) and its rank (inf: none within MAX_KM)."""
        import numpy as np

        dy = (self._lat[candidates] - lat) * KM_PER_DEGREE
        dx = ((self._lon[candidates] - lon + 180.0) % 360.0 - 180.0) * (np.cos(np.radians(lat)) * KM_PER_DEGREE)
        km = np.sqrt(dx * dx + dy * dy)
        ranked = np.where(km <= MAX_KM, km / self._weight[candidates], np.inf)
        position = np.argmin(ranked, axis=1)
        return candidates[position], ranked[np.arange(len(position)), position]

    def _inner_ring(self, cell: int) -> np.ndarray:
        """The places of the cells next to `cell` (kept: small, and asked for again by the next photo there)."""
        cached = self._rings.get(cell)
        if cached is None:
            cached = self._ring(cell, 1)
            if len(self._rings) < 100_000:
                self._rings[cell] = cached
        return cached

    def _ring(self, cell: int, reach: int) -> np.ndarray:
        """The places in the cells within `reach` rows of `cell`, and within as many columns as make at least
        `reach` cell heights (CELL_KM each) of width at the ring's widest latitude: every place within reach *
        CELL_KM of a point in the cell."""
        import numpy as np

        row, column = divmod(cell, COLUMNS)
        first_row, last_row = max(row - reach, 0), min(row + reach, ROWS - 1)
        columns = ring_columns(row, reach)
        spans = [(column - columns, column + columns)] if columns < COLUMNS // 2 else [(0, COLUMNS - 1)]
        if spans[0][0] < 0:
            spans = [(0, spans[0][1]), (spans[0][0] + COLUMNS, COLUMNS - 1)]
        elif spans[0][1] >= COLUMNS:
            spans = [(spans[0][0], COLUMNS - 1), (0, spans[0][1] - COLUMNS)]
        parts = [np.arange(self._cell_start[r * COLUMNS + lo], self._cell_start[r * COLUMNS + hi + 1])
                 for r in range(first_row, last_row + 1) for lo, hi in spans]
        return np.concatenate(parts)

    def _place(self, i: int, lat: float, lon: float) -> Place:
        def name(index: int) -> str | None:
            if index < 0:
                return None
            return self._strings[self._string_at[index]:self._string_at[index + 1]].decode("utf-8")

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

"""The place filters of a search: `--place NAME` (every word of the name among the place's names, accents aside)
and `--near LAT,LON --within KM` (photos whose GPS position is within KM, great-circle). The second reads the
index's lat/lon range (a box around the circle) and keeps the box's photos that are within the distance. Whoosh is
imported lazily, as in photocap.search.index."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from photocap.metadata.country_codes import alpha2, alpha3
from photocap.metadata.places import KM_PER_DEGREE, distance_km, distances_km, valid_coordinates
from photocap.search.schema import SearchQueryError, indexable, schema

if TYPE_CHECKING:
    import numpy as np
    from whoosh.query import Query

MAX_WITHIN_KM = 20_000.0  # half the Earth's circumference: everywhere


def parse_near(text: str) -> tuple[float, float]:
    """"38.72,-9.14" as (latitude, longitude); SearchQueryError for anything else."""
    parts = text.replace(" ", "").split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        raise SearchQueryError(f"--near expects LAT,LON in decimal degrees (38.72,-9.14), got {text!r}") from None
    if not valid_coordinates(lat, lon) and not (lat == 0.0 and lon == 0.0):
        raise SearchQueryError(f"--near {text}: latitude must be within ±90 and longitude within ±180")
    return lat, lon


def place_query(name: str) -> Query:
    """Every word of `name` among the place's names, or `name` is its country code in two or three letters ("PT",
    "prt", "it": a photo whose code was written either way)."""
    from whoosh import query

    words = [token.text for token in schema()["place"].analyzer(indexable(name))]
    code = name.strip().lower()
    codes = {code, (alpha2(code) or code).lower(), (alpha3(code) or code).lower()}  # PT finds a photo marked PRT
    by_code = [query.Term("country", each) for each in sorted(codes)] if code.isalpha() and len(code) in (2, 3) else []
    if not words and not by_code:
        raise SearchQueryError(f"place filter {name!r} has no words")
    by_name = [query.And([query.Term("place", word) for word in words])] if words else []
    return query.Or(by_name + by_code) if len(by_name + by_code) > 1 else (by_name + by_code)[0]


def near_query(lat: float, lon: float, km: float) -> Query:
    """The photos taken within `km` of (lat, lon)."""
    from whoosh import query

    if not (math.isfinite(km) and km > 0):
        raise SearchQueryError(f"--within expects a distance in km above 0, got {km}")
    km = min(km, MAX_WITHIN_KM)
    reach_lat = km / KM_PER_DEGREE
    south, north = max(lat - reach_lat, -90.0), min(lat + reach_lat, 90.0)
    box: list[Query] = [query.NumericRange("lat", south, north)]
    widest = max(abs(south), abs(north))
    reach_lon = 180.0 if widest >= 89.9 else km / (KM_PER_DEGREE * math.cos(math.radians(widest)))
    if reach_lon < 180.0:
        west, east = lon - reach_lon, lon + reach_lon
        if west < -180.0:
            box.append(query.Or([query.NumericRange("lon", west + 360.0, 180.0),
                                 query.NumericRange("lon", -180.0, east)]))
        elif east > 180.0:
            box.append(query.Or([query.NumericRange("lon", west, 180.0),
                                 query.NumericRange("lon", -180.0, east - 360.0)]))
        else:
            box.append(query.NumericRange("lon", west, east))
    return _within_class()(query.And(box), lat, lon, km)


@lru_cache(maxsize=1)
def _within_class() -> type:
    """A query keeping the photos of a box that lie within a distance of its centre. Defined in a function so that
    importing this module does not import Whoosh."""
    from whoosh import matching
    from whoosh.query.wrappers import WrappingQuery

    class Within(WrappingQuery):
        def __init__(self, child: Any, lat: float, lon: float, km: float) -> None:
            super().__init__(child)
            self.lat, self.lon, self.km = lat, lon, km

        def __repr__(self) -> str:
            return f"Within({self.child!r}, {self.lat}, {self.lon}, {self.km})"

        def __eq__(self, other: object) -> bool:
            return (isinstance(other, Within) and other.child == self.child
                    and (other.lat, other.lon, other.km) == (self.lat, self.lon, self.km))

        def __hash__(self) -> int:
            return hash((self.child, self.lat, self.lon, self.km))

        def _rewrap(self, child: Any) -> Any:
            return Within(child, self.lat, self.lon, self.km)

        def within(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
            """Which of the positions are within the distance (photocap.search.restriction reads them as arrays)."""
            return distances_km(self.lat, self.lon, lats, lons) <= self.km

        def docs(self, searcher: Any) -> Any:
            for docnum in self.child.docs(searcher):
                stored = searcher.stored_fields(docnum)
                lat, lon = stored.get("lat"), stored.get("lon")
                if lat is not None and lon is not None and distance_km(self.lat, self.lon, lat, lon) <= self.km:
                    yield docnum

        def matcher(self, searcher: Any, context: Any = None) -> Any:
            found = list(self.docs(searcher))
            return matching.ListMatcher(found, all_weights=1.0) if found else matching.NullMatcher()

    return Within

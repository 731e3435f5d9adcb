"""The words people use for when a photo was taken, and what they mean in dates: seasons (meteorological, by
hemisphere: a photo's latitude where known, else the north), parts of the day (from the capture time) and the named
days people search for. The index holds each photo's words (`when_words`, searched like a caption's words) and its
season of the year (`season_keys`, for filters such as "summer 2019"); photocap.search.time_query reads queries.

Seasons: in the north spring is March-May, summer June-August, autumn September-November, winter December-February;
in the south they are six months apart. A season that spans New Year is named by the year it starts in: winter
2019 in the north (and summer 2019 in the south) is December 2019 to February 2020.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

SEASONS = ("winter", "spring", "summer", "autumn")
_NORTH_SEASON_OF_MONTH = {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
                          6: "summer", 7: "summer", 8: "summer", 9: "autumn", 10: "autumn", 11: "autumn"}
_OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
_FIRST_MONTH = {"spring": 3, "summer": 6, "autumn": 9, "winter": 12}  # in the north
# Parts of the day by the hour (start, end inclusive; night wraps past midnight). A caption that says "sunset"
# matches in the caption; these find the photos taken then whose caption does not say it.
DAY_PARTS = {"dawn": (5, 6), "sunrise": (5, 7), "morning": (6, 11), "afternoon": (12, 16), "evening": (17, 21),
             "sunset": (17, 20), "dusk": (18, 20), "night": (22, 4)}
# Named days: (month, day) pairs, and the single word the index holds for a name of several words.
NAMED_DAYS = {"christmas": ((12, 24), (12, 25), (12, 26)), "newyearseve": ((12, 31),),
              "newyearsday": ((1, 1),), "halloween": ((10, 31),), "valentines": ((2, 14),)}
NAMED_DAY_LABELS = {"christmas": "christmas", "newyearseve": "new year's eve", "newyearsday": "new year's day",
                    "halloween": "halloween", "valentines": "valentine's day"}
# A file's modification time is when it was copied as often as when it was taken: time words leave it out.
TIMELESS_SOURCES = ("file time",)
DATED = "dated"


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both inclusive."""

    start: date
    end: date

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def hemisphere(lat: float | None) -> str:
    """"s" south of the equator, else "n" (also when the latitude is unknown)."""
    return "s" if lat is not None and lat < 0 else "n"


def season_of(day: date | datetime, lat: float | None = None) -> tuple[str, int]:
    """The season a day falls in where the photo was taken, and the year that season is named by."""
    season = _NORTH_SEASON_OF_MONTH[day.month]
    if hemisphere(lat) == "s":
        season = _OPPOSITE[season]
    return season, day.year - 1 if day.month in (1, 2) else day.year


def season_period(season: str, year: int, south: bool = False) -> Period:
    """The days of `season` `year` in one hemisphere."""
    first = _FIRST_MONTH[_OPPOSITE[season] if south else season]
    last_month_year, last_month = (year + 1, first + 2 - 12) if first + 2 > 12 else (year, first + 2)
    end = date(last_month_year, last_month, calendar.monthrange(last_month_year, last_month)[1])
    return Period(date(year, first, 1), end)


def season_key(season: str, year: int, hemisphere_code: str) -> str:
    return f"{hemisphere_code}:{season}-{year}"


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def named_day_period(name: str, year: int) -> Period:
    days = [date(year, month, day) for month, day in NAMED_DAYS[name]]
    return Period(min(days), max(days))


def when_words(taken_at: datetime | None, date_source: str | None, lat: float | None) -> list[str]:
    """The words a photo taken at `taken_at` (where `lat` says, if known) is found by: its season, its named day,
    its part of the day (unless the date has no time); nothing when the date is a file's time."""
    if taken_at is None or date_source in TIMELESS_SOURCES:
        return []
    words = [season_of(taken_at, lat)[0]]
    words += [name for name, days in NAMED_DAYS.items() if (taken_at.month, taken_at.day) in days]
    has_time = (taken_at.hour, taken_at.minute, taken_at.second) != (0, 0, 0)
    if has_time:
        hour = taken_at.hour
        words += [part for part, (start, end) in DAY_PARTS.items()
                  if (start <= hour <= end if start <= end else hour >= start or hour <= end)]
    return words


def season_keys(taken_at: datetime | None, date_source: str | None, lat: float | None) -> list[str]:
    """The key of the season (and its year) the photo was taken in, for season filters, and DATED: its date is
    when it was taken (not a file's time), which every filter a query's time words make asks for."""
    if taken_at is None or date_source in TIMELESS_SOURCES:
        return []
    season, year = season_of(taken_at, lat)
    return [season_key(season, year, hemisphere(lat)), DATED]

"""Reading the time words of a query: "paris 2019", "may 2021", "summer 2019", "snow last winter", "christmas",
"sunset". What is sure becomes a date filter: a year, a month with its year, a season with its year or said as
"last"/"this", a named day with its year or said as "last"/"this" ("last christmas"). What is only likely stays a
scored word, which the index's time words (photocap.search.time_words) also match: a season or a named day alone, a
part of the day; a named day said in several words ("new year's eve") or another way ("xmas") is also kept as said,
in quotes, for the captions that say it. Words that are often not about time stay plain words: "may" (a verb),
"march", "fall" ("water fall"), "spring" is a season only with a year or "last"/"this", as "fall" is. A query in
Whoosh syntax is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from photocap.search.time_words import (
    DAY_PARTS,
    NAMED_DAY_LABELS,
    NAMED_DAYS,
    Period,
    month_period,
    named_day_period,
    season_key,
    season_period,
)

MONTHS = {name.lower(): number for number, name in enumerate(
    ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"]) if name}
SEASON_WORDS = {"summer": "summer", "winter": "winter", "spring": "spring", "autumn": "autumn", "fall": "autumn"}
SCORED_SEASONS = ("summer", "winter", "autumn")  # alone, these mean the season; "spring" and "fall" may not
RELATIVE = {"last": "last", "past": "last", "this": "this"}
# Several words for one named day, and the index's word for it.
_NAMED_DAY_PHRASES = [
    (("new", "years", "eve"), "newyearseve"), (("new", "year", "eve"), "newyearseve"), (("nye",), "newyearseve"),
    (("new", "years", "day"), "newyearsday"), (("new", "year", "day"), "newyearsday"),
    (("valentines", "day"), "valentines"), (("valentines",), "valentines"), (("christmas",), "christmas"),
    (("xmas",), "christmas"), (("halloween",), "halloween"),
]
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w']+$")


@dataclass(frozen=True)
class TimeFilter:
    """A date filter a query's words asked for. A season's period depends on the hemisphere: `period` is the
    northern one (and every other filter's), `south` the southern one, and `keys` the index's season keys."""

    said: str
    period: Period
    south: Period | None = None
    keys: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # words a file or folder name may hold instead ("2019/IMG_0042.jpg")

    def describe(self) -> str:
        text = f"{self.said} -> {self.period}"
        if self.south is not None and self.south != self.period:
            text += f" (southern hemisphere: {self.south})"
        if self.names:
            text += f" (or {', '.join(self.names)} in a file or folder name)"
        return text

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"said": self.said, "from": self.period.start.isoformat(),
                                 "to": self.period.end.isoformat()}
        if self.south is not None:
            found.update(south_from=self.south.start.isoformat(), south_to=self.south.end.isoformat())
        if self.names:
            found["or_names"] = list(self.names)
        return found


@dataclass(frozen=True)
class QueryReading:
    """How a query was read: the words left to search for, the date filters, and the time words kept as words
    (with what else they match)."""

    words: str
    filters: tuple[TimeFilter, ...] = ()
    scored: tuple[tuple[str, str], ...] = field(default=())  # (word as said, what it also matches)

    def notes(self) -> list[str]:
        return [f.describe() for f in self.filters] + [f"{said} -> {meaning}" for said, meaning in self.scored]

    def as_json(self) -> dict[str, Any]:
        return {"words": self.words, "read": self.notes(), "filters": [f.as_json() for f in self.filters]}


def read_time_words(text: str, today: date, *, syntax: bool = False) -> QueryReading:
    """The reading of query `text` on `today` (for "last winter"); `syntax`: the query is Whoosh syntax, read as
    it is."""
    if syntax:
        return QueryReading(words=text)
    tokens = text.split()
    norms = [_normal(token) for token in tokens]
    kept: list[str] = []
    filters: list[TimeFilter] = []
    scored: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        taken = _read_at(norms, i, today)
        if taken is None:
            kept.append(tokens[i])
            i += 1
            continue
        length, result = taken
        said = " ".join(tokens[i:i + length])
        if isinstance(result, TimeFilter):
            filters.append(TimeFilter(said, result.period, result.south, result.keys, result.names))
        else:
            word, meaning = result
            kept.append(word)
            as_said = said.replace('"', "")
            if _normal(as_said) != word:  # "new year's eve", "xmas": a caption may say it so
                kept.append(f'"{as_said}"' if length > 1 else as_said)
            scored.append((said, meaning))
        i += length
    return QueryReading(words=" ".join(kept), filters=tuple(filters), scored=tuple(scored))


def _normal(token: str) -> str:
    return _EDGE_PUNCTUATION.sub("", token.lower()).replace("'", "").replace("\u2019", "")


def _year(norm: str | None, today: date) -> int | None:
    if norm is not None and len(norm) == 4 and norm.isdigit() and 1900 <= int(norm) <= today.year + 1:
        return int(norm)
    return None


def _read_at(norms: list[str], i: int, today: date) -> tuple[int, TimeFilter | tuple[str, str]] | None:
    """What the words from `i` on say of time: how many words, and a filter or a (word, meaning) kept as a word."""
    here = norms[i]
    following = norms[i + 1] if i + 1 < len(norms) else None
    if here in RELATIVE and following in SEASON_WORDS:
        return 2, _relative_season(SEASON_WORDS[following], RELATIVE[here], today)
    if here in RELATIVE and following == "year":
        year = today.year - 1 if RELATIVE[here] == "last" else today.year
        return 2, TimeFilter("", Period(date(year, 1, 1), date(year, 12, 31)))
    if here in RELATIVE and (named := _named_day_at(norms, i + 1)) is not None:
        length, name = named
        return length + 1, TimeFilter("", _relative_named_day(name, RELATIVE[here], today))
    if (named := _named_day_at(norms, i)) is not None:
        length, name = named
        year = _year(norms[i + length] if i + length < len(norms) else None, today)
        if year is not None:
            return length + 1, TimeFilter("", named_day_period(name, year))
        days = ", ".join(f"{day} {_month_name(month)}" for month, day in NAMED_DAYS[name])
        return length, (name, f"the word, or taken on {days}, any year ({NAMED_DAY_LABELS[name]})")
    if here in SEASON_WORDS and _year(following, today) is not None:
        return 2, _season_filter(SEASON_WORDS[here], int(following or 0))
    if _year(here, today) is not None and following in SEASON_WORDS:
        return 2, _season_filter(SEASON_WORDS[following], int(here))
    if here in MONTHS and _year(following, today) is not None:
        return 2, TimeFilter("", month_period(int(following or 0), MONTHS[here]))
    if _year(here, today) is not None and following in MONTHS and here != "may":
        return 2, TimeFilter("", month_period(int(here), MONTHS[following]))
    if _year(here, today) is not None:  # a folder named 2019 holds photos whose only date may be the file's
        year = int(here)
        return 1, TimeFilter("", Period(date(year, 1, 1), date(year, 12, 31)), names=(here,))
    if here in SCORED_SEASONS:
        return 1, (here, f"the word, or taken in {here} (hemisphere from the photo's latitude, else north)")
    if here in DAY_PARTS:
        start, end = DAY_PARTS[here]
        return 1, (here, f"the word, or taken {start:02d}:00-{end:02d}:59")
    return None


def _named_day_at(norms: list[str], i: int) -> tuple[int, str] | None:
    """(how many words, the index's word) of a named day said from word `i` on, or None."""
    for phrase, name in _NAMED_DAY_PHRASES:
        if tuple(norms[i:i + len(phrase)]) == phrase:
            return len(phrase), name
    return None


def _relative_named_day(name: str, which: str, today: date) -> Period:
    """"last christmas": the latest one over before today; "this christmas": this year's."""
    if which == "this":
        return named_day_period(name, today.year)
    this_year = named_day_period(name, today.year)
    return this_year if this_year.end < today else named_day_period(name, today.year - 1)


def _season_filter(season: str, year: int) -> TimeFilter:
    return TimeFilter("", season_period(season, year), season_period(season, year, south=True),
                      (season_key(season, year, "n"), season_key(season, year, "s")))


def _relative_season(season: str, which: str, today: date) -> TimeFilter:
    """"last winter": the latest winter over before today; "this summer": the latest summer begun by today. Each
    hemisphere has its own."""
    chosen = {}
    for code, south in (("n", False), ("s", True)):
        for year in range(today.year, today.year - 3, -1):
            period = season_period(season, year, south=south)
            if (period.end < today) if which == "last" else (period.start <= today):
                chosen[code] = (year, period)
                break
    (north_year, north), (south_year, south) = chosen["n"], chosen["s"]
    return TimeFilter("", north, south, (season_key(season, north_year, "n"), season_key(season, south_year, "s")))


def _month_name(month: int) -> str:
    return next(name for name, number in MONTHS.items() if number == month).capitalize()

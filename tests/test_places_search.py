"""Searching by place and time (issue 22, parts 2 and 3), through the command line with the shipped model: place
names as words, --place, --near/--within, years, months, seasons by hemisphere, "last winter", named days and parts of
the day; how the query was read in --json; ambiguous words left as words; a photo without GPS or date untouched."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import draw_photo
from test_places import LISBON, PARIS, SYDNEY, geotagged

from photocap.cli import main
from photocap.search.time_query import read_time_words
from photocap.search.time_words import season_period, when_words


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def found(home: Path, query: str, *options: str) -> set[str]:
    run = photocap(home, "search", query, "--json", "--limit", "50", *options)
    assert run.exit_code in (0, 1), run.output
    return {Path(hit["path"]).name for hit in json_lines(run.stdout)}


def last_northern_winter_day(today: date) -> date:
    for year in range(today.year, today.year - 3, -1):
        period = season_period("winter", year)
        if period.end < today:
            return period.start + timedelta(days=20)
    raise AssertionError


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    photos = root / "photos"
    geotagged(photos / "lisbon.jpg", LISBON, seed=1, taken="2019:07:14 12:30:00")
    geotagged(photos / "paris.png", PARIS, seed=2, taken="2021:05:02 09:00:00")
    geotagged(photos / "sydney.webp", SYDNEY, seed=3, taken="2020:01:15 19:30:00")  # southern summer, evening
    geotagged(photos / "paris_winter.jpg", PARIS, seed=4, taken="2020:01:20 10:00:00")
    geotagged(photos / "christmas.jpg", None, seed=5, taken="2018:12:25 18:00:00")
    winter_day = last_northern_winter_day(date.today())
    geotagged(photos / "last_winter.jpg", None, seed=6, taken=winter_day.strftime("%Y:%m:%d 11:00:00"))
    draw_photo(photos / "plain.jpg", size=(96, 72), seed=7)  # no GPS, no date but the file's own time
    draw_photo(photos / "2019" / "scan.jpg", size=(96, 72), seed=8)  # no date but its folder's name
    geotagged(photos / "nye.jpg", None, seed=9, taken="2022:12:31 23:30:00")
    christmas = last_christmas_day(date.today())
    geotagged(photos / "last_christmas.jpg", None, seed=10, taken=christmas.strftime("%Y:%m:%d 16:00:00"))
    draw_photo(photos / "fireworks.jpg", size=(96, 72), seed=11)  # its caption will say it: no date but the file's
    home = root / "home"
    home.mkdir()
    run = photocap(home, "index", str(photos), "--json")
    assert run.exit_code == 0, run.output
    caption = photocap(home, "caption", "--set", str(photos / "fireworks.jpg"),
                       "Fireworks over the river on New Year's Eve")
    assert caption.exit_code == 0, caption.output
    return home


def last_christmas_day(today: date) -> date:
    this_year = date(today.year, 12, 25)
    return this_year if date(today.year, 12, 26) < today else date(today.year - 1, 12, 25)


def test_place_names_are_words_and_filters(indexed: Path) -> None:
    assert "lisbon.jpg" in found(indexed, "lisbon")
    assert found(indexed, "portugal") == {"lisbon.jpg"}  # the country's name, unstemmed
    assert found(indexed, "lisbon", "--place", "portugal") == {"lisbon.jpg"}
    everything = found(indexed, "", "--place", "france")
    assert everything == {"paris.png", "paris_winter.jpg"}  # a place filter alone lists the photos taken there
    assert found(indexed, "", "--place", "ile de france") == everything  # accents aside
    assert found(indexed, "", "--place", "AU") == {"sydney.webp"}  # a country code
    assert found(indexed, "", "--place", "atlantis") == set()
    assert photocap(indexed, "search", "", "--place", "atlantis").exit_code == 1


def test_near_within_keeps_the_photos_within_the_distance(indexed: Path) -> None:
    assert found(indexed, "", "--near", "38.70,-9.15", "--within", "10") == {"lisbon.jpg"}
    assert found(indexed, "", "--near", "38.70,-9.15", "--within", "1500") == {
        "lisbon.jpg", "paris.png", "paris_winter.jpg"}  # Paris is 1,450 km from Lisbon
    assert found(indexed, "", "--near", "38.70,-9.15", "--within", "1400") == {"lisbon.jpg"}
    # In the box's corner but not within the circle: 10 km north and 10 km east of Lisbon is 14 km away.
    assert found(indexed, "", "--near", "38.8121,-9.0244", "--within", "12") == set()
    for bad, message in [(["--near", "north", "--within", "5"], "--near expects LAT,LON"),
                         (["--near", "95,10", "--within", "5"], "latitude must be within"),
                         (["--near", "38.7,-9.1"], "--near needs --within KM"),
                         (["--within", "5"], "--within needs --near")]:
        run = photocap(indexed, "search", "beach", *bad)
        assert run.exit_code == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_years_months_and_seasons_become_date_filters(indexed: Path) -> None:
    assert found(indexed, "2019") == {"lisbon.jpg", "scan.jpg"}  # a year is also a file or folder name's word
    assert found(indexed, "summer 2019") == {"lisbon.jpg", "sydney.webp"}  # a season is dates only
    assert found(indexed, "may 2021") == {"paris.png"}
    assert found(indexed, "2021", "--place", "paris") == {"paris.png"}
    # Sydney's January is summer 2019 (December 2019 to February 2020), Paris's January is winter 2019.
    assert found(indexed, "summer 2019") == {"lisbon.jpg", "sydney.webp"}
    assert found(indexed, "winter 2019") == {"paris_winter.jpg"}
    assert found(indexed, "christmas 2018") == {"christmas.jpg"}
    assert "last_winter.jpg" in found(indexed, "last winter")
    assert "plain.jpg" not in found(indexed, "last winter") | found(indexed, str(date.today().year))

    run = photocap(indexed, "search", "summer 2019", "--json")
    reading = json_lines(run.stdout)[0]["query_read"]
    assert reading["read"] == ["summer 2019 -> 2019-06-01..2019-08-31 (southern hemisphere: 2019-12-01..2020-02-29)"]
    assert reading["filters"][0] == {"said": "summer 2019", "from": "2019-06-01", "to": "2019-08-31",
                                     "south_from": "2019-12-01", "south_to": "2020-02-29"}
    assert "read as: summer 2019 -> 2019-06-01..2019-08-31" in run.stderr


def test_seasons_named_days_and_parts_of_the_day_alone_are_scored_words(indexed: Path) -> None:
    summer = found(indexed, "summer")
    assert {"sydney.webp", "lisbon.jpg"} <= summer and "paris_winter.jpg" not in summer
    assert "paris_winter.jpg" in found(indexed, "winter") and "sydney.webp" not in found(indexed, "winter")
    assert "christmas.jpg" in found(indexed, "christmas")
    assert "sydney.webp" in found(indexed, "evening") and "paris_winter.jpg" not in found(indexed, "evening")
    assert found(indexed, "sunset") >= {"sydney.webp"}
    run = photocap(indexed, "search", "sunset", "--json")
    hits = {Path(hit["path"]).name: hit for hit in json_lines(run.stdout)}
    assert hits["sydney.webp"]["matched"].get("when") == ["sunset"]


def test_named_days_said_in_words_or_as_last_this(indexed: Path) -> None:
    # Said in several words: the photos taken on the day, and the captions that say it.
    assert found(indexed, "new year's eve") == {"nye.jpg", "fireworks.jpg"}
    assert found(indexed, "new year’s eve") == {"nye.jpg", "fireworks.jpg"}  # a phone's apostrophe
    run = photocap(indexed, "search", "new years eve", "--json")
    hits = {Path(hit["path"]).name: hit for hit in json_lines(run.stdout)}
    assert hits["nye.jpg"]["matched"] == {"when": ["new year's eve"]}  # as people say it, not the index's word
    assert set(hits["fireworks.jpg"]["matched"]["caption"]) >= {"new", "eve"}
    assert "time taken: new year's eve" in photocap(indexed, "search", "new year's eve").stdout
    assert {"christmas.jpg", "last_christmas.jpg"} <= found(indexed, "xmas")
    # "last christmas" is a filter: the latest one over, whatever the year.
    assert found(indexed, "last christmas") == {"last_christmas.jpg"}
    run = photocap(indexed, "search", "last christmas", "--json")
    christmas = last_christmas_day(date.today())
    assert json_lines(run.stdout)[0]["query_read"]["filters"][0] == {
        "said": "last christmas", "from": f"{christmas.year}-12-24", "to": f"{christmas.year}-12-26"}


def test_a_photo_without_gps_or_date_is_untouched_by_place_and_time_filters(indexed: Path) -> None:
    everything = found(indexed, "", "--near", "0,0", "--within", "20000")
    assert "plain.jpg" not in everything and "christmas.jpg" not in everything  # neither has a position
    assert len(everything) == 4
    for query in ("2019", "summer 2019", "last year", "christmas 2018", "may 2021"):
        assert "plain.jpg" not in found(indexed, query)
    run = photocap(indexed, "show", str(Path(indexed).parent / "photos" / "plain.jpg"), "--json")
    assert json_lines(run.stdout)[0]["place"] is None


def test_ambiguous_words_stay_words() -> None:
    today = date(2026, 12, 3)
    for query in ("it may rain", "water fall", "march", "spring water", "fall"):
        reading = read_time_words(query, today)
        assert (reading.words, reading.filters) == (query, ()), query
    assert read_time_words("dog -cat 2020", today).words == "dog -cat"
    assert read_time_words("2019", today).notes() == [
        "2019 -> 2019-01-01..2019-12-31 (or 2019 in a file or folder name)"]
    assert read_time_words('"summer 2019"', today, syntax=True).words == '"summer 2019"'
    last = read_time_words("snow last winter", today)
    assert last.words == "snow"
    assert [str(last.filters[0].period), str(last.filters[0].south)] == ["2025-12-01..2026-02-28",
                                                                          "2026-06-01..2026-08-31"]
    assert read_time_words("new year's eve", today).words == 'newyearseve "new year\'s eve"'  # the day, or said
    assert str(read_time_words("fall 2020", today).filters[0].period) == "2020-09-01..2020-11-30"
    assert str(read_time_words("last christmas", today).filters[0].period) == "2025-12-24..2025-12-26"
    assert str(read_time_words("last christmas", date(2026, 12, 27)).filters[0].period) == "2026-12-24..2026-12-26"
    assert str(read_time_words("this new year's eve", today).filters[0].period) == "2026-12-31..2026-12-31"
    assert read_time_words("last christmas", today).words == ""


def test_time_words_of_a_photo() -> None:
    from datetime import datetime

    assert when_words(datetime(2020, 1, 15, 19, 30), "exif", -33.9) == ["summer", "evening", "sunset", "dusk"]
    assert when_words(datetime(2020, 1, 15, 19, 30), "exif", 48.9) == ["winter", "evening", "sunset", "dusk"]
    assert when_words(datetime(2018, 12, 25, 0, 0), "file name", None) == ["winter", "christmas"]  # no time
    assert when_words(datetime(2018, 12, 25, 23, 0), "file time", None) == []

"""File and folder names are searchable, below what the photo shows; a photo without an EXIF date is dated by
its file name, else its modification time, and says so (issue 10, part 3), through the command line."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
from conftest import draw_photo
from test_index import json_lines, photocap

from photocap.metadata.dates import date_from_name
from photocap.search.schema import name_words


@pytest.mark.parametrize(("name", "expected"), [
    ("IMG_20230714_153000.jpg", datetime(2023, 7, 14, 15, 30)),
    ("2023-07-14 12.30.45.jpg", datetime(2023, 7, 14, 12, 30, 45)),
    ("Screenshot 2023-07-14 at 15.30.00.png", datetime(2023, 7, 14, 15, 30)),
    ("PXL_20230714_153000123.jpg", datetime(2023, 7, 14)),
    ("VID-20210101-WA0001.jpg", datetime(2021, 1, 1)),
    ("DSC01234.JPG", None),
    ("IMG_2023.jpg", None),
    ("20230230.jpg", None),  # no 30th of February
])
def test_dates_in_file_names(name: str, expected: datetime | None) -> None:
    assert date_from_name(name) == expected


def test_names_split_as_people_would() -> None:
    assert name_words("/home/u/Pictures/2019 plage Nice/day1/IMG_20230714.jpg").split() == [
        "IMG", "20230714", "day", "1", "2019", "plage", "Nice", "Pictures"]
    assert name_words("/p/été/birthdayParty-café.jpg").split() == ["birthday", "Party", "café", "été", "p"]


def test_names_are_searched_below_captions_and_dates_have_a_source(tmp_home: Path, tmp_path: Path) -> None:
    library = tmp_path / "photos"
    named = draw_photo(library / "plage Nice" / "birthday_IMG_20230714_153000.png", size=(96, 72), seed=1)
    plain = draw_photo(library / "misc" / "scan.png", size=(96, 72), seed=2)
    os.utime(plain, (datetime(2020, 1, 2, 10, 0).timestamp(),) * 2)
    assert photocap(tmp_home, "index", str(library)).exit_code == 0
    assert photocap(tmp_home, "caption", "--set", str(plain), "a birthday cake with candles").exit_code == 0

    [hit] = json_lines(photocap(tmp_home, "search", "plage nice", "--json").stdout)
    assert hit["path"] == str(named) and hit["matched"]["names"] == ["plage", "nice"]
    hits = json_lines(photocap(tmp_home, "search", "birthday", "--json").stdout)
    assert [h["path"] for h in hits] == [str(plain), str(named)]  # a caption outranks a file name

    shown = json_lines(photocap(tmp_home, "show", str(named), str(plain), "--json").stdout)
    assert [(s["taken_at"], s["date_source"]) for s in shown] == [("2023-07-14 15:30:00", "file name"),
                                                                   ("2020-01-02 10:00:00", "file time")]
    july = photocap(tmp_home, "search", "birthday", "--after", "2023-07-01", "--before", "2023-07-31", "--paths")
    assert july.stdout.splitlines() == [str(named)]
    early = photocap(tmp_home, "search", "birthday", "--before", "2020-12-31", "--paths")
    assert early.stdout.splitlines() == [str(plain)]
    assert "(file name)" in photocap(tmp_home, "show", str(named)).stdout

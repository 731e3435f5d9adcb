"""Places and time words in `photocap serve`, in headless chromium (issue 22): the place filter, a time query and
how it was read, and the photo page's place. Real Flickr8k photos copied into the test's folder, GPS and dates
written by exiv2, indexed by the real model; the server started as a user starts it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_places import LISBON, PARIS, SYDNEY, gps_exif
from test_serve_browser import page, serve, shown_results  # noqa: F401  (fixtures)
from test_written_metadata import tagged_by_exiv2
from web_support import FLICKR, cli_search, flickr_images, photocap

PHOTOS = {  # name: (where, taken)
    FLICKR[0]: (LISBON, "2019:07:14 12:30:00"),
    FLICKR[1]: (LISBON, "2021:03:02 09:00:00"),
    FLICKR[2]: (PARIS, "2020:01:20 10:00:00"),
    FLICKR[3]: (SYDNEY, "2020:01:15 19:30:00"),
    FLICKR[4]: (None, None),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    images = flickr_images()
    scratch = tmp_path_factory.mktemp("places-web")
    library, home = scratch / "library", scratch / "home"
    library.mkdir()
    for name, (where, taken) in PHOTOS.items():
        shutil.copy2(images / name, library / name)
        exif = gps_exif(*where) if where else {}
        if taken:
            exif["Exif.Photo.DateTimeOriginal"] = taken
        if exif:
            tagged_by_exiv2(library / name, exif=exif)
    run = photocap(home, "index", str(library), "--workers", "0")
    assert run.exit_code == 0, run.output
    return home


def test_the_place_filter_a_time_query_and_the_photo_pages_place(page, serve, home: Path,  # noqa: F811
                                                                tmp_path: Path) -> None:
    base = serve()
    page.goto(base + "/")
    page.click("details.filters summary")
    page.fill("input[name=place]", "Portugal")
    page.press("input[name=place]", "Enter")
    page.wait_for_load_state("networkidle")
    expected = {hit["caption"] for hit in cli_search(home, "", "--place", "Portugal")}
    assert len(expected) == 2
    assert {result["alt"] for result in shown_results(page)} == expected
    assert "taken at" in page.inner_text(".summary") and "Portugal" in page.inner_text(".summary")
    assert "Lisbon" in page.eval_on_selector_all("#places option", "options => options.map(o => o.value)")

    page.goto(base + "/")
    page.fill("#q", "summer 2019")
    page.press("#q", "Enter")
    page.wait_for_load_state("networkidle")
    summer = {hit["caption"] for hit in cli_search(home, "summer 2019")}
    assert len(summer) == 2  # Lisbon in July, Sydney in January: the southern summer
    assert {result["alt"] for result in shown_results(page)} == summer
    reading = page.inner_text(".summary .reading")
    assert "summer 2019 -> 2019-06-01..2019-08-31 (southern hemisphere: 2019-12-01..2020-02-29)" in reading
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    shots = Path(os.environ.get("PHOTOCAP_SCREENSHOTS_DIR") or tmp_path)  # set it to look at the pages
    assert len(page.screenshot(path=str(shots / "places-search.png"))) > 10_000

    page.goto(base + "/?place=Australia")
    page.click(".grid a >> nth=0")
    page.wait_for_url("**/photos/*")
    place = page.inner_text("dd.place")
    assert "Sydney, New South Wales, Australia" in place and "-33.85680, 151.21530" in place
    assert "GPS, named offline from GeoNames" in place
    page.screenshot(path=str(shots / "places-photo.png"))

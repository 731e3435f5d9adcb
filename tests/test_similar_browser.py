"""The Duplicates page and "More like this" in a real headless chromium, against `photocap serve` started as a
user would, over the library of similar_support (real photos with an exact copy and altered copies). Skips, saying
why, where no chromium or Playwright can be had. PHOTOCAP_SCREENSHOTS=1 refreshes docs/serve-duplicates.png."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from similar_support import DOGS_ON_BEACH
from test_serve_browser import start_server, stop_servers
from web_support import assert_accessible

from photocap.catalog.store import Catalog


@pytest.fixture
def served(similar_library: tuple[Path, Path], tmp_path: Path) -> Iterator[str]:
    """`photocap serve` over a copy of the similar library's home; its address."""
    home = tmp_path / "home"
    shutil.copytree(similar_library[0], home)
    started: list[subprocess.Popen] = []
    try:
        yield start_server(home, started=started)
    finally:
        stop_servers(started)


def loaded_images(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, """images => images.map(image => ({
        alt: image.alt, loaded: image.complete && image.naturalWidth > 0}))""")


def test_the_duplicates_page_shows_the_groups_side_by_side(browser, served: str, similar_library,
                                                           tmp_path: Path) -> None:
    _home, library = similar_library
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served + "/")
    page.click("text=Duplicates")
    page.wait_for_load_state("networkidle")
    assert page.url == served + "/duplicates"
    assert "2 groups of the same picture, 3 photos to spare" in page.inner_text(".summary")
    groups = page.locator(".dup-group")
    assert groups.count() == 2
    assert groups.nth(0).locator("h2").inner_text().startswith("Exact copies")
    near = groups.nth(1)
    assert near.locator("h2").inner_text().startswith("Near copies")
    cards = near.locator(".card")
    assert cards.count() == 3
    assert "keep" in cards.nth(0).get_attribute("class") and "Keep" in cards.nth(0).inner_text()
    assert str(library / "copies" / "beach.png") in cards.nth(0).inner_text()
    boxes = [cards.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    images = loaded_images(page, ".dup-group img")
    assert len(images) == 5 and all(image["loaded"] for image in images)
    page.evaluate("window.scrollTo(0, 0)")
    picture = page.screenshot(full_page=True)
    (tmp_path / "duplicates.png").write_bytes(picture)
    if os.environ.get("PHOTOCAP_SCREENSHOTS") == "1":
        (REPO / "docs" / "serve-duplicates.png").write_bytes(picture)
    page.close()


def test_more_like_this_on_the_photo_page_leads_to_the_copies(browser, served: str, similar_library) -> None:
    home, library = similar_library
    with Catalog.open(home) as catalog:
        dogs = catalog.photo_by_path(str(library / DOGS_ON_BEACH))
        copies = {catalog.photo_by_path(str(library / "copies" / name))["id"] for name in ("beach_small.jpg",
                                                                                          "beach.png")}
    assert dogs is not None
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{served}/photos/{dogs['id']}")
    section = page.locator(".alike-section")
    assert section.locator("h2").inner_text() == "More like this"
    links = section.locator(".grid a")
    assert links.count() == 6
    first_two = {int(links.nth(i).get_attribute("href").rsplit("/", 1)[1]) for i in range(2)}
    assert first_two == copies
    section.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    assert all(image["loaded"] for image in loaded_images(page, ".alike-section img"))
    links.nth(0).click()
    page.wait_for_load_state("networkidle")
    assert int(page.url.rsplit("/", 1)[1]) in copies
    page.goto(f"{served}/photos/{dogs['id']}/similar")
    assert page.locator(".grid .card").count() == 10  # every other photo of the library
    page.close()


def test_the_new_pages_pass_the_axe_core_accessibility_check(browser, served: str, similar_library) -> None:
    home, library = similar_library
    with Catalog.open(home) as catalog:
        dogs = catalog.photo_by_path(str(library / DOGS_ON_BEACH))
    assert_accessible(browser, [served + "/duplicates", f"{served}/photos/{dogs['id']}",
                                f"{served}/photos/{dogs['id']}/similar"])

"""The "Needs review" page and the unsure mark in a real headless chromium, against `photocap serve` started as a user
would, over the catalog of test_review (drawn photos, captions saved with their confidence through the catalog's own
write path). Skips, saying why, where no chromium or Playwright can be had. The screenshots go to the folder
PHOTOCAP_SCREENSHOTS names (else the test's own)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_review import CAPTIONS, TO_REVIEW, review_library
from test_serve_browser import page, start_server, stop_servers  # noqa: F401  (page: a fixture)
from web_support import assert_accessible

FIX = "Rex on the bench by the harbour"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """`photocap serve` over the review library; its address and the photo ids by name."""
    home, ids = review_library(tmp_path)
    started: list[subprocess.Popen] = []
    try:
        yield start_server(home, started=started), ids
    finally:
        stop_servers(started)


def listed_captions(page) -> list[str]:  # noqa: F811
    return page.eval_on_selector_all(".grid .caption", "spans => spans.map(span => span.textContent)")


def test_the_least_confident_caption_is_opened_fixed_and_gone_from_the_list(page, served, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    base, _ids = served
    shots = Path(os.environ.get("PHOTOCAP_SCREENSHOTS", tmp_path))
    page.goto(base + "/")
    expect(page.locator("header nav a[href='/review'] .count")).to_have_text("3 unsure captions")
    page.click("header nav a[href='/review']")
    page.wait_for_url(base + "/review")
    page.wait_for_load_state("networkidle")
    assert listed_captions(page) == [CAPTIONS[name][0] for name in TO_REVIEW]
    assert page.eval_on_selector_all(".grid img", "images => images.every(i => i.complete && i.naturalWidth > 0)")
    badges = page.locator(".grid .unsure-badge")
    expect(badges.first).to_be_visible()
    assert [text.split()[-1] for text in badges.all_inner_texts()] == ["0.12", "0.12", "0.31"]
    assert "more likely wrong than right" in (badges.first.get_attribute("title") or "")
    page.screenshot(path=str(shots / "review.png"), full_page=True)

    page.click(".grid a >> nth=0")  # the least confident
    page.wait_for_url("**/photos/*?from=review&rank=0")
    expect(page.locator("#caption-heading")).to_have_text(CAPTIONS[TO_REVIEW[0]][0])
    expect(page.locator(".unsure-note")).to_be_visible()
    expect(page.locator("#back")).to_have_text("← Back to the review list")
    page.screenshot(path=str(shots / "photo-unsure.png"), full_page=True)

    page.fill("#caption", FIX)
    page.click("form.edit button[type=submit]")
    expect(page.locator("#caption-heading")).to_have_text(FIX)
    expect(page.locator(".unsure-note")).to_have_count(0)
    expect(page.locator("header nav a[href='/review'] .count")).to_have_text("2 unsure captions")
    page.click("#back")
    page.wait_for_url(base + "/review")
    assert listed_captions(page) == [CAPTIONS[name][0] for name in TO_REVIEW[1:]]
    assert FIX not in page.inner_text("main")


def test_the_review_page_and_an_unsure_photo_page_pass_the_axe_core_check(browser, served) -> None:
    base, ids = served
    assert_accessible(browser, [f"{base}/review", f"{base}/photos/{ids['beach.jpg']}?from=review&rank=2",
                                f"{base}/?q=dog"])

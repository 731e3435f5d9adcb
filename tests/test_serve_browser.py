"""`photocap serve` in a real headless browser: Debian's chromium, driven by Playwright, against `photocap serve`
started as a user would start it, over the real photos, catalog and search index of web_support.

The tests skip, saying why, only where no chromium can be had (.ci/run installs it with apt-get). Set
PHOTOCAP_SCREENSHOTS=1 to refresh docs/serve-search.png, the README's picture of the search page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import REPO
from web_support import assert_accessible, cli_search

START_S = 60  # the most a server may take to start on a busy machine


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=False)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, *args: str, started: list[subprocess.Popen]) -> str:
    """Start `photocap serve` over `home` on a free port (appended to `started`); its address once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "photocap.cli", "--home", str(home), "serve",
                                "--port", str(port), *args], cwd=REPO, stderr=subprocess.PIPE, text=True)
    started.append(process)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"photocap serve exited: {process.stderr.read()}") from None
            time.sleep(0.2)
    raise AssertionError("photocap serve did not start in time")


def stop_servers(started: list[subprocess.Popen]) -> None:
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def serve(home: Path) -> Iterator[Callable[..., str]]:
    """Start `photocap serve` on a free port; returns its address. Stopped at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(*args: str, home_of: Path | None = None) -> str:
        return start_server(home_of or home, *args, started=started)

    yield start
    stop_servers(started)


def search_for(page, base: str, words: str) -> None:
    page.goto(base + "/")
    page.fill("#q", words)
    page.press("#q", "Enter")
    page.wait_for_load_state("networkidle")


def shown_results(page) -> list[dict]:
    """The results on the page, not the "maybe" photos listed after them."""
    return page.eval_on_selector_all(".grid:not(.maybe) img", """images => images.map(image => ({
        alt: image.alt, loaded: image.complete && image.naturalWidth > 0,
        caption: image.parentElement.querySelector('.caption').textContent}))""")


def test_searching_a_word_shows_the_right_photos_with_their_alt_text(page, serve, home: Path) -> None:
    base = serve()
    search_for(page, base, "dog")
    expected = [hit["caption"] for hit in cli_search(home, "dog", "--limit", "60")]
    assert expected
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # thumbnails load lazily
    page.wait_for_load_state("networkidle")
    shown = shown_results(page)
    assert [result["alt"] for result in shown] == expected
    assert all(result["loaded"] for result in shown) and [r["caption"] for r in shown] == expected
    assert f"{len(expected)} photo" in page.inner_text(".summary")
    page.evaluate("window.scrollTo(0, 0)")
    picture = page.screenshot()
    assert len(picture) > 10_000
    if os.environ.get("PHOTOCAP_SCREENSHOTS") == "1":
        (REPO / "docs" / "serve-search.png").write_bytes(picture)


def test_a_caption_edited_in_place_is_found_by_the_page_and_by_cli_search(page, serve, home: Path) -> None:
    from playwright.sync_api import expect

    base = serve()
    search_for(page, base, "dog")
    page.click(".grid a >> nth=0")
    page.wait_for_url("**/photos/*")
    page.fill("#caption", "Biscuit the greyhound fetching driftwood")
    page.fill("#tags", "biscuit, driftwood")
    page.click("form.edit button[type=submit]")
    expect(page.locator("#caption-heading")).to_contain_text("Biscuit")
    assert page.inner_text(".by") == "Your caption"
    assert page.is_visible("form.undo")
    search_for(page, base, "driftwood")
    assert [result["alt"] for result in shown_results(page)] == ["Biscuit the greyhound fetching driftwood"]
    assert [hit["caption"] for hit in cli_search(home, "driftwood")] == ["Biscuit the greyhound fetching driftwood"]
    assert [hit["caption"] for hit in cli_search(home, "biscuit", "--tag", "driftwood")] == [
        "Biscuit the greyhound fetching driftwood"]
    page.click(".grid a >> nth=0")
    page.click("form.undo button")
    expect(page.locator("#caption-heading")).not_to_contain_text("Biscuit")
    assert cli_search(home, "driftwood") == []


def test_keyboard_slash_arrows_enter_and_escape(page, serve) -> None:
    base = serve()
    page.goto(base + "/library")
    page.keyboard.press("/")
    page.wait_for_url(base + "/")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("dog")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=dog*")
    links = page.eval_on_selector_all("a[data-result]", "links => links.map(link => link.href)")
    assert len(links) >= 3
    page.keyboard.press("ArrowRight")  # no result has focus yet: the first one takes it
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.href") == links[1]
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.href") == links[0]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_url(links[1])
    page.keyboard.press("ArrowRight")  # on a photo page the arrows go to the next and previous result
    page.wait_for_url(links[2])
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(links[1])
    page.keyboard.press("Escape")
    page.wait_for_url("**/?q=dog*")
    assert page.input_value("#q") == "dog"


def test_read_only_mode_refuses_the_edit(page, serve, home: Path) -> None:
    base = serve("--read-only")
    search_for(page, base, "dog")
    page.click(".grid a >> nth=0")
    page.wait_for_url("**/photos/*")
    assert page.locator("form.edit").count() == 0 and "read-only" in page.inner_text("header")
    photo_id = page.url.split("/photos/")[1].split("?")[0]
    status = page.evaluate("""async (id) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const response = await fetch(`/api/photos/${id}`, {method: 'POST', headers: {'Content-Type':
            'application/json', 'X-CSRF-Token': csrf}, body: JSON.stringify({caption: 'not allowed'})});
        return [response.status, (await response.json()).error];
    }""", photo_id)
    assert status[0] == 403 and "read-only" in status[1]
    assert "not allowed" not in [hit["caption"] for hit in cli_search(home, "allowed")]


def test_pages_pass_the_axe_core_accessibility_check(browser, serve) -> None:
    base = serve()

    def pages(page) -> list[str]:
        search_for(page, base, "dog")
        first = page.get_attribute(".grid a >> nth=0", "href")
        return [base + "/?q=dog", base + first, base + "/library", base + "/?q=zyzzyva", base + "/photos/999999"]

    assert_accessible(browser, pages)


def test_the_openapi_page_renders_offline(page, serve) -> None:
    from playwright.sync_api import expect

    base = serve()
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(base) else None)
    page.goto(base + "/api/docs")
    expect(page.locator(".opblock-summary-path").first).to_have_text("/api/search")
    assert outside == []


def test_a_photo_is_shown_upright_and_fitted_to_the_window(page, serve, tmp_path: Path) -> None:
    from conftest import draw_photo
    from PIL import Image

    from photocap.catalog.store import Catalog, PhotoResult
    from photocap.indexing.scan import scan_folders
    from photocap.search.index import SearchIndex
    from photocap.search.sync import rebuild_search_index

    path = draw_photo(tmp_path / "library" / "sideways.jpg", size=(1200, 800))
    with Image.open(path) as drawn:
        exif = Image.Exif()
        exif[0x0112] = 6  # stored a quarter turn from upright: upright it is 800 wide, 1200 high
        drawn.copy().save(path, "JPEG", exif=exif)
    own_home = tmp_path / "home"
    with Catalog.open(own_home) as catalog:
        scan_folders(catalog, [tmp_path / "library"])
        [pending] = catalog.pending_photos()
        catalog.save_batch_results([PhotoResult(photo_id=pending.id, caption="a sideways drawing", model_id="m",
                                                model_checksum="c")])
        with SearchIndex.open(own_home / "index", create=True) as index:
            rebuild_search_index(catalog, index)
    base = serve(home_of=own_home)
    page.goto(f"{base}/photos/{pending.id}")
    page.wait_for_load_state("load")
    shown = page.eval_on_selector("#photo-image", """image => { const box = image.getBoundingClientRect();
        return {natural: [image.naturalWidth, image.naturalHeight], top: box.top, bottom: box.bottom,
                height: box.height, window: window.innerHeight}; }""")
    assert shown["natural"] == [800, 1200]  # the browser applies the EXIF orientation
    assert shown["bottom"] <= shown["window"] and shown["height"] > 0.5 * shown["window"]  # fitted, not cropped


def test_the_filters_narrow_the_results_as_cli_search_options_do(page, serve, home: Path) -> None:
    base = serve()
    search_for(page, base, "dog OR man OR girl OR water")
    page.click("details.filters summary")
    page.fill("input[name=tag]", "dog")
    page.press("input[name=tag]", "Enter")
    page.wait_for_url("**tag=dog*")
    expected = [hit["caption"] for hit in cli_search(home, "dog OR man OR girl OR water", "--tag", "dog",
                                                      "--limit", "60")]
    assert expected and [result["alt"] for result in shown_results(page)] == expected
    assert page.is_visible("input[name=tag]")  # the filters stay open while one is in use
    dogs = cli_search(home, "dog OR man OR girl OR water", "--tag", "dog", "--limit", "60")
    second = next(tag for hit in dogs for tag in hit["tags"]
                  if tag != "dog" and 0 < sum(tag in other["tags"] for other in dogs) < len(dogs))
    page.fill("input[name=tag]", f"dog, {second}")  # several tags: photos with all of them, as --tag repeated
    page.press("input[name=tag]", "Enter")
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("tag") == [f"dog, {second}"])
    both = [hit["caption"] for hit in cli_search(home, "dog OR man OR girl OR water", "--tag", "dog", "--tag", second,
                                                  "--limit", "60")]
    assert both and len(both) < len(expected) and [result["alt"] for result in shown_results(page)] == both
    assert page.input_value("input[name=tag]") == f"dog, {second}"
    page.fill("input[name=after]", "2999-01-01")
    page.press("input[name=tag]", "Enter")
    page.wait_for_url("**after=2999-01-01*")
    assert shown_results(page) == [] and "0 photos match" in page.inner_text(".summary")


def test_the_objects_found_are_listed_and_their_boxes_drawn_over_the_photo_on_request(page, serve, home: Path,
                                                                                      tmp_path: Path) -> None:
    from photocap.catalog.store import Catalog

    with Catalog.open(home) as catalog:
        found = catalog.detections_of([photo["id"] for photo in catalog.photos_under(["/"])])
    photo_id, objects = next((pid, shown) for pid, kept in sorted(found.items())
                             if (shown := [d for d in kept if d["score"] >= 0.4]))
    page.goto(f"{serve()}/photos/{photo_id}")
    page.wait_for_load_state("load")
    listed = page.text_content(".facts")
    assert f"{objects[0]['word']} {objects[0]['score']:.2f}" in listed
    drawing = page.locator("svg.objects")
    boxes = page.locator("svg.objects g.box rect")
    assert boxes.count() == len(objects) and not drawing.is_visible()  # drawn only when asked for
    page.click("label[for=show-objects]")
    assert drawing.is_visible() and not page.locator("#photo-image").is_visible()
    whole, drawn = page.locator("svg.objects image").bounding_box(), boxes.first.bounding_box()  # the photo drawn
    left, top, right, bottom = objects[0]["box"]
    assert abs(drawn["x"] - (whole["x"] + left * whole["width"])) <= 3  # on the photo, in its pixels
    assert abs(drawn["width"] - (right - left) * whole["width"]) <= 4
    assert abs(drawn["y"] - (whole["y"] + top * whole["height"])) <= 3
    assert whole["width"] > 400  # scaled to the page, as the photo itself is
    page.screenshot(path=str(Path(os.environ.get("PHOTOCAP_SCREENSHOTS", tmp_path)) / "objects.png"), full_page=True)

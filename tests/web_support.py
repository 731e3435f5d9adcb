"""What the web app's tests share: a library of real Flickr8k photos indexed by the real model (once per test
module), a fresh copy of its home for tests that edit, and an HTTP client that talks to the app as a
browser on the same machine would."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import REPO
from fastapi.testclient import TestClient

from photocap.cli import main
from photocap.web.app import create_app
from photocap.web.options import ServeOptions

# Twelve test-split photos: dogs, people, water, snow; enough for a word to find some and not others.
FLICKR = ["3385593926_d3e9c21170.jpg", "2677656448_6b7e7702af.jpg", "311146855_0b65fdb169.jpg",
          "1258913059_07c613f7ff.jpg", "1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg",
          "1002674143_1b742ab4b8.jpg", "1003163366_44323f5815.jpg", "1007129816_e794419615.jpg",
          "1007320043_627395c3d8.jpg", "1009434119_febe49276a.jpg", "1012212859_01547e3f17.jpg"]
ORIGIN = "http://127.0.0.1:8765"


def flickr_images() -> Path:
    data = Path(os.environ.get("PHOTOCAP_DATA") or REPO.parent / "shared" / "data" / "flickr8k")
    if not (data / "Images").is_dir():
        pytest.skip(f"Flickr8k data not found at {data} (set PHOTOCAP_DATA to its folder)")
    return data / "Images"


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def cli_search(home: Path, query: str, *extra: str) -> list[dict]:
    """The results of `photocap search --json`, without the "maybe" photos listed after them (uncounted)."""
    run = photocap(home, "search", query, "--json", *extra)
    hits = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return [hit for hit in hits if not hit.get("maybe")]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, library): the Flickr photos copied into a library and indexed by `photocap index`."""
    images = flickr_images()
    scratch = tmp_path_factory.mktemp("web")
    library, home = scratch / "library", scratch / "home"
    library.mkdir()
    for name in FLICKR:
        shutil.copy2(images / name, library / name)
    run = photocap(home, "index", str(library), "--workers", "0")
    assert run.exit_code == 0, run.output
    return home, library


@pytest.fixture
def home(indexed: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the indexed home, for a test that changes it (the photos stay where they are)."""
    copy = tmp_path / "home"
    shutil.copytree(indexed[0], copy)
    return copy


def client(home: Path, **options) -> TestClient:
    return TestClient(create_app(ServeOptions(home=home, **options)), base_url=ORIGIN,
                      raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def web(home: Path) -> Iterator[TestClient]:
    with client(home) as test_client:
        yield test_client


def csrf_of(page_html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = page_html.index(marker) + len(marker)
    return page_html[start : page_html.index('"', start)]


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH (Debian: apt-get install chromium; .ci/run does it)")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[dev])")
    executable = chromium_path()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def assert_accessible(browser, urls: Iterable[str] | Callable[[Any], Iterable[str]]) -> None:
    """Each page at `urls` passes axe-core's check; `urls` may be a function of the page, for addresses found by
    browsing first."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed (pip install -e .[dev])")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # to inject axe
    page = context.new_page()
    axe = axe_module.Axe()
    try:
        for url in urls(page) if callable(urls) else urls:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            results = axe.run(page)
            assert results.violations_count == 0, f"{url}:\n{results.generate_report()}"
    finally:
        context.close()

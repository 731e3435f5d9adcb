"""`photocap serve` on a 10,000-photo catalog: server time for a search page of 60 results, a cached thumbnail,
and a full page load in headless chromium (HTML, CSS, JS and 60 thumbnails).

    python -m benchmarks.serve                         # 10,000 photos, 30 searches, 5 page loads
    python -m benchmarks.serve --photos 2000 --json

The library: the real Flickr8k photos (8,091), repeated under distinct names up to --photos, hard-linked (or
copied) into a temporary folder and scanned into a fresh catalog by the real scanner. Fast path, stated: the
photos are not run through the captioner (10,000 photos would take most of an hour on this machine, and the
model's speed is measured by benchmarks/throughput.py); each photo gets, as its model caption, one of its
image's five human captions from captions.txt (a different one for each repeat), with its words as the
model's likely words, saved through the catalog's own write path; the search index is built from the catalog
by `rebuild_search_index`, as `photocap rebuild-index` does. Searching, rendering and serving are the real
code. Targets (issue 11): search page < 150 ms median, cached thumbnail < 5 ms, page load < 1 s.

Three figures for the search page: in-process (the ASGI app through Starlette's test client: routing, guard,
search, catalog, template), and over HTTP to a real uvicorn server on 127.0.0.1 (what a browser waits for).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from photocap.catalog.store import Catalog, PhotoResult
from photocap.indexing.scan import scan_folders
from photocap.search.index import SearchIndex
from photocap.search.sync import rebuild_search_index
from train.data import data_dir

QUERIES = ["dog", "dog running", "child", "man riding a bike", "water", "girl in a pink dress", "snow", "ball",
           "beach", "two people", "black dog", "grass", "boy jumping", "street", "woman", "red shirt", "climbing",
           "mountain", "football", "pool"]
PAGE_SIZE = 60


def build_library(images: Path, captions: dict[str, list[str]], root: Path, count: int) -> dict[str, str]:
    """`count` photos under `root` (100 a folder), linked to the Flickr images in turn; returns path -> caption."""
    names = sorted(captions)
    chosen: dict[str, str] = {}
    for i in range(count):
        name = names[i % len(names)]
        repeat = i // len(names)
        target = root / f"folder{i // 100:03}" / f"{Path(name).stem}-{repeat}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(images / name, target)
            except OSError:
                shutil.copyfile(images / name, target)
        texts = captions[name]
        chosen[str(target)] = texts[repeat % len(texts)].strip().rstrip(" .").lower()
    return chosen


def read_captions(data: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    with open(data / "captions.txt", newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            found[row["image"]].append(row["caption"])
    return {name: texts for name, texts in found.items() if (data / "Images" / name).is_file()}


def build_home(home: Path, library: Path, chosen: dict[str, str]) -> None:
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [library])
        pending = catalog.pending_photos()
        for start in range(0, len(pending), 1000):
            catalog.save_batch_results([
                PhotoResult(photo_id=photo.id, caption=chosen[photo.path], model_id="human-caption-stand-in",
                            model_checksum="flickr8k", words=[(w, 0.5) for w in set(chosen[photo.path].split())],
                            width=500, height=375)
                for photo in pending[start : start + 1000]])
        with SearchIndex.open(home / "index", create=True) as index:
            rebuild_search_index(catalog, index)


def milliseconds(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[max(0, -(-9 * len(ordered) // 10) - 1)] * 1000, 2), "n": len(ordered)}


def time_requests(get, urls: list[str], rounds: int) -> list[float]:
    for url in urls:  # warm-up: caches, first thumbnails, Whoosh's first open
        get(url)
    samples = []
    for _ in range(rounds):
        for url in urls:
            began = time.perf_counter()
            response = get(url)
            samples.append(time.perf_counter() - began)
            assert response.status_code == 200, (url, response.status_code)
    return samples


def start_server(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread


def page_loads(base: str, query: str, loads: int) -> list[float]:
    """Seconds from navigation to the load event (HTML, CSS, JS and every thumbnail), each load in a fresh
    browser context (an empty browser cache) at 1280x900; the server's thumbnail cache is warm."""
    from playwright.sync_api import sync_playwright

    samples = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             args=["--no-sandbox"])
        for _ in range(loads + 1):  # the first load warms the browser process itself
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(f"{base}/?q={query}", wait_until="load")
            elapsed = time.perf_counter() - began
            loaded = page.eval_on_selector_all(".grid img", "images => images.filter(i => i.naturalWidth).length")
            assert loaded == PAGE_SIZE, f"{loaded} thumbnails loaded"
            samples.append(elapsed)
            context.close()
        browser.close()
    return samples[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="times each query is asked")
    parser.add_argument("--loads", type=int, default=10, help="browser page loads")
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from photocap.web.app import create_app
    from photocap.web.options import ServeOptions

    data = data_dir(args.data)
    with tempfile.TemporaryDirectory(prefix="photocap-serve-bench-") as scratch:
        library, home = Path(scratch) / "library", Path(scratch) / "home"
        began = time.perf_counter()
        chosen = build_library(data / "Images", read_captions(data), library, args.photos)
        build_home(home, library, chosen)
        built_s = time.perf_counter() - began

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        options = ServeOptions(home=home, port=port)
        app = create_app(options)
        client = TestClient(app, base_url=f"http://127.0.0.1:{port}")
        searches = [f"/?q={query}" for query in QUERIES]
        full_pages = [url for url in searches if client.get(url.replace("/?", "/api/search?")).json()["total"]
                      >= PAGE_SIZE]
        in_process = time_requests(client.get, full_pages, args.rounds)
        photo_ids = [hit["id"] for hit in client.get("/api/search?q=dog").json()["results"]]
        thumbnails = [f"/photos/{i}/thumbnail" for i in photo_ids]
        thumbnail_in_process = time_requests(client.get, thumbnails, args.rounds)

        import httpx2

        server, thread = start_server(app, port)
        try:
            with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as http:
                over_http = time_requests(http.get, full_pages, args.rounds)
                thumbnail_over_http = time_requests(http.get, thumbnails, args.rounds)
            loads = page_loads(f"http://127.0.0.1:{port}", "dog", args.loads)
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    figures = {
        "photos": args.photos, "catalog_build_s": round(built_s, 1), "queries_with_60_results": len(full_pages),
        "search_page_in_process": milliseconds(in_process), "search_page_over_http": milliseconds(over_http),
        "cached_thumbnail_in_process": milliseconds(thumbnail_in_process),
        "cached_thumbnail_over_http": milliseconds(thumbnail_over_http),
        "browser_page_load_60_thumbnails": milliseconds(loads), "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:34} {value}")


if __name__ == "__main__":
    main()

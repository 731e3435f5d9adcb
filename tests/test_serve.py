"""`photocap serve` over HTTP: the pages and the JSON API against a real catalog and search index of real
photos captioned by the real model, compared with what the CLI says of the same home."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from web_support import ORIGIN, cli_search, client, csrf_of, photocap

from photocap.catalog.store import Catalog
from photocap.media.thumbnails import LONG_SIDE, thumbnail_path


def result_ids(page_html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<a href="/photos/(\d+)\?[^"]*" class="card-link"', page_html)]


def test_search_page_shows_what_cli_search_finds_in_the_same_order_with_alt_text(web, home: Path) -> None:
    expected = cli_search(home, "dog", "--limit", "60")
    assert expected, "the model should call some of these photos dogs"
    page = web.get("/", params={"q": "dog"})
    assert page.status_code == 200
    api = web.get("/api/search", params={"q": "dog"}).json()
    assert [hit["path"] for hit in api["results"]] == [hit["path"] for hit in expected]
    assert api["total"] == len(expected) and result_ids(page.text) == [hit["id"] for hit in api["results"]]
    for hit in api["results"]:
        assert f'alt="{hit["caption"]}"' in page.text
        assert hit["matched"] == next(e["matched"] for e in expected if e["path"] == hit["path"])
    assert f"<strong>{len(expected)}</strong> photo" in page.text
    assert "matched caption: dog" in page.text


BROAD = "dog OR man OR people OR water OR boy OR girl OR woman"


def test_filters_and_paging(web, home: Path) -> None:
    everything = cli_search(home, BROAD, "--limit", "60")
    assert len(everything) >= 4
    small = client(home, page_size=2)
    first, second = (small.get("/api/search", params={"q": BROAD, "page": n}).json() for n in (1, 2))
    assert first["total"] == len(everything) and first["pages"] == -(-len(everything) // 2)
    assert [h["path"] for h in first["results"] + second["results"]] == [h["path"] for h in everything[:4]]
    assert "page=2" in re.search(r'rel="next" href="([^"]*)"', small.get("/", params={"q": BROAD}).text).group(1)
    tagged = web.get("/api/search", params={"q": BROAD, "tag": "dog"}).json()
    assert [h["path"] for h in tagged["results"]] == [h["path"] for h in cli_search(home, BROAD, "--tag", "dog")]
    assert tagged["results"] and all("dog" in hit["tags"] for hit in tagged["results"])
    second = next(tag for hit in tagged["results"] for tag in hit["tags"] if tag != "dog")
    both = [h["path"] for h in cli_search(home, BROAD, "--tag", "dog", "--tag", second)]
    for params in ({"tag": ["dog", second]}, {"tag": f"dog, {second}"}, {"tag": [f"{second},dog", "dog"]}):
        assert [h["path"] for h in web.get("/api/search", params={"q": BROAD, **params}).json()["results"]] == both
    assert both and set(both) <= {h["path"] for h in tagged["results"]}
    form = web.get("/", params={"q": BROAD, "tag": ["dog", second]}).text
    assert f'name="tag" value="dog, {second}"' in form and result_ids(form) == [
        h["id"] for h in web.get("/api/search", params={"q": BROAD, "tag": ["dog", second]}).json()["results"]]
    assert web.get("/api/search", params={"q": BROAD, "after": "2999-01-01"}).json()["total"] == 0
    bad_day = web.get("/api/search", params={"q": BROAD, "after": "yesterday"})
    assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.json()["error"]
    unknown = web.get("/", params={"q": "dog zyzzyva"})
    assert "No caption or tag in the library has" in unknown.text and "zyzzyva" in unknown.text
    stop_words_only = web.get("/", params={"q": "a"})
    assert stop_words_only.status_code == 400 and "no searchable words" in stop_words_only.text


def test_photo_page_says_what_show_says_with_neighbours(web, home: Path) -> None:
    hits = web.get("/api/search", params={"q": "dog"}).json()["results"]
    second = hits[1]
    shown = json.loads(photocap(home, "show", second["path"], "--json").stdout)
    page = web.get(f"/photos/{second['id']}", params={"q": "dog", "rank": 1})
    assert page.status_code == 200
    assert f'alt="{shown["caption"]}"' in page.text and shown["caption_model"] in page.text
    assert f'{shown["confidence"]:.2f}' in page.text and f'value="{second["path"]}"' in page.text
    assert all(re.search(rf"<li[^>]*>{re.escape(tag['word'])}[ <]", page.text) for tag in shown["tags"])
    assert f'/photos/{hits[0]["id"]}?q=dog&amp;rank=0' in page.text
    assert f'/photos/{hits[2]["id"]}?q=dog&amp;rank=2' in page.text
    assert web.get(f"/api/photos/{second['id']}").json() == {"id": second["id"], **shown, "can_undo": False,
                                                             "edits": []}
    original = web.get(f"/photos/{second['id']}/file")
    assert original.status_code == 200 and original.content == Path(second["path"]).read_bytes()


def test_an_edit_becomes_the_users_own_reaches_cli_search_and_can_be_undone(web, home: Path) -> None:
    photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
    page = web.get(f"/photos/{photo['id']}")
    token = csrf_of(page.text)
    saved = web.post(f"/photos/{photo['id']}/edit", headers={"Origin": ORIGIN},
                     data={"csrf": token, "caption": "Rex chasing a frisbee at Whitby", "tags": "rex, frisbee"})
    assert saved.status_code == 303 and saved.headers["location"].startswith(f"/photos/{photo['id']}")
    shown = json.loads(photocap(home, "show", photo["path"], "--json").stdout)
    assert shown["caption"] == "Rex chasing a frisbee at Whitby" and shown["caption_source"] == "user"
    assert [(t["word"], t["source"]) for t in shown["tags"]] == [("frisbee", "user"), ("rex", "user")]
    assert [hit["path"] for hit in cli_search(home, "whitby")] == [photo["path"]]
    assert web.get("/api/search", params={"q": "whitby"}).json()["results"][0]["id"] == photo["id"]

    undone = web.post(f"/api/photos/{photo['id']}/undo", headers={"Origin": ORIGIN, "X-CSRF-Token": token})
    assert undone.status_code == 200 and undone.json()["photo"]["caption"] == photo["caption"]
    assert undone.json()["photo"]["caption_source"] == "model"
    assert cli_search(home, "whitby") == []
    again = web.post(f"/api/photos/{photo['id']}", headers={"Origin": ORIGIN, "X-CSRF-Token": token},
                     json={"caption": "", "tags": ["dog", "beach"]})
    assert again.status_code == 200 and {t["word"] for t in again.json()["photo"]["tags"]} == {"dog", "beach"}


def test_thumbnails_are_small_webp_cached_by_content_hash_and_pruned_with_their_photos(web, home: Path, indexed,
                                                                                      tmp_path: Path) -> None:
    photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
    content_hash = web.app.state.library.row(photo["id"])["content_hash"]
    cached = thumbnail_path(home, content_hash)
    assert not cached.exists()  # index_thumbnails is off by default: made when first asked for
    response = web.get(f"/photos/{photo['id']}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(response.content)) as thumbnail, Image.open(photo["path"]) as original:
        assert thumbnail.format == "WEBP"
        assert max(thumbnail.size) == min(LONG_SIDE, max(original.size))
    assert cached.read_bytes() == response.content
    marker = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(marker, "WEBP")
    cached.write_bytes(marker.getvalue())  # served from the cache from now on, not made again
    assert web.get(f"/photos/{photo['id']}/thumbnail").content == marker.getvalue()
    for torn in (b"", marker.getvalue()[:-10]):  # what a crash can leave of a file never fsynced: made again
        cached.write_bytes(torn)
        assert web.get(f"/photos/{photo['id']}/thumbnail").content == response.content == cached.read_bytes()

    other = web.get("/api/search", params={"q": BROAD}).json()["results"][-1]
    assert other["id"] != photo["id"] and web.get(f"/photos/{other['id']}/thumbnail").status_code == 200
    other_cached = thumbnail_path(home, web.app.state.library.row(other["id"])["content_hash"])
    aside = tmp_path / "aside.jpg"
    Path(photo["path"]).rename(aside)
    try:
        assert photocap(home, "index", str(indexed[1])).exit_code == 0
        assert photocap(home, "prune").exit_code == 0
    finally:
        aside.rename(photo["path"])
    assert not cached.exists() and other_cached.is_file()


def test_exports_a_copy_with_alt_text_and_a_manifest_of_the_results(web, home: Path) -> None:
    hits = web.get("/api/search", params={"q": "dog"}).json()["results"]
    copy = web.get(f"/photos/{hits[0]['id']}/export")
    assert copy.status_code == 200 and "attachment" in copy.headers["content-disposition"]
    with Image.open(io.BytesIO(copy.content)) as image:
        assert image.getexif().get(0x010E) == hits[0]["caption"]  # EXIF ImageDescription
    manifest = web.get("/export/manifest", params={"q": "dog", "format": "json"})
    assert manifest.status_code == 200
    rows = json.loads(manifest.content)
    assert [row["source"] for row in rows] == [hit["path"] for hit in hits]
    assert [row["alt_text"] for row in rows] == [hit["caption"] for hit in hits]
    assert web.get("/export/manifest", params={"q": "dog", "format": "pdf"}).status_code == 400


def test_library_page_says_what_status_says(web, home: Path, indexed) -> None:
    status = json.loads(photocap(home, "status", "--json").stdout)
    page = web.get("/library").text
    assert f"{status['photos']} ({status['ok']} ok" in page and status["model"] in page
    assert str(indexed[1]) in page
    api = web.get("/api/status").json()
    assert {key: api[key] for key in status} == status and api["folders"] == [str(indexed[1])]


def test_openapi_page_is_served_without_a_cdn(web) -> None:
    docs = web.get("/api/docs")
    assert docs.status_code == 200 and "/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert web.get("/swagger-ui/swagger-ui-bundle.js").status_code == 200
    paths = web.get("/api/openapi.json").json()["paths"]
    assert {"/api/search", "/api/photos/{photo_id}", "/api/photos/{photo_id}/undo", "/api/status"} <= set(paths)


def test_the_api_answers_errors_as_its_openapi_documents_them(web) -> None:
    schema = web.get("/api/openapi.json").json()
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert operations and all("422" not in op["responses"] for op in operations)  # the app never sends a 422
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    problem = schema["components"]["schemas"]["Problem"]
    photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
    good = {"Origin": ORIGIN, "X-CSRF-Token": csrf_of(web.get(f"/photos/{photo['id']}").text)}
    edit, undo = "/api/photos/{photo_id}", "/api/photos/{photo_id}/undo"
    cases = [  # (method, documented path, url, request options, status the app answers)
        ("get", "/api/search", "/api/search", {"params": {"q": "dog", "page": "two"}}, 400),  # FastAPI validates
        ("get", "/api/search", "/api/search", {"params": {"after": "2020-01-01"}}, 400),  # no q
        ("get", "/api/search", "/api/search", {"params": {"q": "dog", "after": "yesterday"}}, 400),  # ours
        ("get", "/api/photos/{photo_id}", "/api/photos/first", {}, 400),
        ("get", "/api/photos/{photo_id}", "/api/photos/987654", {}, 404),
        ("post", edit, f"/api/photos/{photo['id']}", {"headers": good, "json": {"caption": ["a", "list"]}}, 400),
        ("post", edit, f"/api/photos/{photo['id']}", {"headers": good, "content": b"{not json"}, 400),
        ("post", edit, f"/api/photos/{photo['id']}", {"headers": good, "json": {"tags": ["a|b"]}}, 400),
        ("post", edit, f"/api/photos/{photo['id']}", {"headers": {"Origin": ORIGIN}, "json": {}}, 403),
        ("post", undo, f"/api/photos/{photo['id']}/undo", {"headers": good}, 400),  # nothing to undo
    ]
    for method, documented_path, url, request, status in cases:
        response = web.request(method.upper(), url, **request)
        assert response.status_code == status, (url, request, response.text)
        documented = schema["paths"][documented_path][method]["responses"]
        assert str(status) in documented, (documented_path, method, status)
        content = documented[str(status)]["content"]["application/json"]["schema"]
        assert content == {"$ref": "#/components/schemas/Problem"}
        assert set(response.json()) == set(problem["properties"]) == set(problem["required"]) == {"error"}


def test_reads_and_edits_work_while_watch_runs(home: Path, indexed) -> None:
    import os
    import subprocess
    import sys
    import time

    from conftest import REPO

    watch = subprocess.Popen([sys.executable, "-m", "photocap.cli", "--home", str(home), "watch", str(indexed[1])],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        for line in watch.stderr:
            if line.startswith("watching "):
                break
        else:
            raise AssertionError("watch ended before it was watching")
        web = client(home)
        photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
        token = csrf_of(web.get(f"/photos/{photo['id']}").text)
        began = time.monotonic()
        edited = web.post(f"/api/photos/{photo['id']}", headers={"Origin": ORIGIN, "X-CSRF-Token": token},
                          json={"caption": "Pepper asleep in Zanzibar"})
        assert edited.status_code == 200 and time.monotonic() - began < 10
        assert any("indexing this home" in note for note in edited.json()["notes"])
        assert edited.json()["photo"]["caption"] == "Pepper asleep in Zanzibar"
        deadline = time.monotonic() + 60
        while not cli_search(home, "zanzibar") and time.monotonic() < deadline:
            time.sleep(0.5)  # watch takes the edit into the search index within seconds
        assert [hit["path"] for hit in cli_search(home, "zanzibar")] == [photo["path"]]
        assert web.get("/api/search", params={"q": "zanzibar"}).json()["total"] == 1
    finally:
        watch.kill()
        watch.wait()


def test_an_exif_rotated_photo_gets_an_upright_thumbnail(tmp_path: Path) -> None:
    from conftest import draw_photo

    from photocap.catalog.store import PhotoResult
    from photocap.indexing.scan import scan_folders

    path = draw_photo(tmp_path / "library" / "sideways.jpg", size=(96, 64))
    with Image.open(path) as drawn:
        exif = Image.Exif()
        exif[0x0112] = 6  # stored a quarter turn from upright: shown 64 wide, 96 high
        drawn.copy().save(path, "JPEG", exif=exif)
    home = tmp_path / "home"
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [tmp_path / "library"])
        [pending] = catalog.pending_photos()
        catalog.save_batch_results([PhotoResult(photo_id=pending.id, caption="a drawing", model_id="m",
                                                model_checksum="c")])
    response = client(home).get(f"/photos/{pending.id}/thumbnail")
    with Image.open(io.BytesIO(response.content)) as thumbnail:
        assert thumbnail.size == (64, 96)


def test_indexing_makes_the_thumbnails_in_its_decoding_processes(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from conftest import REPO
    from web_support import FLICKR, flickr_images

    library, home = tmp_path / "library", tmp_path / "home"
    library.mkdir()
    for name in FLICKR[:3]:
        shutil.copy2(flickr_images() / name, library / name)
    shutil.copy2(flickr_images() / FLICKR[0], library / "same-photo-again.jpg")
    coco = REPO.parent / "shared" / "data" / "coco-dev" / "images" / "000000000790.jpg"  # full size
    if coco.is_file():
        shutil.copy2(coco, library / "coco.jpg")
    lazy_home = tmp_path / "lazy-home"
    assert photocap(lazy_home, "index", str(library), "--workers", "1").exit_code == 0
    assert not (lazy_home / "thumbnails").exists()  # off by default: made when first shown
    monkeypatch.setenv("PHOTOCAP_INDEX_THUMBNAILS", "true")
    assert photocap(home, "index", str(library), "--workers", "1").exit_code == 0
    with Catalog.open(home) as catalog:
        hashes = {row["path"]: row["content_hash"] for row in catalog.photos_under([str(library)])}
    made = sorted((home / "thumbnails").glob("*/*.webp"))
    assert sorted(path.stem for path in made) == sorted(set(hashes.values()))
    assert len(made) == len(hashes) - 1  # two copies of one photo share a thumbnail
    for path, source in ((thumbnail_path(home, content_hash), path) for path, content_hash in hashes.items()):
        with Image.open(path) as thumbnail, Image.open(source) as original:
            assert thumbnail.format == "WEBP"
            if max(original.size) <= LONG_SIDE:
                assert thumbnail.size == original.size  # never enlarged
            else:
                assert max(thumbnail.size) == LONG_SIDE
                assert abs(thumbnail.size[0] / thumbnail.size[1] - original.size[0] / original.size[1]) < 0.02


def test_heic_and_raw_photos_are_shown_as_webp_and_get_thumbnails(tmp_path: Path) -> None:
    from test_formats import phone_photo, write_dng

    from photocap.catalog.store import PhotoResult
    from photocap.indexing.scan import scan_folders
    from photocap.media.thumbnails import display_path, prune_thumbnails

    library = tmp_path / "library"
    library.mkdir()
    heic = phone_photo(library / "phone.heic", seed=3)
    dng = write_dng(library / "camera.dng", orientation=6)  # stored a quarter turn: shown 120 wide, 160 high
    home = tmp_path / "home"
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [library])
        pending = {Path(photo.path).name: photo for photo in catalog.pending_photos()}
        catalog.save_batch_results([PhotoResult(photo_id=photo.id, caption="a test", model_id="m", model_checksum="c")
                                    for photo in pending.values()])
        by_id = catalog.content_hashes_by_id([photo.id for photo in pending.values()])
        hashes = {name: by_id[photo.id] for name, photo in pending.items()}
    web = client(home)
    for name, landscape in ((heic.name, True), (dng.name, False)):
        shown = web.get(f"/photos/{pending[name].id}/file")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(shown.content)) as image:
            assert image.format == "WEBP" and (image.width > image.height) == landscape  # upright
            if name == heic.name:
                assert image.size == (160, 120)  # whole size, being under 2048 px (LibRaw halves the DNG)
        assert display_path(home, hashes[name]).is_file()  # made once, then served from the cache
        thumbnail = web.get(f"/photos/{pending[name].id}/thumbnail")
        assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    prune_thumbnails(home, keep=[hashes[heic.name]])
    assert display_path(home, hashes[heic.name]).is_file() and not display_path(home, hashes[dng.name]).exists()


@pytest.mark.parametrize(("size", "expected"), [((224, 224), (224, 224)), ((640, 427), (320, 214)),
                                                ((427, 640), (214, 320)), ((504, 378), (320, 240)),
                                                ((4032, 3024), (320, 240)), ((3000, 20), (320, 2))])
def test_thumbnails_fit_the_long_side_keeping_the_shape(size: tuple[int, int], expected: tuple[int, int]) -> None:
    from photocap.media.thumbnails import fitted

    image = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).convert("RGB").resize(size)
    small = fitted(image)
    assert small.size == expected and small.mode == "RGB"
    # a box average of whole blocks, then bilinear: the gradient's mean survives, nothing is cropped
    assert abs(np.asarray(small, dtype=float).mean() - np.asarray(image, dtype=float).mean()) < 2.0

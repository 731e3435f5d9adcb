"""`photocap serve`'s safety rules, each tried over HTTP: Host header, token, same origin and CSRF, read-only,
paths in parameters, symlinks out of the indexed folders, errors without tracebacks; and the command's own
refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import draw_photo
from web_support import ORIGIN, client, csrf_of, photocap

from photocap.catalog.store import Catalog, PhotoResult
from photocap.indexing.scan import scan_folders
from photocap.search.index import SearchIndex
from photocap.search.sync import rebuild_search_index
from photocap.web.options import checked_options

SECRET = "root:x:0:0 the secret"


def first_photo(web) -> dict:
    return web.get("/api/search", params={"q": "dog"}).json()["results"][0]


def test_a_foreign_host_header_is_refused(home: Path) -> None:
    web = client(home)
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example:80"):
        response = web.get("/", headers={"Host": host})
        assert response.status_code == 421, host
        assert web.get("/api/search", params={"q": "dog"}, headers={"Host": host}).status_code == 421
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST"):
        assert web.get("/", headers={"Host": host}).status_code == 200, host


def test_a_cross_origin_or_tokenless_write_is_refused(home: Path) -> None:
    web = client(home)
    photo = first_photo(web)
    token = csrf_of(web.get(f"/photos/{photo['id']}").text)
    edit = {"caption": "written by another site", "tags": ["spam"]}
    wrong_token = token[:-1] + ("y" if token.endswith("x") else "x")  # one character off, never the token itself
    attempts = [
        ({"Origin": "http://evil.example", "X-CSRF-Token": token}, "cross-origin"),
        ({"Origin": "http://127.0.0.1:9999", "X-CSRF-Token": token}, "another port is another origin"),
        ({"Referer": "http://evil.example/page", "X-CSRF-Token": token}, "cross-origin referer"),
        ({"X-CSRF-Token": token}, "no origin at all"),
        ({"Origin": ORIGIN}, "no CSRF token"),
        ({"Origin": ORIGIN, "X-CSRF-Token": wrong_token}, "wrong CSRF token"),
        ({"Origin": "null", "X-CSRF-Token": token}, "opaque origin"),
    ]
    for headers, why in attempts:
        response = web.post(f"/api/photos/{photo['id']}", headers=headers, json=edit)
        assert response.status_code == 403, why
    form = web.post(f"/photos/{photo['id']}/edit", headers={"Origin": "http://evil.example"},
                    data={"csrf": token, "caption": "x", "tags": ""})
    assert form.status_code == 403
    assert web.get(f"/api/photos/{photo['id']}").json()["caption"] == photo["caption"]
    accepted = web.post(f"/api/photos/{photo['id']}", headers={"Origin": ORIGIN, "X-CSRF-Token": token}, json=edit)
    assert accepted.status_code == 200 and accepted.json()["photo"]["caption"] == edit["caption"]
    other_run = client(home)  # another server run has another CSRF secret
    stale = other_run.post(f"/api/photos/{photo['id']}", headers={"Origin": ORIGIN, "X-CSRF-Token": token},
                           json=edit)
    assert stale.status_code == 403


def test_read_only_refuses_every_write_and_shows_no_edit_form(home: Path) -> None:
    web = client(home, read_only=True)
    photo = first_photo(web)
    page = web.get(f"/photos/{photo['id']}")
    assert page.status_code == 200 and 'class="edit"' not in page.text and "read-only" in page.text
    token = csrf_of(page.text)
    headers = {"Origin": ORIGIN, "X-CSRF-Token": token}
    assert web.post(f"/api/photos/{photo['id']}", headers=headers, json={"caption": "no"}).status_code == 403
    assert web.post(f"/api/photos/{photo['id']}/undo", headers=headers).status_code == 403
    form = web.post(f"/photos/{photo['id']}/edit", headers={"Origin": ORIGIN}, data={"csrf": token, "caption": "no"})
    assert form.status_code == 403 and "read-only" in form.text
    assert web.get(f"/api/photos/{photo['id']}").json()["caption"] == photo["caption"]


TRAVERSALS = ["../../../../etc/passwd", "..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
              "..%252f..%252fetc%252fpasswd", "/etc/passwd", "....//....//etc/passwd", "..\\..\\etc\\passwd"]


@pytest.mark.parametrize("attack", TRAVERSALS)
def test_paths_in_any_parameter_never_reach_a_file(home: Path, tmp_path: Path, attack: str) -> None:
    web = client(home)
    photo_id = first_photo(web)["id"]
    raw_urls = [
        f"/photos/{attack}/file", f"/photos/{attack}/thumbnail", f"/photos/{photo_id}/file/{attack}",
        f"/static/{attack}", f"/swagger-ui/{attack}", f"/api/photos/{attack}", f"/{attack}",
        f"/photos/{photo_id}/thumbnail?path={attack}", f"/photos/{photo_id}/file?file={attack}",
        f"/?q=dog&folder={attack}", f"/?q={attack}", f"/api/search?q=dog&folder={attack}",
        f"/api/search?q=dog&tag={attack}&camera={attack}", f"/export/manifest?q=dog&format={attack}",
        f"/photos/{photo_id}?q=dog&rank={attack}&folder={attack}",
    ]
    for url in raw_urls:
        response = web.get(url)
        assert response.status_code in (200, 400, 404, 405), (url, response.status_code)
        assert b"root:x:0:" not in response.content and b"Traceback" not in response.content, url
    folder_search = web.get("/api/search", params={"q": "dog", "folder": attack.replace("%2f", "/")})
    assert folder_search.status_code == 400 and "folder" in folder_search.json()["error"]


def symlinked_library(tmp_path: Path, home: Path) -> tuple[Path, Path]:
    """A library of two photos, catalogued; then one of them is swapped for a symlink to a file outside it."""
    library, outside = tmp_path / "library", tmp_path / "outside"
    draw_photo(library / "kept.jpg", seed=1)
    draw_photo(library / "swapped.jpg", seed=2)
    outside.mkdir()
    (outside / "secret.jpg").write_text(SECRET)
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [library])
        ids = {photo.path: photo.id for photo in catalog.pending_photos()}
        catalog.save_batch_results([PhotoResult(photo_id=i, caption=f"a dog in {Path(p).stem}", model_id="m",
                                                model_checksum="c") for p, i in ids.items()])
        with SearchIndex.open(home / "index", create=True) as index:
            rebuild_search_index(catalog, index)
    (library / "swapped.jpg").unlink()
    (library / "swapped.jpg").symlink_to(outside / "secret.jpg")
    return library, outside


def test_a_photo_swapped_for_a_symlink_out_of_the_indexed_folders_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    library, _outside = symlinked_library(tmp_path, home)
    web = client(home)
    ids = {Path(hit["path"]).name: hit["id"] for hit in web.get("/api/search", params={"q": "dog"}).json()["results"]}
    kept = web.get(f"/photos/{ids['kept.jpg']}/file")
    assert kept.status_code == 200 and kept.content == (library / "kept.jpg").read_bytes()
    for what in ("file", "thumbnail"):
        response = web.get(f"/photos/{ids['swapped.jpg']}/{what}")
        assert response.status_code == 403 and SECRET.encode() not in response.content
        assert "outside the indexed folders" in response.text
    inside = library / "sub"
    inside.mkdir()
    os.replace(library / "kept.jpg", inside / "real.jpg")
    (library / "kept.jpg").symlink_to(inside / "real.jpg")  # a link within the library is fine
    assert web.get(f"/photos/{ids['kept.jpg']}/file").status_code == 200


def test_off_loopback_a_token_is_needed_once_then_a_cookie_carries_it(home: Path) -> None:
    options = checked_options(home, "0.0.0.0", 8765, False, None, generate_token=False)
    assert options.token and len(options.token) >= 16 and f"?token={options.token}" in options.url()
    assert checked_options(home, "127.0.0.1", 8765, False, None, generate_token=False).token is None
    web = client(home, host="0.0.0.0", token=options.token)
    for response in (web.get("/"), web.get("/api/search", params={"q": "dog"}), web.get("/photos/1/thumbnail")):
        assert response.status_code == 401
    assert web.get("/", params={"token": "wrong" * 5}).status_code == 403
    wrong_cookie = client(home, host="0.0.0.0", token=options.token)
    wrong_cookie.cookies.set("photocap_token", "wrong" * 5)  # on the client: per-request cookies are deprecated
    assert wrong_cookie.get("/").status_code == 403
    entered = web.get("/", params={"q": "dog", "token": options.token})
    assert entered.status_code == 303 and "token" not in entered.headers["location"]
    assert "q=dog" in entered.headers["location"] and "HttpOnly" in entered.headers["set-cookie"]
    assert web.get("/", params={"q": "dog"}).status_code == 200  # the cookie now carries it
    import socket

    assert web.get("/", params={"q": "dog"}, headers={"Host": f"{socket.gethostname()}:8765"}).status_code == 200
    assert web.get("/", params={"q": "dog"}, headers={"Host": "evil.example:8765"}).status_code == 421
    assert socket.gethostname() in options.url()
    bearer = client(home, host="0.0.0.0", token=options.token)
    ok = bearer.get("/api/search", params={"q": "dog"}, headers={"Authorization": f"Bearer {options.token}"})
    assert ok.status_code == 200


def test_off_loopback_the_machines_own_addresses_are_accepted_and_printed(home: Path) -> None:
    from photocap.web.options import interface_addresses

    options = checked_options(home, "0.0.0.0", 8765, False, None, generate_token=False)
    addresses = sorted(address for address in interface_addresses() if address not in ("127.0.0.1", "::1"))
    if not addresses:
        pytest.skip("this machine has no network address but loopback")
    urls = options.urls()
    web = client(home, host="0.0.0.0", token=options.token)
    assert web.get("/", params={"token": options.token}).status_code == 303  # the cookie is set
    for address in addresses:
        host = f"[{address}]" if ":" in address else address
        assert f"http://{host}:8765/?token={options.token}" in urls
        assert web.get("/", params={"q": "dog"}, headers={"Host": f"{host}:8765"}).status_code == 200, address
    for stranger in ("203.0.113.77:8765", "[2001:db8::77]:8765"):  # addresses of no interface here
        assert web.get("/", params={"q": "dog"}, headers={"Host": stranger}).status_code == 421
    served_on_one = checked_options(home, addresses[0], 8765, False, None, generate_token=False)
    assert len(served_on_one.urls()) == 1


def test_errors_are_pages_or_json_never_tracebacks(home: Path) -> None:
    web = client(home)
    for url, status in (("/photos/999999", 404), ("/photos/abc", 400), ("/nowhere", 404),
                        ("/api/photos/999999", 404), ("/?q=dog&page=0", 400), ("/?q=dog)", 400)):
        response = web.get(url)
        assert response.status_code == status, url
        assert b"Traceback" not in response.content and b'File "' not in response.content
    assert web.get("/photos/999999").headers["content-type"].startswith("text/html")
    malformed = web.get("/", params={"q": "dog)"})
    assert "bad query" in malformed.text and 'id="q"' in malformed.text and 'value="dog)"' in malformed.text
    assert web.get("/api/photos/999999").json() == {"error": "no photo 999999 in the catalog"}
    assert web.post("/api/photos/1", headers={"Origin": ORIGIN}, content=b"x").status_code == 403
    empty = client(Path("/nonexistent/photocap-home"))
    missing = empty.get("/", params={"q": "dog"})
    assert missing.status_code in (400, 503) and "run `photocap index" in missing.text


def test_serve_refuses_bad_options_in_one_line(home: Path, tmp_path: Path) -> None:
    short = photocap(home, "serve", "--host", "0.0.0.0", "--token", "short")
    assert short.exit_code == 2 and "at least 16 characters" in short.output
    nothing = photocap(tmp_path / "empty-home", "serve")
    assert nothing.exit_code == 2 and "no catalog" in nothing.output
    bad_port = photocap(home, "serve", "--port", "70000")
    assert bad_port.exit_code == 2
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = photocap(home, "serve", "--port", str(taken.getsockname()[1]))
    assert busy.exit_code == 2 and "cannot listen on 127.0.0.1" in busy.output
    assert len(busy.output.strip().splitlines()) == 1

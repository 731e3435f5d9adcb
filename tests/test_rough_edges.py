"""Rough edges a new user hit (issue 10), through the command line on a real catalog and index: everyday queries
with colons and dashes, --folder outside the library, edits of photos search could never show."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import draw_photo
from test_index import json_lines, photocap


@pytest.fixture
def indexed(tmp_home: Path, tmp_path: Path) -> Path:
    library = tmp_path / "photos"
    for i in range(3):
        draw_photo(library / "garden" / f"p{i}.png", size=(96, 72), seed=i)
    (library / "broken.jpg").write_bytes(b"not a photo at all")
    run = photocap(tmp_home, "index", str(library))
    assert run.exit_code == 3, run.output  # the broken file is listed, the others indexed
    return library


def test_queries_with_colons_and_a_leading_dash_are_searched_not_refused(tmp_home: Path, indexed: Path) -> None:
    caption = json_lines(photocap(tmp_home, "show", str(indexed / "garden" / "p0.png"), "--json").stdout)[0]["caption"]
    word = max(caption.split(), key=len)
    for query in (f"{word}:beach", f"time: 10:30 {word}", f"clock that says 8:25 {word}"):
        run = photocap(tmp_home, "search", query)
        assert run.exit_code == 0, (query, run.output)
    everything = {hit["path"] for hit in json_lines(photocap(tmp_home, "search", word, "--json").stdout)}
    run = photocap(tmp_home, "search", f"-{word}", "--json")  # read as a query, and as "not WORD"
    assert run.exit_code in (0, 1) and "No such option" not in run.output
    assert not everything & {hit["path"] for hit in json_lines(run.stdout)}


def test_a_mistyped_search_option_is_named_not_taken_for_a_second_query(tmp_home: Path, indexed: Path) -> None:
    for args in (("garden", "--paths-only"), ("--paths-only", "garden"), ("garden", "--limt=3")):
        run = photocap(tmp_home, "search", *args)
        assert run.exit_code == 2 and "No such option" in run.stderr and "extra argument" not in run.stderr, args
    assert "Did you mean '--paths'?" in photocap(tmp_home, "search", "garden", "--paths-only").stderr
    assert photocap(tmp_home, "search", "garden", "--limit=2", "--paths").exit_code in (0, 1)
    assert photocap(tmp_home, "search", "--", "--garden").exit_code in (0, 1)  # after --, a query


def test_a_folder_outside_the_library_is_named(tmp_home: Path, indexed: Path, tmp_path: Path) -> None:
    run = photocap(tmp_home, "search", "garden", "--folder", str(tmp_path / "nowhere"))
    assert run.exit_code == 2 and "no such folder" in run.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = photocap(tmp_home, "search", "garden", "--folder", str(elsewhere))
    assert run.exit_code == 2 and "no photo of the library is there" in run.stderr
    found = photocap(tmp_home, "search", "garden", "--folder", str(indexed / "garden"), "--json")
    assert found.exit_code in (0, 1)  # a folder of the library is searched, whatever it holds


def test_edits_of_photos_search_cannot_show_are_refused(tmp_home: Path, indexed: Path, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.png"
    draw_photo(stranger)
    run = photocap(tmp_home, "caption", "--set", str(stranger), "my cat")
    assert run.exit_code == 2 and "not in the catalog" in run.stderr
    run = photocap(tmp_home, "caption", "--set", str(indexed / "broken.jpg"), "my cat")
    assert run.exit_code == 2 and "could not be read when it was indexed" in run.stderr
    run = photocap(tmp_home, "tag", str(indexed / "broken.jpg"), "--add", "cat")
    assert run.exit_code == 2 and "could not be read" in run.stderr

    photo = indexed / "garden" / "p1.png"
    run = photocap(tmp_home, "caption", "--clear", str(photo))
    assert run.exit_code == 0 and "nothing to clear" in run.stderr
    assert photocap(tmp_home, "caption", "--set", str(photo), "Grandpa's roses").exit_code == 0
    run = photocap(tmp_home, "caption", "--clear", str(photo))
    assert run.exit_code == 0 and "caption cleared" in run.stderr


def test_missing_photos_are_named_and_can_be_forgotten(tmp_home: Path, indexed: Path) -> None:
    gone = indexed / "garden" / "p2.png"
    gone.unlink()
    run = photocap(tmp_home, "index", str(indexed))
    assert run.exit_code == 0 and "1 missing" in run.stdout  # the broken file is old news: exit 0
    status = photocap(tmp_home, "status")
    assert f"missing: {gone}" in status.stdout and "photocap prune" in status.stdout
    run = photocap(tmp_home, "similar", str(gone))
    assert run.exit_code == 2 and f"{gone} is missing from disk since the last index run" in run.stderr
    assert json_lines(photocap(tmp_home, "status", "--json").stdout)[0]["missing_photos"] == [str(gone)]
    pruned = photocap(tmp_home, "prune", "--json")
    assert pruned.exit_code == 0 and json_lines(pruned.stdout) == [{"pruned": 1, "paths": [str(gone)]}]
    after = json_lines(photocap(tmp_home, "status", "--json").stdout)[0]
    assert (after["missing"], after["missing_photos"], after["photos"]) == (0, [], 3)
    draw_photo(gone, size=(96, 72), seed=2)  # back again: simply indexed anew
    summary = json_lines(photocap(tmp_home, "index", str(indexed), "--json").stdout)[0]
    assert (summary["new"], summary["captioned"]) == (1, 1)


def test_export_of_a_query_writes_the_best_matches_and_says_how_many(tmp_home: Path, indexed: Path,
                                                                      tmp_path: Path) -> None:
    for i in range(3):
        photo = indexed / "garden" / f"p{i}.png"
        assert photocap(tmp_home, "caption", "--set", str(photo), f"roses {i}").exit_code == 0
    run = photocap(tmp_home, "export", "--query", "roses", "--limit", "2", "--to", str(tmp_path / "out"))
    assert run.exit_code == 0, run.output
    assert run.stderr.startswith("exporting 2 photos (the best matches; --limit N for more)")
    assert len(list((tmp_path / "out").iterdir())) == 2
    run = photocap(tmp_home, "export", "--query", "roses", "--to", str(tmp_path / "all"))  # default: 20
    assert run.exit_code == 0 and "exporting 3 photos" in run.stderr


def test_caption_and_index_word_bad_files_alike(tmp_home: Path, indexed: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("shopping list: eggs, milk\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    run = photocap(tmp_home, "caption", str(tmp_path / "notes.jpg"), str(tmp_path / "empty.jpg"),
                   str(tmp_path / "never.jpg"))
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [f"error: {tmp_path / 'notes.jpg'}: not an image (the file holds text)",
                                       f"error: {tmp_path / 'empty.jpg'}: empty file",
                                       f"error: {tmp_path / 'never.jpg'}: no such file"]
    (indexed / "notes.jpg").write_text("shopping list: eggs, milk\n")
    (indexed / "empty.jpg").write_bytes(b"")
    run = photocap(tmp_home, "index", str(indexed))
    assert f"error: {indexed / 'notes.jpg'}: not an image (the file holds text)" in run.stderr
    assert f"error: {indexed / 'empty.jpg'}: empty file" in run.stderr


def test_a_missing_search_index_has_one_answer_and_index_rebuilds_it(tmp_home: Path, indexed: Path) -> None:
    import shutil

    caption = json_lines(photocap(tmp_home, "show", str(indexed / "garden" / "p0.png"), "--json").stdout)[0]["caption"]
    shutil.rmtree(tmp_home / "index")
    search = photocap(tmp_home, "search", caption)
    status = photocap(tmp_home, "status")
    assert search.exit_code == 2 and status.exit_code == 3
    assert "run `photocap rebuild-index`" in search.stderr and "run `photocap rebuild-index`" in status.stdout
    assert photocap(tmp_home, "index", str(indexed)).exit_code == 0  # rebuilt from the catalog, not left empty
    assert photocap(tmp_home, "status").exit_code == 0
    hits = json_lines(photocap(tmp_home, "search", caption, "--json").stdout)
    assert str(indexed / "garden" / "p0.png") in [hit["path"] for hit in hits]


def test_nothing_indexed_yet_says_so(tmp_home: Path) -> None:
    run = photocap(tmp_home, "search", "dog")
    assert run.exit_code == 2 and "run `photocap index FOLDER` first" in run.stderr


def test_an_unusable_home_is_named_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from photocap.cli import main

    (tmp_path / "a-file").write_text("not a folder")
    draw_photo(tmp_path / "photos" / "p.png")
    cases = [(tmp_path / "a-file" / "home", "Not a directory"),
             (Path("/proc/photocap-home"), "No such file or directory")]
    for home, reason in cases:
        run = CliRunner().invoke(main, ["--home", str(home), "index", str(tmp_path / "photos")])
        assert run.exit_code == 2
        assert run.stderr.strip().splitlines() == [
            f"Error: cannot use {home} as photocap's home (--home, PHOTOCAP_HOME): {reason}"]


def test_a_photo_still_being_written_is_not_recorded_as_broken(tmp_home: Path, tmp_path: Path) -> None:
    from photocap.catalog.store import Catalog
    from photocap.config import load_settings
    from photocap.indexing.scan import scan_folders
    from photocap.indexing.worker import caption_photos
    from photocap.model.captioner import Captioner
    from photocap.search.index import SearchIndex

    library = tmp_path / "photos"
    whole = draw_photo(library / "whole.jpg", size=(400, 300)).read_bytes()
    growing = library / "growing.jpg"
    growing.write_bytes(whole[: len(whole) // 4])
    settings = load_settings(None, tmp_home, workers=0)
    with Catalog.open(tmp_home) as catalog, SearchIndex.open(tmp_home / "index") as index:
        scan_folders(catalog, [library])
        growing.write_bytes(whole[: len(whole) // 2])  # the copy goes on after the scan: still truncated
        captioned, failed = caption_photos(catalog, index, Captioner.load(), catalog.pending_photos(), settings)
        assert (captioned, failed) == (1, 0)
        assert catalog.photo_by_path(str(growing))["status"] == "pending"  # not "error": read again later
    growing.write_bytes(whole)
    summary = json_lines(photocap(tmp_home, "index", str(library), "--json").stdout)[0]
    assert (summary["changed"], summary["captioned"], summary["new_errors"]) == (1, 1, 0)


# --------------------------------------------------------------------------- rough edges of issue 20


def test_a_folder_without_photos_is_said_with_the_types_photocap_reads(tmp_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no photos here")
    run = photocap(tmp_home, "index", str(empty))
    assert run.exit_code == 0
    assert f"no photos found under {empty} (photocap reads JPEG, PNG" in run.stderr
    assert "HEIC/HEIF" in run.stderr and "camera RAW" in run.stderr


def test_a_folder_of_symbolic_links_says_they_were_not_followed(tmp_home: Path, tmp_path: Path) -> None:
    outside = draw_photo(tmp_path / "elsewhere" / "real.jpg")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "a.jpg").symlink_to(outside)
    (linked / "b.jpg").symlink_to(outside)
    run = photocap(tmp_home, "index", str(linked))
    assert run.exit_code == 0 and f"no photos found under {linked}" in run.stderr
    assert "2 symbolic links under the folders not followed (--follow-symlinks" in run.stderr
    followed = photocap(tmp_home, "index", str(linked), "--follow-symlinks", "--json")
    assert json_lines(followed.stdout)[0]["new"] == 2 and "symbolic link" not in followed.stderr


def test_a_path_that_does_not_exist_is_no_such_file_not_uncatalogued(
    tmp_home: Path, indexed: Path, tmp_path: Path
) -> None:
    nowhere = tmp_path / "nowhere.jpg"
    for args in (("tag", str(nowhere), "--add", "cat"), ("caption", "--set", str(nowhere), "my cat"),
                 ("show", str(nowhere)), ("similar", str(nowhere))):
        run = photocap(tmp_home, *args)
        assert run.exit_code == 2 and f"no such file: {nowhere}" in run.stderr, (args, run.output)
    stranger = tmp_path / "stranger.png"
    draw_photo(stranger)
    for args in (("tag", str(stranger), "--add", "cat"), ("similar", str(stranger))):
        run = photocap(tmp_home, *args)
        assert run.exit_code == 2 and f"not in the catalog: {stranger}" in run.stderr, (args, run.output)
    run = photocap(tmp_home, "similar", str(indexed / "broken.jpg"))  # catalogued, but never captioned
    assert run.exit_code == 2 and "could not be read when it was indexed" in run.stderr, run.output
    assert len(run.stderr.strip().splitlines()) == 1


def test_counts_of_one_read_as_one(tmp_home: Path, indexed: Path) -> None:
    run = photocap(tmp_home, "index", str(indexed))
    assert "1 photo failed before and still does" in run.stderr
    assert "1 photos" not in run.output
    run = photocap(tmp_home, "rebuild-index")
    assert run.exit_code == 0 and "search index rebuilt: 3 photos" in run.stderr


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` unwritable, even for root (which ignores permissions): immutable where chattr works."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
        pytest.skip("running as root, and chattr +i does not work here: no way to make a folder read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_sidecars_into_a_read_only_folder_fail_in_one_line_naming_it(tmp_home: Path, indexed: Path) -> None:
    garden = indexed / "garden"
    with read_only(garden):
        run = photocap(tmp_home, "export", str(garden), "--sidecar")
    assert run.exit_code == 2, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot write in {garden}: Operation not permitted (3 photos not exported)"] or \
        errors == [f"error: cannot write in {garden}: Permission denied (3 photos not exported)"], run.stderr
    assert "photocap-tmp" not in run.stderr and not list(garden.glob("*.xmp"))

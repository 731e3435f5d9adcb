"""The folder scanner on real files and a real catalog: change detection, moves, bad files, odd names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, draw_photo

import photocap.indexing.scan as scan_module
from photocap.catalog.store import Catalog, PhotoResult
from photocap.indexing.scan import ScanError, image_kind, scan_folders


@pytest.fixture
def catalog(tmp_home: Path):
    with Catalog.open(tmp_home) as opened:
        yield opened


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    draw_photo(root / "a.jpg", seed=1)
    draw_photo(root / "b.png", seed=2)
    draw_photo(root / "trip" / "c.jpeg", seed=3)
    draw_photo(root / "trip" / "d.webp", seed=4)
    return root


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file the scanner opens, in order."""
    opened: list[str] = []
    real_open = open

    def counting_open(file, *args, **kwargs):
        opened.append(os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(scan_module, "open", counting_open, raising=False)
    return opened


def paths_in(catalog: Catalog, root: Path) -> set[str]:
    return set(catalog.known_files_under([str(root)]))


def caption_all(catalog: Catalog, text: str = "a dog on the grass") -> None:
    catalog.save_batch_results([
        PhotoResult(photo_id=photo.id, caption=text, model_id="m", model_checksum="c", words=[("dog", 0.8)])
        for photo in catalog.pending_photos()
    ])


def test_first_scan_finds_photos_by_extension_and_by_content(catalog: Catalog, library: Path) -> None:
    draw_photo(library / "IMG_0001", seed=5)  # a JPEG without an extension
    draw_photo(library / "mislabelled.jpg", seed=6, format="PNG")
    (library / "notes.txt").write_text("shopping list")
    (library / "data.bin").write_bytes(os.urandom(300))
    summary = scan_folders(catalog, [library])
    assert (summary.new, summary.changed, summary.moved, summary.missing, summary.errors) == (6, 0, 0, 0, [])
    names = {os.path.basename(p) for p in paths_in(catalog, library)}
    assert names == {"a.jpg", "b.png", "c.jpeg", "d.webp", "IMG_0001", "mislabelled.jpg"}
    assert {p.path for p in catalog.pending_photos()} == paths_in(catalog, library)
    photo = catalog.photo_by_path(str(library / "trip" / "c.jpeg"))
    assert photo["folder"] == str(library / "trip")
    assert len(photo["content_hash"]) == 32 and photo["status"] == "pending" and not photo["search_synced"]


def test_rescan_of_unchanged_files_opens_nothing(catalog: Catalog, library: Path, reads: list[str]) -> None:
    scan_folders(catalog, [library])
    caption_all(catalog)
    first_reads = len(reads)
    assert first_reads == 4
    summary = scan_folders(catalog, [library])
    assert len(reads) == first_reads  # not opened, so neither sniffed, hashed nor decoded
    assert (summary.unchanged, summary.new, summary.changed, summary.missing) == (4, 0, 0, 0)
    assert catalog.status_counts()["ok"] == 4


def test_a_moved_photo_keeps_its_caption(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library])
    caption_all(catalog, "two children on a slide")
    catalog.mark_search_synced(None)
    old_id = catalog.photo_by_path(str(library / "a.jpg"))["id"]
    (library / "2024").mkdir()
    os.rename(library / "a.jpg", library / "2024" / "renamed.jpg")
    summary = scan_folders(catalog, [library])
    assert (summary.moved, summary.new, summary.missing, summary.unchanged) == (1, 0, 0, 3)
    photo = catalog.photo_by_path(str(library / "2024" / "renamed.jpg"))
    assert photo["id"] == old_id and photo["status"] == "ok"
    assert photo["caption"] == "two children on a slide" and photo["folder"] == str(library / "2024")
    assert catalog.photo_by_path(str(library / "a.jpg")) is None
    assert [row["id"] for row in catalog.unsynced_photos()] == [old_id]  # the index must learn the new path
    assert catalog.pending_photos() == []


def test_a_photo_moved_to_a_folder_outside_the_scanned_root_is_found(catalog: Catalog, tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    draw_photo(old / "x.jpg", seed=9)
    scan_folders(catalog, [old])
    caption_all(catalog, "a red car")
    new.mkdir()
    os.rename(old / "x.jpg", new / "x.jpg")
    summary = scan_folders(catalog, [new])  # the old folder is not scanned: the row is not missing yet
    assert (summary.moved, summary.new) == (1, 0)
    assert catalog.photo_by_path(str(new / "x.jpg"))["caption"] == "a red car"


def test_a_deleted_photo_becomes_missing_and_comes_back(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library])
    caption_all(catalog)
    catalog.mark_search_synced(None)
    saved = (library / "b.png").read_bytes()
    stat = (library / "b.png").stat()
    (library / "b.png").unlink()
    summary = scan_folders(catalog, [library])
    assert (summary.missing, summary.unchanged) == (1, 3)
    [row] = catalog.unsynced_photos()
    assert (row["path"], row["status"]) == (str(library / "b.png"), "missing")  # to leave the search index
    assert catalog.status_counts()["missing"] == 1
    assert scan_folders(catalog, [library]).missing == 0  # already missing: not counted again
    (library / "b.png").write_bytes(saved)
    os.utime(library / "b.png", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    summary = scan_folders(catalog, [library])
    assert (summary.restored, summary.new) == (1, 0)
    photo = catalog.photo_by_path(str(library / "b.png"))
    assert photo["status"] == "ok" and photo["caption"] == "a dog on the grass"


def test_a_changed_photo_is_pending_again(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library])
    caption_all(catalog)
    catalog.set_user_caption(str(library / "a.jpg"), "my cat")
    draw_photo(library / "a.jpg", seed=42, size=(80, 60))
    summary = scan_folders(catalog, [library])
    assert (summary.changed, summary.unchanged) == (1, 3)
    photo = catalog.photo_by_path(str(library / "a.jpg"))
    assert photo["status"] == "pending" and not photo["search_synced"]
    assert photo["caption"] == "my cat"  # the user's caption survives; the stale model one is gone
    assert [p.path for p in catalog.pending_photos()] == [str(library / "a.jpg")]


def test_a_touched_photo_is_not_captioned_again(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library])
    caption_all(catalog)
    os.utime(library / "a.jpg", ns=(1, 1_000_000_000))
    summary = scan_folders(catalog, [library])
    assert (summary.changed, summary.unchanged) == (0, 4)
    photo = catalog.photo_by_path(str(library / "a.jpg"))
    assert photo["status"] == "ok" and photo["mtime_ns"] == 1_000_000_000


def test_bad_files_are_recorded_with_a_reason(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "letter.jpg").write_text("Dear Sir, this is not a photo.\n")
    (root / "empty.png").write_bytes(b"")
    (root / "empty.txt").write_bytes(b"")
    (root / "noise.gif").write_bytes(bytes(range(256)) * 4)
    summary = scan_folders(catalog, [root])
    assert summary.new == 0 and summary.unreadable == 3
    assert dict(catalog.errors()) == {
        str(root / "letter.jpg"): "not an image (the file holds text)",
        str(root / "empty.png"): "empty file",
        str(root / "noise.gif"): "not an image (not JPEG, PNG, WebP, TIFF, BMP, GIF, HEIF, AVIF or camera RAW content)",
    }
    summary = scan_folders(catalog, [root])  # unchanged bad files are not reported (or read) again
    assert (summary.unchanged, summary.unreadable) == (3, 0)
    draw_photo(root / "letter.jpg", seed=3)  # fixed: a photo now
    assert scan_folders(catalog, [root]).changed == 1
    assert catalog.photo_by_path(str(root / "letter.jpg"))["status"] == "pending"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_recorded_and_retried(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "locked"
    draw_photo(root / "secret.jpg")
    os.chmod(root / "secret.jpg", 0)
    try:
        scan_folders(catalog, [root])
        assert catalog.errors() == [(str(root / "secret.jpg"), "permission denied")]
    finally:
        os.chmod(root / "secret.jpg", 0o644)
    assert scan_folders(catalog, [root]).changed == 1  # never read, so tried again


def test_hidden_files_and_folders_are_skipped(catalog: Catalog, library: Path) -> None:
    draw_photo(library / ".thumbnails" / "t.jpg")
    draw_photo(library / ".hidden.jpg")
    draw_photo(library / "trip" / ".git" / "objects" / "x.png")
    scan_folders(catalog, [library])
    assert not any("/." in path for path in paths_in(catalog, library))
    assert len(paths_in(catalog, library)) == 4


def test_symlinks_are_not_followed_unless_asked(catalog: Catalog, library: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    draw_photo(outside / "o.jpg", seed=7)
    os.symlink(outside, library / "linked-folder")
    os.symlink(library / "a.jpg", library / "linked-photo.jpg")
    skipped = scan_folders(catalog, [library])
    assert len(paths_in(catalog, library)) == 4 and skipped.links_skipped == 2
    summary = scan_folders(catalog, [library], follow_symlinks=True)
    assert summary.new == 2 and summary.links_skipped == 0
    assert str(library / "linked-folder" / "o.jpg") in paths_in(catalog, library)


def test_a_symlink_loop_ends_when_links_are_followed(catalog: Catalog, library: Path) -> None:
    os.symlink(library, library / "trip" / "back-to-top")
    os.symlink("loop-b", library / "loop-a")
    os.symlink("loop-a", library / "loop-b")  # a link cycle that resolves to nothing
    summary = scan_folders(catalog, [library], follow_symlinks=True)
    assert summary.new == 4 and summary.errors == []


def test_unicode_and_non_utf8_names_round_trip(catalog: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "名前"
    draw_photo(root / "été à Montréal 🌸.jpg", seed=1)
    raw_folder = os.fsencode(root) + b"/caf\xe9"
    os.makedirs(raw_folder)
    draw_photo(raw_folder + b"/\xff\xfe photo.jpg", seed=2)
    assert scan_folders(catalog, [root]).new == 2
    stored = {os.fsencode(p) for p in paths_in(catalog, root)}
    assert stored == {os.fsencode(root / "été à Montréal 🌸.jpg"), raw_folder + b"/\xff\xfe photo.jpg"}
    assert scan_folders(catalog, [root]).unchanged == 2
    os.rename(raw_folder + b"/\xff\xfe photo.jpg", raw_folder + b"/renamed \xe9.jpg")
    assert scan_folders(catalog, [root]).moved == 1
    assert catalog.photo_by_path(os.fsdecode(raw_folder + b"/renamed \xe9.jpg")) is not None


def test_a_file_changing_while_read_is_left_for_the_next_scan(
    catalog: Catalog, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    growing = draw_photo(library / "growing.jpg", seed=8)
    real_blake2b = scan_module.blake2b

    def blake2b_while_a_copy_goes_on(data: bytes = b"", **kwargs):
        with open(growing, "ab") as file:
            file.write(b"more bytes")
        return real_blake2b(data, **kwargs)

    monkeypatch.setattr(scan_module, "blake2b", blake2b_while_a_copy_goes_on)
    summary = scan_folders(catalog, [library], on_progress=None)
    assert str(growing) in {path for path, _ in summary.errors}
    assert catalog.photo_by_path(str(growing)) is None
    monkeypatch.undo()
    assert scan_folders(catalog, [library]).new == 1  # the others were recorded the first time


def test_a_file_vanishing_before_it_is_read_is_skipped(
    catalog: Catalog, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_folders(catalog, [library])
    draw_photo(library / "a.jpg", seed=99)  # changed, so it will be read...
    real_read = scan_module._read_file

    def vanish_first(path, st, hash_non_images):
        if path.endswith("a.jpg"):
            os.unlink(path)  # ...but it is deleted between the listing and the read
        return real_read(path, st, hash_non_images)

    monkeypatch.setattr(scan_module, "_read_file", vanish_first)
    summary = scan_folders(catalog, [library])
    assert (summary.missing, summary.errors) == (1, [])
    assert catalog.photo_by_path(str(library / "a.jpg"))["status"] == "missing"


def test_a_missing_root_is_refused_before_anything_changes(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library])
    with pytest.raises(ScanError, match="no such file or folder"):
        scan_folders(catalog, [library, library.parent / "unmounted-drive"])
    assert catalog.status_counts()["missing"] == 0


def test_nested_and_repeated_roots_are_walked_once(catalog: Catalog, library: Path) -> None:
    summary = scan_folders(catalog, [library / "trip", library, str(library) + "/"])
    assert summary.new == 4
    summary = scan_folders(catalog, [library / "trip"])  # a narrower rescan leaves the rest alone
    assert (summary.unchanged, summary.missing) == (2, 0)


def test_a_single_file_can_be_a_root(catalog: Catalog, library: Path) -> None:
    assert scan_folders(catalog, [library / "a.jpg"]).new == 1
    assert scan_folders(catalog, [library]).new == 3


def test_progress_is_reported(catalog: Catalog, library: Path) -> None:
    calls: list[int] = []
    scan_folders(catalog, [library], on_progress=calls.append)
    assert calls[-1] == 4


def test_an_interrupted_scan_run_again_records_each_file_once(catalog: Catalog, library: Path) -> None:
    scan_folders(catalog, [library / "trip"])  # as if the first run had stopped after one folder
    summary = scan_folders(catalog, [library])
    assert (summary.new, summary.unchanged) == (2, 2)
    assert len(catalog.known_files_under([str(library)])) == 4


def test_a_scan_killed_mid_run_and_run_again_records_each_file_once(
    catalog: Catalog, tmp_home: Path, tmp_path: Path
) -> None:
    root = tmp_path / "many"
    for i in range(30):
        draw_photo(root / f"folder{i % 3}" / f"p{i:02}.png", size=(8, 8), seed=i)
    killer = textwrap.dedent(f"""
        import os, signal
        import photocap.indexing.scan as scan
        from photocap.catalog.store import Catalog
        scan.CHUNK_ROWS, scan.PROGRESS_EVERY = 4, 1
        def progress(done):
            if done == 17:
                os.kill(os.getpid(), signal.SIGKILL)
        scan.scan_folders(Catalog.open({str(tmp_home)!r}), [{str(root)!r}], on_progress=progress)
    """)
    run = subprocess.run([sys.executable, "-c", killer], cwd=REPO, capture_output=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    committed = len(catalog.known_files_under([str(root)]))
    assert 0 < committed < 30
    summary = scan_folders(catalog, [root])
    assert summary.new + summary.unchanged == 30 and summary.new == 30 - committed
    assert len(catalog.known_files_under([str(root)])) == 30
    assert catalog.status_counts()["photos"] == 30


def test_image_kind_sniffs_magic_numbers() -> None:
    assert image_kind(b"\xff\xd8\xff\xe0rest") == "jpeg"
    assert image_kind(b"\x89PNG\r\n\x1a\n") == "png"
    assert image_kind(b"GIF89a") == "gif"
    assert image_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_kind(b"II*\x00") == "tiff" and image_kind(b"MM\x00*") == "tiff"
    assert image_kind(b"BM" + bytes(12) + (40).to_bytes(4, "little")) == "bmp"
    assert image_kind(b"BMW service notes: change oil") is None
    assert image_kind(b"") is None


def test_permission_denied_is_recorded_and_retried(
    catalog: Catalog, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, which chmod cannot lock out: make open() refuse instead.
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if os.fsdecode(file).endswith("a.jpg"):
            raise PermissionError(13, "Permission denied", file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(scan_module, "open", refusing_open, raising=False)
    summary = scan_folders(catalog, [library])
    assert (summary.new, summary.errors) == (3, [(str(library / "a.jpg"), "permission denied")])
    assert catalog.errors() == [(str(library / "a.jpg"), "permission denied")]
    monkeypatch.undo()
    summary = scan_folders(catalog, [library])  # never read, so tried again although unchanged
    assert (summary.changed, summary.unchanged) == (1, 3)
    assert catalog.photo_by_path(str(library / "a.jpg"))["status"] == "pending"


def test_an_unreadable_folder_does_not_make_its_photos_missing(
    catalog: Catalog, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan_folders(catalog, [library])
    real_scandir = os.scandir

    def refusing_scandir(path):
        if os.fspath(path).endswith("trip"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    summary = scan_folders(catalog, [library])
    assert (summary.missing, summary.unchanged) == (0, 2)
    assert summary.errors == [(str(library / "trip"), "folder not readable (permission denied); "
                                                      "its photos are left as they were")]
    assert catalog.status_counts()["missing"] == 0

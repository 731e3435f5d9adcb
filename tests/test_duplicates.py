"""`photocap duplicates` end to end: real Flickr8k photos with an exact copy and altered copies, the shipped model,
a real catalog; groups, keepers, and the --move-extras-to / --undo round trip with the catalog following."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
from similar_support import CHILD, DOGS_ON_BEACH, half_size_copy, json_lines, photocap

from photocap.catalog.store import Catalog
from photocap.similar.duplicates import _copy_reason
from photocap.similar.keeper import Candidate, choose_keeper
from photocap.similar.phash import hamming, phash_of_file


def groups_of(home: Path, *args: str) -> list[dict]:
    run = photocap(home, "duplicates", *args, "--json")
    assert run.exit_code == 0, run.output
    return json_lines(run)


def test_exact_and_near_copies_are_grouped_and_nothing_else(similar_library: tuple[Path, Path]) -> None:
    home, library = similar_library
    groups = groups_of(home, str(library))
    assert [group["kind"] for group in groups] == ["exact copies", "near copies"]
    exact, near = groups
    assert {member["path"] for member in exact["photos"]} == {str(library / CHILD),
                                                              str(library / "copies" / "child_copy.jpg")}
    copies = library / "copies"
    assert {member["path"] for member in near["photos"]} == {
        str(library / DOGS_ON_BEACH), str(copies / "beach_small.jpg"), str(copies / "beach.png")}
    # Keepers: the PNG and the JPEG it was made from have the same pixels; the rules prefer a format that is not a
    # (lossy, derived) JPEG. The exact copies tie on everything: the first by path.
    assert near["keep"] == str(library / "copies" / "beach.png") and "original format" in near["why"]
    assert exact["keep"] == str(library / CHILD)
    assert [member["keep"] for member in near["photos"]] == [True, False, False]
    assert "perceptual hash" in near["reason"] and "same bytes" in exact["reason"]
    text = photocap(home, "duplicates", str(library))
    assert text.exit_code == 0 and "keep   " + str(library / "copies" / "beach.png") in text.stdout
    assert "2 groups, 3 photos to spare" in text.stderr
    # PATHS limit the photos compared: in copies/ the child's copy has no twin.
    only_copies = groups_of(home, str(copies))
    assert [group["kind"] for group in only_copies] == ["near copies"]
    assert {member["path"] for member in only_copies[0]["photos"]} == {str(copies / "beach_small.jpg"),
                                                                        str(copies / "beach.png")}


def test_the_users_tags_decide_between_equal_copies(home_copy: Path, similar_library: tuple[Path, Path]) -> None:
    _home, library = similar_library
    assert photocap(home_copy, "tag", str(library / "copies" / "child_copy.jpg"), "--add", "grandchild").exit_code == 0
    exact = groups_of(home_copy, str(library))[0]
    assert exact["keep"] == str(library / "copies" / "child_copy.jpg")
    assert exact["why"] == "it has your own caption or tags"


def test_move_extras_and_undo_round_trip_with_the_catalog_following(home_copy: Path, similar_library,
                                                                      tmp_path: Path) -> None:
    _home, library = similar_library
    photos, aside = tmp_path / "photos", tmp_path / "aside"
    shutil.copytree(library, photos)
    assert photocap(home_copy, "index", str(photos), "--workers", "0").exit_code == 0
    with Catalog.open(home_copy) as catalog:
        before = {row["path"]: (row["id"], row["caption"]) for row in catalog.photos_under([str(photos)])}
    moved_run = photocap(home_copy, "duplicates", str(photos), "--move-extras-to", str(aside), "--json")
    assert moved_run.exit_code == 0, moved_run.output
    report = json.loads(moved_run.stdout)
    extras = {str(photos / "copies" / "child_copy.jpg"), str(photos / "copies" / "beach_small.jpg"),
              str(photos / DOGS_ON_BEACH)}
    assert {move["source"] for move in report["moved"]} == extras
    manifest = Path(report["manifest"])
    assert manifest.parent == aside and json.loads(manifest.read_text())["done"] is True
    with Catalog.open(home_copy) as catalog:
        for source in extras:
            target = aside / source.lstrip("/")
            assert target.is_file() and not Path(source).exists()
            row = catalog.photo_by_path(str(target))  # the catalog followed: same photo, same caption
            assert row is not None and (row["id"], row["caption"]) == before[source] and row["status"] == "ok"
            assert catalog.photo_by_path(source) is None
    assert groups_of(home_copy, str(photos)) == []  # what is left under photos/ has no duplicates
    shown = json.loads(photocap(home_copy, "show", str(aside / str(photos / DOGS_ON_BEACH).lstrip("/")),
                                "--json").stdout)
    assert shown["caption"] == before[str(photos / DOGS_ON_BEACH)][1]

    undone = photocap(home_copy, "duplicates", "--undo", str(manifest), "--json")
    assert undone.exit_code == 0, undone.output
    assert {move["source"] for move in json.loads(undone.stdout)["moved"]} == extras
    with Catalog.open(home_copy) as catalog:
        after = {row["path"]: (row["id"], row["caption"]) for row in catalog.photos_under([str(photos)])}
        assert catalog.photos_under([str(aside)]) == []
    assert after == before and all(Path(path).is_file() for path in extras)
    again = photocap(home_copy, "duplicates", "--undo", str(manifest))  # nothing left to put back: said, not done
    assert again.exit_code == 3 and "already back" in again.stderr


def test_bad_input_is_one_line(similar_library: tuple[Path, Path], tmp_path: Path) -> None:
    home, library = similar_library
    not_a_manifest = tmp_path / "notes.json"
    not_a_manifest.write_text('{"hello": 1}')
    for args, says in ((["--undo", str(not_a_manifest)], "is not a manifest"),
                       (["--undo", str(not_a_manifest), str(library)], "--undo takes only the manifest")):
        run = photocap(home, "duplicates", *args)
        assert run.exit_code == 2 and says in run.stderr, run.output
        assert len(run.stderr.strip().splitlines()) == 1
    empty = photocap(tmp_path / "nowhere", "duplicates")
    assert empty.exit_code == 2 and "no catalog" in empty.stderr


def photo(path: str, width: int = 4000, height: int = 3000, users: bool = False, day: int = 1) -> Candidate:
    return Candidate(id=hash(path), path=path, width=width, height=height, taken_at=datetime(2024, 1, day),
                     mtime_ns=0, users=users)


def test_keeper_rules_in_order() -> None:
    # The largest wins over everything after it.
    keep, why = choose_keeper([photo("/a/big.jpg"), photo("/a/small.cr2", 2000, 1500, users=True, day=0 + 1)])
    assert keep["path"] == "/a/big.jpg" and why.startswith("the largest (4000x3000")
    # Equal size: the RAW or HEIC original over a JPEG made from it.
    keep, why = choose_keeper([photo("/a/x.jpg", users=True), photo("/a/x.heic", day=2)])
    assert keep["path"] == "/a/x.heic" and "HEIC" in why
    # Same size and format: the user's own caption or tags, then the oldest.
    assert choose_keeper([photo("/a/1.jpg"), photo("/a/2.jpg", users=True, day=3)])[0]["path"] == "/a/2.jpg"
    keep, why = choose_keeper([photo("/a/1.jpg", day=5), photo("/a/2.jpg", day=3)])
    assert keep["path"] == "/a/2.jpg" and why.startswith("the oldest (2024-01-03")


def with_camera_exif(source: Path, target: Path, taken: str, model: str = "EOS R6") -> Path:
    """A copy of the JPEG `source` with an EXIF block (camera, date taken) spliced in; the pixels are untouched."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", model
    exif.get_ifd(0x8769)[0x9003] = taken
    block = exif.tobytes()
    data = source.read_bytes()
    assert data[:2] == b"\xff\xd8"
    target.write_bytes(data[:2] + b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block + data[2:])
    return target


def test_a_burst_is_its_own_kind(tmp_home: Path, tmp_path: Path, flickr_dir: Path) -> None:
    # Two motocross riders on dirt tracks: alike (feature cosine about 0.8) but not the same picture. Shot two
    # seconds apart by one camera, they are a burst; a third photo of something else a second later is not in it.
    images, photos = flickr_dir / "Images", tmp_path / "photos"
    photos.mkdir()
    with_camera_exif(images / "2891617125_f939f604c7.jpg", photos / "ride1.jpg", "2024:05:01 10:00:00")
    with_camera_exif(images / "3437147889_4cf26dd525.jpg", photos / "ride2.jpg", "2024:05:01 10:00:02")
    with_camera_exif(images / CHILD, photos / "child.jpg", "2024:05:01 10:00:03")
    with_camera_exif(images / DOGS_ON_BEACH, photos / "other_camera.jpg", "2024:05:01 10:00:01", model="EOS R5")
    assert photocap(tmp_home, "index", str(photos), "--workers", "0").exit_code == 0
    groups = groups_of(tmp_home, str(photos))
    assert [group["kind"] for group in groups] == ["burst"]
    assert [member["path"] for member in groups[0]["photos"]] == [str(photos / "ride1.jpg"), str(photos / "ride2.jpg")]
    assert groups[0]["reason"].startswith("2 shots from one camera within 2 s")
    assert groups_of(tmp_home, str(photos), "--no-bursts") == []
    text = photocap(tmp_home, "duplicates", str(photos))
    assert "1 group, 1 photo to spare (--move-extras-to DIR moves it aside)" in text.stderr
    nothing = photocap(tmp_home, "duplicates", str(photos), "--no-bursts")
    assert nothing.exit_code == 0 and nothing.stderr.strip() == "no duplicates found"


def test_index_keeps_the_perceptual_hashes_so_duplicates_decodes_nothing(tmp_home: Path, tmp_path: Path,
                                                                          flickr_dir: Path) -> None:
    # Indexing hashes each picture while it decodes it for the captioner. The photos are taken away after `index`:
    # a hash `duplicates` had to make itself would be missing, and the near copy's reason would not cite hashes.
    images, photos = flickr_dir / "Images", tmp_path / "photos"
    photos.mkdir()
    shutil.copy2(images / DOGS_ON_BEACH, photos / "beach.jpg")
    half_size_copy(images / DOGS_ON_BEACH, photos / "beach_small.jpg")
    shutil.copy2(images / CHILD, photos / "child.jpg")
    assert photocap(tmp_home, "index", str(photos), "--workers", "0").exit_code == 0
    db = sqlite3.connect(tmp_home / "catalog.db")
    kept = dict(db.execute("SELECT p.path, h.phash FROM photos p JOIN perceptual_hashes h USING (content_hash)"))
    db.close()
    assert set(kept) == {str(photos / name) for name in ("beach.jpg", "beach_small.jpg", "child.jpg")}
    for path, value in kept.items():  # what `duplicates` computes for photos indexed before, give or take a bit
        assert hamming(np.array([value]), np.array([phash_of_file(path)]))[0] <= 2
    shutil.move(photos, tmp_path / "elsewhere")
    run = photocap(tmp_home, "duplicates", "--json")
    assert run.exit_code == 0, run.output
    (group,) = json_lines(run)
    assert {member["path"] for member in group["photos"]} == {str(photos / name) for name in ("beach.jpg",
                                                                                               "beach_small.jpg")}
    assert "perceptual hash" in group["reason"]


def test_the_reason_says_same_hash_and_same_features_plainly() -> None:
    # A PNG made from a JPEG: the same pixels, so the same hash and features; "at most 0 bits apart" read oddly.
    rows = {1: {"content_hash": "a"}, 2: {"content_hash": "b"}, 3: {"content_hash": "b"}}
    kind, reason = _copy_reason([1, 2], rows, 0.9996, 0)
    assert kind == "near copies" and "at most 0" not in reason and "1.00 or more" not in reason
    assert reason.endswith("the same features (cosine 1.00), the same perceptual hash")
    _kind, reason = _copy_reason([1, 2, 3], rows, 0.83, 4)
    assert "features alike (cosine 0.83 or more), perceptual hashes differing in at most 4 of 64 bits" in reason
    assert reason.endswith("; 2 of them byte for byte")

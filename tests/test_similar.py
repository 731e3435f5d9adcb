"""`photocap similar` end to end: real Flickr8k photos and altered copies, the shipped model, a real catalog, the
vector index file; and `photocap watch` keeping the answers current as photos come, change and go."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from similar_support import CHILD, DOGS_ON_BEACH, FLICKR, half_size_copy, json_lines, photocap
from test_watch import WAIT_S, Events, Lines

from photocap.catalog.store import Catalog
from photocap.similar.features import all_features, main_encoder
from photocap.similar.vector_index import Layout, build
from photocap.similar.vectors import (
    ALIGN,
    MAGIC,
    REDUCED_DIMS,
    VectorIndex,
    VectorIndexError,
    index_path,
    load,
    nearest,
    save,
)


def similar(home: Path, photo: Path, *extra: str) -> list[dict]:
    run = photocap(home, "similar", str(photo), "--json", *extra)
    assert run.exit_code == 0, run.output
    return json_lines(run)


def test_the_altered_copies_come_first_and_the_photo_itself_never(similar_library: tuple[Path, Path]) -> None:
    home, library = similar_library
    found = similar(home, library / DOGS_ON_BEACH)
    paths = [item["path"] for item in found]
    assert str(library / DOGS_ON_BEACH) not in paths
    assert set(paths[:2]) == {str(library / "copies" / "beach_small.jpg"), str(library / "copies" / "beach.png")}
    assert len(found) == len(FLICKR) - 1 + 3  # every other photo, the best first
    scores = [item["score"] for item in found]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[2] + 0.1
    assert set(found[0]) >= {"path", "score", "caption"} and found[0]["caption"]
    # A byte-for-byte copy has the same feature: cosine 1.
    copy = similar(home, library / CHILD, "--limit", "1")
    assert [item["path"] for item in copy] == [str(library / "copies" / "child_copy.jpg")]
    assert copy[0]["score"] > 0.999


def test_text_output_and_bad_input(similar_library: tuple[Path, Path], tmp_path: Path) -> None:
    home, library = similar_library
    run = photocap(home, "similar", str(library / DOGS_ON_BEACH), "--limit", "2")
    assert run.exit_code == 0 and len(run.stdout.splitlines()) == 2
    assert run.stdout.split()[1] in {str(library / "copies" / "beach_small.jpg"), str(library / "copies" / "beach.png")}
    unknown = photocap(home, "similar", str(tmp_path / "nowhere.jpg"))
    assert unknown.exit_code == 2 and f"no such file: {tmp_path / 'nowhere.jpg'}" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    empty = photocap(tmp_path / "empty-home", "similar", str(library / DOGS_ON_BEACH))
    assert empty.exit_code == 2 and "no catalog" in empty.stderr


def test_the_command_line_path_never_loads_sqlalchemy_or_torch() -> None:
    # `photocap similar` answers in a fraction of a second because it reads the catalog with sqlite3 alone.
    code = ("import sys, photocap.cli, photocap.similar.neighbours, photocap.similar.quick; "
            "print('sqlalchemy' in sys.modules, 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False", "False"]


def test_the_vector_index_is_made_by_index_and_remade_when_missing_or_damaged(home_copy: Path,
                                                                              similar_library) -> None:
    _home, library = similar_library
    index = load(index_path(home_copy))
    with Catalog.open(home_copy) as catalog:
        assert len(index) == catalog.status_counts()["ok"] == len(FLICKR) + 3
    assert index.vectors.shape == (len(index), REDUCED_DIMS)
    expected = similar(home_copy, library / DOGS_ON_BEACH)
    index_path(home_copy).unlink()
    assert similar(home_copy, library / DOGS_ON_BEACH) == expected
    assert index_path(home_copy).is_file()  # remade, and kept
    index_path(home_copy).write_bytes(b"photocap vectors\n" + os.urandom(500))
    assert similar(home_copy, library / DOGS_ON_BEACH) == expected


def test_index_keeps_the_file_in_step_with_moves_and_removals(home_copy: Path, similar_library,
                                                             tmp_path: Path) -> None:
    # A separate library (the module's photos stay put): photos removed and added between two `index` runs.
    _home, library = similar_library
    photos = tmp_path / "photos"
    shutil.copytree(library, photos)
    assert photocap(home_copy, "index", str(photos), "--workers", "0").exit_code == 0
    (photos / "copies" / "beach_small.jpg").unlink()
    half_size_copy(photos / CHILD, photos / "child_small.jpg")
    assert photocap(home_copy, "index", str(photos), "--workers", "0").exit_code == 0
    index = load(index_path(home_copy))
    with Catalog.open(home_copy) as catalog:
        removed = catalog.photo_by_path(str(photos / "copies" / "beach_small.jpg"))
        added = catalog.photo_by_path(str(photos / "child_small.jpg"))
        assert removed is not None and removed["status"] == "missing" and added is not None
        assert removed["id"] not in set(index.ids.tolist()) and added["id"] in set(index.ids.tolist())
        with catalog.reading() as conn:  # the change log forgets what the file has taken
            assert conn.exec_driver_sql("SELECT count(*) FROM vector_changes").scalar() == 0
    assert np.all(np.diff(index.ids) > 0)
    # The child's byte-for-byte copies (here and in the module's library) first, then its new smaller copy.
    found = [item["path"] for item in similar(home_copy, photos / CHILD, "--limit", "4")]
    assert found[3] == str(photos / "child_small.jpg")
    assert set(found[:3]) == {str(photos / "copies" / "child_copy.jpg"), str(library / CHILD),
                              str(library / "copies" / "child_copy.jpg")}
    assert str(photos / "copies" / "beach_small.jpg") not in [
        item["path"] for item in similar(home_copy, photos / DOGS_ON_BEACH, "--limit", "50")]
    pruned = photocap(home_copy, "prune", "--json")
    assert pruned.exit_code == 0 and json.loads(pruned.stdout)["pruned"] >= 1
    assert removed["id"] not in set(load(index_path(home_copy)).ids.tolist())


def test_a_photo_added_changed_or_removed_while_watch_runs_shows_in_similar(tmp_home: Path, tmp_path: Path,
                                                                           flickr_dir: Path) -> None:
    images = flickr_dir / "Images"
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in FLICKR[:4] + [DOGS_ON_BEACH, CHILD]:
        shutil.copy2(images / name, photos / name)
    process = subprocess.Popen(
        [sys.executable, "-m", "photocap.cli", "--home", str(tmp_home), "watch", str(photos), "--json", "--workers",
         "0", "--debounce", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        events, log = Events(process.stdout), Lines(process.stderr)
        log.wait_for(lambda line: line.startswith("watching "))

        def nearest(photo: Path) -> list[str]:
            return [item["path"] for item in similar(tmp_home, photo, "--limit", "3")]

        added = photos / "added.jpg"
        half_size_copy(images / DOGS_ON_BEACH, added)
        events.wait_for_event(added, "new")
        assert nearest(photos / DOGS_ON_BEACH)[0] == str(added)

        half_size_copy(images / CHILD, photos / "swap.jpg")  # the same name, another picture
        os.replace(photos / "swap.jpg", added)
        events.wait_for_event(added, "changed")
        deadline = time.monotonic() + WAIT_S
        while nearest(photos / CHILD)[0] != str(added) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert nearest(photos / CHILD)[0] == str(added)
        assert nearest(photos / DOGS_ON_BEACH)[0] != str(added)

        added.unlink()
        events.wait_for_event(added, "missing")
        assert str(added) not in nearest(photos / CHILD)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT_S)


# ------------------------------------------------------------------ the file laid out in cells (inverted file)


def forced_into_cells(home: Path, probe_share: float) -> VectorIndex:
    """The home's vector index rebuilt in k-means cells of about 2 photos (a large library's layout), a query
    reading `probe_share` of the cells, those nearest to it."""
    with Catalog.open(home) as catalog, catalog.reading() as conn:
        index = build(conn, Layout(cells_from=0, per_cell=2, probe_share=probe_share))
    assert index is not None and index.cells >= 4
    save(index, index_path(home))
    return index


def exact_search(home: Path, photo: Path) -> list[tuple[str, float]]:
    """(path, cosine) of every other shown photo against the photo at `photo`, by its full kept feature, best
    first: the answer the vector index must give."""
    with Catalog.open(home) as catalog:
        with catalog.reading() as conn:
            rows = next(all_features(conn, main_encoder(conn)))
        photo_id = catalog.photo_by_path(str(photo))["id"]
        path_of = {row["id"]: row["path"] for row in catalog.photos_by_ids(rows.ids.tolist())}
    scores = rows.vectors @ rows.vectors[list(rows.ids).index(photo_id)]
    return [(path_of[int(rows.ids[i])], float(scores[i])) for i in nearest(scores, len(scores))
            if rows.ids[i] != photo_id]


def cells_hold_their_rows(index: VectorIndex) -> bool:
    """Each cell's rows are those whose centroid is nearest, ascending by id."""
    cell_of_rows = np.repeat(np.arange(index.cells), np.diff(index.bounds))
    ascending = all(np.all(np.diff(index.ids[a:b]) > 0) for a, b in zip(index.bounds[:-1], index.bounds[1:],
                                                                        strict=True))
    return ascending and np.array_equal(index.cell_of(index.decode(np.asarray(index.vectors))), cell_of_rows)


def test_in_cells_every_cell_read_answers_as_exact_search(home_copy: Path, similar_library) -> None:
    _home, library = similar_library
    index = forced_into_cells(home_copy, probe_share=1.0)
    assert cells_hold_their_rows(index) and index.cells < len(index)
    for photo in sorted(library.rglob("*.*")):
        exact = exact_search(home_copy, photo)
        found = similar(home_copy, photo)
        assert {item["path"] for item in found} == {path for path, _score in exact}
        assert [item["score"] for item in found] == pytest.approx([score for _path, score in exact], abs=1e-4)


def test_in_cells_a_query_reads_only_the_nearest_cells_and_still_finds_the_copies(home_copy: Path,
                                                                                   similar_library) -> None:
    _home, library = similar_library
    # Two of the 4-5 cells: in cells of about 2 photos, a photo's two copies need not share its cell (k-means put
    # one of the three beach photos in the next cell on one machine), but they lie in the cells nearest to it.
    index = forced_into_cells(home_copy, probe_share=0.4)
    assert 1 < index.probe < index.cells
    with Catalog.open(home_copy) as catalog, catalog.reading() as conn:
        rows = next(all_features(conn, main_encoder(conn)))
    for photo_id, feature in zip(rows.ids.tolist(), rows.vectors, strict=True):
        reduced = index.reduce(feature)
        members = {int(i) for cell in index.probed(reduced)
                   for i in index.ids[index.bounds[cell]:index.bounds[cell + 1]]}
        assert set(index.candidates(reduced, 400).tolist()) == members  # the probed cells' photos, no others
        assert photo_id in members  # a photo is in one of the cells nearest to it
    for photo, copies in ((library / DOGS_ON_BEACH, {"beach_small.jpg", "beach.png"}),
                          (library / CHILD, {"child_copy.jpg"})):
        found = similar(home_copy, photo)
        assert {Path(item["path"]).name for item in found[:len(copies)]} == copies
        exact = dict(exact_search(home_copy, photo))
        assert all(item["score"] == pytest.approx(exact[item["path"]], abs=1e-4) for item in found)
        assert len(found) < len(exact)  # the photos of the other cells are not read


def write_version_1(index: VectorIndex, path: Path) -> None:
    """The file as photocap wrote it before cells (version 1): header, projection, ids ascending, float32
    vectors."""
    order = np.argsort(index.ids)
    header = json.dumps({"version": 1, "encoder": index.encoder, "last_seq": index.last_seq,
                         "fitted_on": index.fitted_on, "count": len(index), "feature_dims": index.projection.shape[0],
                         "dims": index.projection.shape[1]}).encode()
    written = path.with_suffix(".old")  # then renamed over the file: `index` may still map it
    with open(written, "wb") as file:
        file.write(MAGIC + struct.pack("<Q", len(header)) + header)
        for array in (index.projection, np.asarray(index.ids)[order], index.decode(np.asarray(index.vectors)[order])):
            file.write(b"\0" * (-file.tell() % ALIGN))
            file.write(np.ascontiguousarray(array).tobytes())
    os.replace(written, path)


def test_a_file_of_the_version_before_cells_is_rebuilt(home_copy: Path, similar_library) -> None:
    _home, library = similar_library
    expected = similar(home_copy, library / DOGS_ON_BEACH)
    write_version_1(load(index_path(home_copy)), index_path(home_copy))
    with pytest.raises(VectorIndexError, match="another photocap version"):
        load(index_path(home_copy))
    assert similar(home_copy, library / DOGS_ON_BEACH) == expected  # a query rebuilds it, and keeps it
    assert len(load(index_path(home_copy))) == len(FLICKR) + 3
    write_version_1(load(index_path(home_copy)), index_path(home_copy))
    assert photocap(home_copy, "prune", "--json").exit_code == 0  # as `index` and `watch` do
    assert len(load(index_path(home_copy))) == len(FLICKR) + 3
    assert similar(home_copy, library / DOGS_ON_BEACH) == expected


def test_in_cells_a_photo_added_changed_or_removed_shows_in_similar(home_copy: Path, similar_library,
                                                                   flickr_dir: Path, tmp_path: Path) -> None:
    _home, library = similar_library
    before = forced_into_cells(home_copy, probe_share=0.4)
    images, photos = flickr_dir / "Images", tmp_path / "photos"
    photos.mkdir()
    new = sorted(name for name in os.listdir(images) if name not in FLICKR)[:3]
    for name in new:
        shutil.copy2(images / name, photos / name)
    added = half_size_copy(images / new[0], photos / "added.jpg")

    def nearest_paths(photo: Path, limit: int = 3) -> list[str]:
        return [item["path"] for item in similar(home_copy, photo, "--limit", str(limit))]

    def index_photos() -> VectorIndex:
        assert photocap(home_copy, "index", str(photos), "--workers", "0").exit_code == 0
        index = load(index_path(home_copy))
        assert index.cells == before.cells and np.array_equal(index.centroids, before.centroids)  # the cells stay
        assert cells_hold_their_rows(index)
        return index

    index = index_photos()  # the new photos go to their cells
    assert len(index) == len(before) + 4
    assert nearest_paths(photos / new[0])[0] == str(added)
    half_size_copy(images / CHILD, photos / "swap.jpg")  # the same name, another picture
    os.replace(photos / "swap.jpg", added)
    index_photos()
    assert nearest_paths(library / CHILD)[:2] == [str(library / "copies" / "child_copy.jpg"), str(added)]
    assert str(added) not in nearest_paths(photos / new[0])
    added.unlink()
    index = index_photos()
    with Catalog.open(home_copy) as catalog:
        assert catalog.photo_by_path(str(added))["id"] not in set(index.ids.tolist())
    assert str(added) not in nearest_paths(library / CHILD, 50)
    # A change the file has not taken yet (the catalog's change log) counts at once.
    with Catalog.open(home_copy) as catalog, catalog.writing() as conn:
        gone = catalog.photo_by_path(str(photos / new[1]))["id"]
        conn.exec_driver_sql("UPDATE photos SET status = 'missing' WHERE id = ?", (gone,))
    assert gone in set(load(index_path(home_copy)).ids.tolist())
    assert str(photos / new[1]) not in nearest_paths(photos / new[2], 50)

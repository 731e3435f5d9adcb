"""`photocap index`, `search`, `caption` and `status` end to end: the shipped model, Flickr8k photos, a real
SQLite catalog and a real Whoosh index, through the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, draw_photo
from sqlalchemy import func, select
from test_images import png_claiming_size

from photocap.catalog.store import Catalog, captions
from photocap.cli import main
from photocap.model.captioner import Captioner, resolve_model
from photocap.model.checkpoint import load_checkpoint, save_checkpoint
from photocap.search.index import SearchIndex

# Flickr8k test-split photos of clearly different scenes.
SAMPLE = ["3385593926_d3e9c21170.jpg", "2677656448_6b7e7702af.jpg", "311146855_0b65fdb169.jpg",
          "1258913059_07c613f7ff.jpg", "241347760_d44c8d3a01.jpg", "2654514044_a70a6e2c21.jpg"]


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def library(flickr_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "trip").mkdir(parents=True)
    for i, name in enumerate(SAMPLE):
        shutil.copy(flickr_dir / "Images" / name, root / ("trip" if i % 2 else "") / name)
    return root


def caption_of(home: Path, path: Path) -> str | None:
    with Catalog.open(home) as catalog:
        photo = catalog.photo_by_path(str(path))
    return photo["caption"] if photo else None


def indexed_ids(home: Path) -> list[int]:
    with SearchIndex.open(home / "index", create=False) as index, index._reader() as reader:
        return [int(reader.stored_fields(n)["photo_id"]) for n in reader.all_doc_ids()]


def test_index_captions_every_photo_and_search_finds_them(tmp_home: Path, library: Path) -> None:
    run = photocap(tmp_home, "index", str(library), "--json")
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert (summary["new"], summary["captioned"], summary["errors"]) == (6, 6, 0)
    assert summary["photos_per_s"] > 0 and summary["seconds"] > 0 and summary["model"].startswith("photocap-")

    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert (status["photos"], status["ok"], status["errors"], status["missing"]) == (6, 6, 0, 0)
    assert status["model"] == summary["model"] and status["index"] == "ok" and status["indexed"] == 6

    photo = library / SAMPLE[0]
    stored = caption_of(tmp_home, photo)
    assert stored and len(stored.split()) >= 3
    alone = json_lines(photocap(tmp_home, "caption", str(photo), "--json").stdout)
    assert alone == [{"path": str(photo), "caption": stored}]  # same model, same beam, same words

    listed = json_lines(photocap(tmp_home, "search", stored, "--json").stdout)
    hits = [hit for hit in listed if not hit.get("maybe")]  # "maybe" photos follow the results, uncounted
    assert str(photo) in [hit["path"] for hit in hits]
    assert all(set(hit) >= {"path", "caption", "score", "tags", "matched"} for hit in listed)
    assert all(hit["matched"] for hit in hits)  # every result says what it matched
    assert hits == sorted(hits, key=lambda hit: -hit["score"])
    paths = photocap(tmp_home, "search", stored, "--paths").stdout.splitlines()
    assert paths == [hit["path"] for hit in hits]
    assert photocap(tmp_home, "search", stored, "-0").stdout.split("\0")[:-1] == paths
    in_trip = json_lines(photocap(tmp_home, "search", stored, "--json", "--folder", str(library / "trip")).stdout)
    assert in_trip and all(hit["path"].startswith(str(library / "trip") + "/") for hit in in_trip)


def test_reindexing_an_unchanged_library_captions_nothing(tmp_home: Path, library: Path) -> None:
    photocap(tmp_home, "index", str(library))
    again = json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)
    assert (again["new"], again["changed"], again["moved"], again["missing"]) == (0, 0, 0, 0)
    assert (again["unchanged"], again["captioned"], again["model"]) == (6, 0, "")  # the model was not loaded


def test_moves_keep_captions_deletions_leave_search_and_changes_are_recaptioned(
    tmp_home: Path, library: Path
) -> None:
    photocap(tmp_home, "index", str(library))
    moved_from, moved_to = library / SAMPLE[0], library / "trip" / "renamed.jpg"
    deleted, changed = library / SAMPLE[2], library / SAMPLE[4]
    moved_caption, deleted_caption = caption_of(tmp_home, moved_from), caption_of(tmp_home, deleted)
    moved_from.rename(moved_to)
    deleted.unlink()
    shutil.copy(library / "trip" / SAMPLE[1], changed)  # new content at a known path

    summary = json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)
    assert (summary["moved"], summary["missing"], summary["changed"], summary["captioned"]) == (1, 1, 1, 1)
    assert caption_of(tmp_home, moved_to) == moved_caption
    assert caption_of(tmp_home, changed) == caption_of(tmp_home, library / "trip" / SAMPLE[1])
    found = [hit["path"] for hit in json_lines(photocap(tmp_home, "search", moved_caption, "--json").stdout)]
    assert str(moved_to) in found and str(moved_from) not in found
    gone = photocap(tmp_home, "search", deleted_caption, "--json").stdout
    assert str(deleted) not in gone
    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert (status["ok"], status["missing"], status["indexed"]) == (5, 1, 5)


def test_recaption_older_redoes_only_what_another_model_wrote(tmp_home: Path, library: Path, tmp_path: Path) -> None:
    other = load_checkpoint(resolve_model(None))
    other.name = "photocap-older"
    save_checkpoint(other, tmp_path / "older.pt")
    photocap(tmp_home, "index", str(library), "--model", str(tmp_path / "older.pt"))
    assert json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)["captioned"] == 0
    redone = json.loads(photocap(tmp_home, "index", str(library), "--json", "--recaption-older").stdout)
    assert redone["captioned"] == 6
    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert [m["captions"] for m in status["models"]] == [6] and status["model"] == redone["model"]


def test_bad_photos_are_recorded_and_the_run_goes_on(tmp_home: Path, library: Path, flickr_dir: Path) -> None:
    whole = (library / SAMPLE[0]).read_bytes()
    bad = library / "bad"
    bad.mkdir()
    (bad / "truncated.jpg").write_bytes(whole[: len(whole) // 4])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "notes.jpg").write_text("shopping list: eggs, milk\n")
    png_claiming_size(bad / "bomb.png", 50_000, 50_000)
    odd = library / "odd"
    draw_photo(odd / "été 🌸.png", size=(120, 90), seed=1)
    draw_photo(os.fsencode(odd) + b"/caf\xe9.jpg", size=(120, 90), seed=2)
    os.symlink(library, odd / "loop")

    run = photocap(tmp_home, "index", str(library), "--json")
    assert run.exit_code == 3
    summary = json.loads(run.stdout)
    reasons = {Path(failure["path"]).name: failure["error"] for failure in summary["failed"]}
    assert set(reasons) == {"truncated.jpg", "empty.jpg", "notes.jpg", "bomb.png"}
    assert reasons["empty.jpg"] == "empty file"
    assert reasons["notes.jpg"] == "not an image (the file holds text)"
    assert reasons["bomb.png"].startswith("refused: image too large")
    assert reasons["truncated.jpg"].startswith("cannot decode")
    assert summary["errors"] == 4 and summary["captioned"] == 8  # 6 photos and the 2 oddly named ones
    # The summary adds up: 12 files are new or unreadable; the new ones are captioned or undecodable.
    assert (summary["new"], summary["unreadable"], summary["undecodable"]) == (10, 2, 2)
    assert summary["new_errors"] == 4 and {Path(f["path"]).name for f in summary["new_failed"]} == set(reasons)

    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert (status["ok"], status["errors"]) == (8, 4)
    assert {Path(f["path"]).name for f in status["failed"]} == set(reasons)
    again = photocap(tmp_home, "index", str(library))  # the same broken files are no news: exit 0, counted
    assert again.exit_code == 0 and "error: " not in again.stderr
    assert "4 photos failed before and still do; `photocap status` lists them" in again.stderr
    assert "0 new, 0 changed, 0 moved, 0 back, 12 unchanged, 0 unreadable, 0 missing" in again.stdout
    (bad / "empty2.jpg").write_bytes(b"")  # a new broken file: exit 3, and only it is listed
    text = photocap(tmp_home, "index", str(library))
    assert text.exit_code == 3 and text.stderr.count("error: ") == 1 and "empty2.jpg: empty file" in text.stderr


def test_search_exit_codes(tmp_home: Path, library: Path) -> None:
    no_index = photocap(tmp_home, "search", "dog")
    assert no_index.exit_code == 2 and "photocap index" in no_index.stderr
    photocap(tmp_home, "index", str(library))
    for malformed in ['"dog on', "dog AND", "(dog", "caption:"]:
        run = photocap(tmp_home, "search", malformed)
        assert run.exit_code == 2, malformed
        assert run.stderr.startswith("Error: bad query:") and len(run.stderr.strip().splitlines()) == 1
    nothing = photocap(tmp_home, "search", "helicopter", "--json")
    assert (nothing.exit_code, nothing.stdout) == (1, "")
    assert photocap(tmp_home, "search", "dog", "--after", "2024-13-01").exit_code == 2


def test_caption_reports_bad_files_without_a_catalog(tmp_home: Path, library: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not a photo")
    run = photocap(tmp_home, "caption", str(library / SAMPLE[0]), str(tmp_path / "notes.jpg"), "--json")
    assert run.exit_code == 3
    assert [line["path"] for line in json_lines(run.stdout)] == [str(library / SAMPLE[0])]
    assert "notes.jpg: not an image" in run.stderr
    assert photocap(tmp_home, "caption", str(tmp_path / "notes.jpg")).exit_code == 2
    assert not (tmp_home / "catalog.db").exists()


def test_a_missing_or_corrupt_model_is_one_clear_line(tmp_home: Path, library: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.pt").write_bytes(b"\x80\x02 not a checkpoint")
    for model, message in [(str(tmp_path / "broken.pt"), "corrupt"), ("no_such_model", "no shipped model")]:
        run = photocap(tmp_home, "caption", str(library / SAMPLE[0]), "--model", model)
        assert run.exit_code == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_second_writer_on_the_same_home_is_refused(tmp_home: Path, library: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from photocap.lock import exclusive_writer
            with exclusive_writer(Path({str(tmp_home)!r})):
                print("locked", flush=True)
                time.sleep(60)
        """)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run = photocap(tmp_home, "index", str(library))
        assert run.exit_code == 2 and "is being written by photocap" in run.stderr
    finally:
        holder.kill()
        holder.wait()


# A real `photocap index` process, slowed at one point (for {pause} s) so that the test can signal it there.
SLOWED_INDEXER = """
import sys, time
import photocap.{module} as target
real = target.{function}
calls = 0
def slowed(*args, **kwargs):
    global calls
    calls += 1
    if calls == 3 and "{when}" == "before":
        print("in flight", flush=True); time.sleep({pause})
    result = real(*args, **kwargs)
    if calls == 3 and "{when}" == "after":
        print("in flight", flush=True); time.sleep({pause})
    return result
target.{function} = slowed
from photocap.cli import main
main(["--home", sys.argv[1], "index", sys.argv[2], "--batch-size", "1", "--workers", "2"])
"""


@pytest.mark.parametrize(("module", "function", "when"), [
    ("indexing.worker", "finished_results", "after"),  # a batch captioned, not yet written
    ("catalog.store", "Catalog.save_batch_results", "after"),  # a batch in the catalog, not yet in the search index
])
def test_an_indexer_killed_mid_run_and_run_again_indexes_every_photo_once(
    tmp_home: Path, library: Path, module: str, function: str, when: str
) -> None:
    script = SLOWED_INDEXER.format(module=module, function=function, when=when, pause=120)
    indexer = subprocess.Popen([sys.executable, "-c", script, str(tmp_home), str(library)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = indexer.stdout.readline()
        assert line.strip() == "in flight", indexer.stderr.read()
        os.kill(indexer.pid, signal.SIGKILL)  # the main process only, as `kill -9 PID` would
    finally:
        indexer.kill()
        indexer.wait()
    with Catalog.open(tmp_home) as catalog:
        interrupted = catalog.status_counts()
    assert interrupted["photos"] == 6 and 0 < interrupted["ok"] < 6

    summary = json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)
    assert summary["captioned"] == 6 - interrupted["ok"] and summary["errors"] == 0
    with Catalog.open(tmp_home) as catalog, catalog.session() as session:
        assert catalog.status_counts()["ok"] == 6
        assert session.scalar(select(func.count()).select_from(captions)) == 6  # one caption per photo
    ids = indexed_ids(tmp_home)
    assert len(ids) == len(set(ids)) == 6


@pytest.mark.parametrize("presses", [1, 2], ids=["once", "twice"])
def test_ctrl_c_during_index_keeps_what_was_captioned_says_so_and_exits_130(
    tmp_home: Path, library: Path, presses: int
) -> None:
    # Ctrl-C in a terminal signals the whole process group: the indexer and its decoding processes.
    # The third batch is slow to write, so that Ctrl-C lands in it.
    script = SLOWED_INDEXER.format(module="indexing.worker", function="finished_results", when="after", pause=3)
    indexer = subprocess.Popen([sys.executable, "-c", script, str(tmp_home), str(library)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert indexer.stdout.readline().strip() == "in flight"
        for _ in range(presses):
            os.killpg(indexer.pid, signal.SIGINT)
            time.sleep(0.2)
        _out, err = indexer.communicate(timeout=120)
    finally:
        indexer.kill()
        indexer.wait()
    assert indexer.returncode == 130, err
    assert "Aborted" not in err and "Traceback" not in err
    with Catalog.open(tmp_home) as catalog:
        kept = catalog.status_counts()["ok"]
    if presses == 1:  # the batch in flight is finished and written, then the run stops
        assert f"interrupted: {kept} of 6 photos captioned; run the same command again to go on" in err
        assert kept == 3
    else:
        assert "interrupted: the photos captioned so far are kept; run the same command again to go on" in err
        assert 0 < kept < 6

    summary = json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)
    assert summary["captioned"] == 6 - kept and not summary["interrupted"]
    ids = indexed_ids(tmp_home)
    assert len(ids) == len(set(ids)) == 6


def test_the_inference_api_captions_pil_images_and_pixels(library: Path) -> None:
    from PIL import Image

    captioner = Captioner.load(device="cpu")
    with Image.open(library / SAMPLE[0]) as image:
        from_pil = captioner.caption_images([image.copy()], beam_size=3)
    from_file = captioner.caption_files([library / SAMPLE[0]], beam_size=3)
    assert from_pil[0].text == from_file[0].text and from_pil[0].score <= 0
    assert from_pil[0].words and all(0 < p <= 1 for _, p in from_pil[0].words)

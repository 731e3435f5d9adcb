"""`photocap index --engine ray` (issue 12, part 2) against a real local Ray: one Ray instance for the module,
started on loopback with two CPUs; the shipped model, Flickr8k photos, a real SQLite catalog and Whoosh index.

The same captions, tags and metadata as the built-in engine (reading photos at their path, or shipped as bytes);
a driver killed mid-run and run again captions every photo exactly once; a captioning actor killed mid-batch
costs a retry, not the run; bad photos are recorded as the built-in engine records them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

# A Ray only these tests use listens on loopback (see photocap.indexing.ray_engine.connect); set before Ray is imported.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[dev,resnet]' installs it)")

from click.testing import CliRunner, Result  # noqa: E402
from conftest import REPO, draw_photo  # noqa: E402
from test_images import png_claiming_size  # noqa: E402
from test_index import SAMPLE, indexed_ids  # noqa: E402
from test_written_metadata import sidecar  # noqa: E402

from photocap.catalog.store import Catalog  # noqa: E402
from photocap.cli import main  # noqa: E402
from photocap.config import load_settings  # noqa: E402
from photocap.indexing.pipeline import run_index  # noqa: E402

PHOTOS = [*SAMPLE, "3637013_c675de7705.jpg", "3640443200_b8066f37f6.jpg"]  # Flickr8k test split


@pytest.fixture(scope="module")
def ray_address():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight photos, two in a sub-folder; one with an XMP sidecar, one dated by its name alone."""
    data = Path(os.environ.get("PHOTOCAP_DATA") or REPO.parent / "shared" / "data" / "flickr8k")
    if not data.is_dir():
        pytest.skip(f"Flickr8k data not found at {data} (set PHOTOCAP_DATA to its folder)")
    root = tmp_path_factory.mktemp("ray") / "photos"
    (root / "trip").mkdir(parents=True)
    for i, name in enumerate(PHOTOS):
        shutil.copy(data / "Images" / name, root / ("trip" if i % 2 else "") / name)
    (root / f"{PHOTOS[0]}.xmp").write_text(sidecar("Grandma's garden", ("garden", "summer")), encoding="utf-8")
    os.rename(root / PHOTOS[2], root / "IMG_20230714_153000.jpg")
    return root


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def catalog_facts(home: Path) -> dict[str, tuple]:
    """Per path: status and error, what the decoder read, the caption, the tags, what the files said."""
    db = sqlite3.connect(home / "catalog.db")
    facts: dict[str, tuple] = {}
    for photo_id, path, *photo in db.execute(
            "SELECT id, path, status, error, width, height, taken_at, date_source, camera_make, metadata_stamp "
            "FROM photos"):
        caption = db.execute("SELECT text, round(score, 4), round(confidence, 4), method, words FROM captions "
                             "WHERE photo_id = ? AND source = 'model'", (photo_id,)).fetchall()
        tags = db.execute("SELECT word, round(probability, 4) FROM tags WHERE photo_id = ? ORDER BY word",
                          (photo_id,)).fetchall()
        written = db.execute("SELECT field, text, source FROM written_metadata WHERE photo_id = ? "
                             "ORDER BY field, text", (photo_id,)).fetchall()
        facts[path] = (*photo, caption, tags, written)
    db.close()
    return facts


@pytest.fixture(scope="module")
def builtin_facts(library: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    home = tmp_path_factory.mktemp("builtin-home")
    run = photocap(home, "index", str(library), "--batch-size", "4", "--json")
    assert run.exit_code == 0, run.output
    return catalog_facts(home)


@pytest.mark.parametrize("ship_bytes", [False, True], ids=["shared-storage", "ship-bytes"])
def test_ray_writes_what_the_builtin_engine_writes(ray_address: str, library: Path, builtin_facts: dict,
                                                   tmp_path: Path, ship_bytes: bool) -> None:
    home = tmp_path / "home"
    run = photocap(home, "index", str(library), "--engine", "ray", "--batch-size", "4", "--json",
                   *(["--ship-bytes"] if ship_bytes else []))
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert (summary["new"], summary["captioned"], summary["errors"]) == (8, 8, 0)
    facts = catalog_facts(home)
    assert facts == builtin_facts
    assert all(caption for *_, caption, _tags, _written in facts.values())
    assert any(tags for *_, tags, _written in facts.values())
    by_name = {Path(path).name: fact for path, fact in facts.items()}
    assert ("caption", "Grandma's garden", f"XMP sidecar {PHOTOS[0]}.xmp") in by_name[PHOTOS[0]][-1]
    assert by_name["IMG_20230714_153000.jpg"][5] == "file name"
    ids = indexed_ids(home)
    assert len(ids) == len(set(ids)) == 8


# A real `photocap index --engine ray` process joining the tests' Ray, slowed after its second batch is in the
# catalog (not yet in the search index) so that the test can SIGKILL it there.
KILLABLE_DRIVER = """
import sys, time
from photocap.catalog.store import Catalog
real = Catalog.save_batch_results
calls = 0
def slowed(self, results):
    global calls
    real(self, results)
    calls += 1
    if calls == 2:
        print("written", flush=True); time.sleep(120)
Catalog.save_batch_results = slowed
from photocap.cli import main
main(["--home", sys.argv[1], "index", sys.argv[2], "--engine", "ray", "--ray-address", sys.argv[3],
      "--batch-size", "2"])
"""


def test_a_killed_driver_run_again_captions_every_photo_once(ray_address: str, library: Path,
                                                             tmp_path: Path) -> None:
    home = tmp_path / "home"
    driver = subprocess.Popen([sys.executable, "-c", KILLABLE_DRIVER, str(home), str(library), ray_address],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = driver.stdout.readline()
        assert line.strip() == "written", driver.stderr.read()
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.kill()
        driver.wait()
    with Catalog.open(home) as catalog:
        interrupted = catalog.status_counts()
    assert interrupted["photos"] == 8 and interrupted["ok"] == 4  # two batches of two

    summary = json.loads(photocap(home, "index", str(library), "--engine", "ray", "--json").stdout)
    assert (summary["captioned"], summary["errors"]) == (4, 0)
    db = sqlite3.connect(home / "catalog.db")
    assert db.execute("SELECT count(*), count(DISTINCT photo_id) FROM captions").fetchone() == (8, 8)
    db.close()
    ids = indexed_ids(home)
    assert len(ids) == len(set(ids)) == 8


def captioning_actors() -> set[int]:
    """PIDs of this test process's Ray captioning actors (Ray titles its workers ray::<class>...)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::MapWorker") and b"Captioning" in title and _descends_from_us(int(entry.name)):
                found.add(int(entry.name))
    return found


def _descends_from_us(pid: int) -> bool:
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


def test_a_captioning_actor_killed_mid_batch_costs_a_retry_not_the_run(ray_address: str, library: Path,
                                                                       tmp_path: Path) -> None:
    larger = tmp_path / "photos"  # 24 photos a batch each: the run outlasts finding the actor by far
    for copy in ("a", "b", "c"):
        shutil.copytree(library, larger / copy)
    settings = replace(load_settings(home=tmp_path / "home"), engine="ray", batch_size=1)
    first_batch = threading.Event()
    outcome: dict = {}

    def progress(_stage: str, _total: int):
        return lambda n: first_batch.set()

    def index() -> None:
        try:
            outcome["report"] = run_index(settings, [larger], progress=progress)
        except BaseException as error:  # noqa: BLE001  handed to the test thread
            outcome["error"] = error

    runner = threading.Thread(target=index)
    runner.start()
    assert first_batch.wait(300), "no batch was written"
    [victim] = captioning_actors()
    assert runner.is_alive(), "the run ended before the actor could be killed"
    os.kill(victim, signal.SIGKILL)
    restarted = set()
    while runner.is_alive() and not restarted:
        restarted = captioning_actors() - {victim}
        time.sleep(0.05)
    runner.join(300)
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert (report.captioned, report.errors) == (24, 0)
    assert restarted, "Ray did not start the killed actor again"
    with Catalog.open(settings.home) as catalog:
        assert catalog.status_counts()["ok"] == 24
    ids = indexed_ids(settings.home)
    assert len(ids) == len(set(ids)) == 24


@pytest.mark.parametrize("ship_bytes", [False, True], ids=["shared-storage", "ship-bytes"])
def test_bad_photos_are_recorded_and_the_run_goes_on(ray_address: str, library: Path, tmp_path: Path,
                                                     ship_bytes: bool) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(library / "trip", mixed)
    whole = (mixed / PHOTOS[1]).read_bytes()
    (mixed / "truncated.jpg").write_bytes(whole[: len(whole) // 4])
    (mixed / "empty.jpg").write_bytes(b"")
    (mixed / "notes.jpg").write_text("shopping list: eggs, milk\n")
    png_claiming_size(mixed / "bomb.png", 50_000, 50_000)
    draw_photo(os.fsencode(mixed) + b"/caf\xe9.jpg", size=(120, 90), seed=2)  # a name that is not UTF-8

    run = photocap(tmp_path / "home", "index", str(mixed), "--engine", "ray", "--json",
                   *(["--ship-bytes"] if ship_bytes else []))
    assert run.exit_code == 3, run.output
    summary = json.loads(run.stdout)
    reasons = {Path(failure["path"]).name: failure["error"] for failure in summary["failed"]}
    assert set(reasons) == {"truncated.jpg", "empty.jpg", "notes.jpg", "bomb.png"}
    assert reasons["notes.jpg"] == "not an image (the file holds text)"
    assert reasons["bomb.png"].startswith("refused: image too large")
    assert reasons["truncated.jpg"].startswith("cannot decode")
    assert str(tmp_path / "home") not in reasons["truncated.jpg"] and "photocap-shipped" not in run.stdout
    assert (summary["captioned"], summary["undecodable"], summary["errors"]) == (5, 2, 4)

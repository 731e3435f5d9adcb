"""`photocap watch` end to end: a real watchdog observer on a temporary folder, the shipped model, a real
catalog and search index. Photos are copied in, renamed and deleted; the catalog and search must follow
within a bounded wait. Captions that matter come from Flickr8k photos; where they do not, tiny drawn ones."""

from __future__ import annotations

import errno
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, draw_photo
from sqlalchemy import func, select

from photocap.catalog.store import Catalog, captions
from photocap.cli import main
from photocap.config import load_settings
from photocap.indexing.watch import Watcher, mount_filesystem_type, needs_polling
from photocap.search.index import SearchIndex

FLICKR = ["3385593926_d3e9c21170.jpg", "2677656448_6b7e7702af.jpg", "311146855_0b65fdb169.jpg",
          "1258913059_07c613f7ff.jpg"]
WAIT_S = 60  # the most any single step may take, on a busy machine


def photocap(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def caption_of(home: Path, path: Path) -> str | None:
    with Catalog.open(home) as catalog:
        photo = catalog.photo_by_path(str(path))
    return photo["caption"] if photo else None


def search_paths(home: Path, query: str) -> list[str]:
    run = photocap(home, "search", query, "--json")
    return [json.loads(line)["path"] for line in run.stdout.splitlines()]


def indexed_ids(home: Path) -> list[int]:
    with SearchIndex.open(home / "index", create=False) as index:
        return sorted(index.photo_ids())


class Lines:
    """The lines a pipe carries, read in a thread, so that a test can wait for one with a time limit."""

    def __init__(self, pipe) -> None:
        self.seen: list[str] = []
        self._claimed: set[int] = set()  # lines a wait_for returned already
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float = WAIT_S) -> str:
        """The first line, read already or still to come, that `wanted` accepts and no earlier wait returned:
        photos of one batch are reported in whatever order their captions are finished."""
        for index, line in enumerate(self.seen):
            if index not in self._claimed and wanted(line):
                self._claimed.add(index)
                return line
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"timed out; lines so far: {self.seen}") from None
            if line is None:
                raise AssertionError(f"the stream ended; lines: {self.seen}")
            self.seen.append(line)
            if wanted(line):
                self._claimed.add(len(self.seen) - 1)
                return line

    def rest(self) -> list[str]:
        while (line := self._queue.get(timeout=WAIT_S)) is not None:
            self.seen.append(line)
        return self.seen


class Events(Lines):
    """`watch --json` output: one JSON object a line."""

    def wait_for_event(self, path: Path, action: str) -> dict:
        def matches(line: str) -> bool:
            event = json.loads(line)
            return event["path"] == str(path) and event["action"] == action

        return json.loads(self.wait_for(matches))

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.seen]


@pytest.fixture
def watch_process(tmp_home: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, Events, Lines]]]:
    """Start `photocap watch` (or a script) in a process; it is stopped, if still running, at the end."""
    started: list[subprocess.Popen] = []

    def start(*args: str, script: str | None = None) -> tuple[subprocess.Popen, Events, Lines]:
        command = [sys.executable, "-c", script, *args] if script else [
            sys.executable, "-m", "photocap.cli", "--home", str(tmp_home), "watch", *args]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
        started.append(process)
        events, log = Events(process.stdout), Lines(process.stderr)
        log.wait_for(lambda line: line.startswith("watching "))
        return process, events, log

    yield start
    for process in started:
        process.kill()
        process.wait()


def copy_slowly(source: Path, target: Path, pieces: int = 4, pause_s: float = 0.25) -> None:
    """Copy as a slow download would: a file that grows for a while before it is complete."""
    data = source.read_bytes()
    step = math.ceil(len(data) / pieces)
    with open(target, "wb") as file:
        for start in range(0, len(data), step):
            file.write(data[start : start + step])
            file.flush()
            time.sleep(pause_s)


def test_watch_follows_new_moved_and_deleted_photos(
    tmp_home: Path, tmp_path: Path, flickr_dir: Path, watch_process
) -> None:
    library = tmp_path / "photos"
    library.mkdir()
    images = flickr_dir / "Images"
    shutil.copy(images / FLICKR[0], library / "before.jpg")  # there before the watch: caught up at start
    process, events, log = watch_process(str(library), "--json", "--workers", "0", "--batch-size", "4",
                                         "--debounce", "1")
    first = events.wait_for_event(library / "before.jpg", "new")
    assert first["caption"] and first["caption"] == caption_of(tmp_home, library / "before.jpg")
    shown = json.loads(photocap(tmp_home, "show", str(library / "before.jpg"), "--json").stdout)
    assert first["tags"] == [tag["word"] for tag in shown["tags"]]  # the tags show lists, in its order

    (library / "trip").mkdir()
    shutil.copy(images / FLICKR[1], library / "beach.jpg")
    shutil.copy(images / FLICKR[2], library / "trip" / "crowd.jpg")
    copy_slowly(images / FLICKR[3], library / "trip" / "slow.jpg")
    new = {Path(events.wait_for_event(path, "new")["path"])
           for path in (library / "beach.jpg", library / "trip" / "crowd.jpg", library / "trip" / "slow.jpg")}
    assert len(new) == 3

    # Searching while the watch holds the home works; writing to it is refused with a clear message.
    beach_caption = caption_of(tmp_home, library / "beach.jpg")
    assert str(library / "beach.jpg") in search_paths(tmp_home, beach_caption)
    for command in ("index", "watch"):
        refused = photocap(tmp_home, command, str(library))
        assert refused.exit_code == 2 and "is being written by photocap" in refused.stderr, command
    # The user's edits work while the watch runs, and the watch takes them into the search index.
    edit = photocap(tmp_home, "caption", "--set", str(library / "trip" / "crowd.jpg"), "carnival in Notting Hill")
    assert edit.exit_code == 0 and "takes your edit into the search index shortly" in edit.stderr
    assert photocap(tmp_home, "tag", str(library / "trip" / "crowd.jpg"), "--add", "festival").exit_code == 0
    until(lambda: search_paths(tmp_home, "notting festival") == [str(library / "trip" / "crowd.jpg")])
    assert photocap(tmp_home, "caption", "--clear", str(library / "trip" / "crowd.jpg")).exit_code == 0

    (library / "before.jpg").rename(library / "trip" / "renamed.jpg")  # across folders
    moved = events.wait_for_event(library / "trip" / "renamed.jpg", "moved")
    assert moved["from"] == str(library / "before.jpg") and moved["caption"] == first["caption"]
    shutil.copy(images / FLICKR[1], library / "trip" / "crowd.jpg")  # new content at a known path
    changed = events.wait_for_event(library / "trip" / "crowd.jpg", "changed")
    assert changed["caption"] == beach_caption  # the same content gets the same caption
    (library / "beach.jpg").unlink()
    events.wait_for_event(library / "beach.jpg", "missing")
    assert str(library / "beach.jpg") not in search_paths(tmp_home, beach_caption)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=WAIT_S) == 0
    everything = events.rest()
    assert all(json.loads(line) for line in everything)  # nothing but JSON on stdout
    slow = [e for e in events.events() if e["path"] == str(library / "trip" / "slow.jpg")]
    assert [e["action"] for e in slow] == ["new"]  # captioned once, after the copy was complete
    assert caption_of(tmp_home, library / "trip" / "renamed.jpg") == first["caption"]
    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert (status["ok"], status["missing"], status["errors"], status["indexed"]) == (3, 1, 0, 3)


# A real `photocap watch` process whose second captioning batch takes a while, so that a signal lands in it.
SLOWED_WATCHER = """
import sys, time
import photocap.indexing.worker as worker
real = worker.finished_results
calls = 0
def slowed(*args, **kwargs):
    global calls
    calls += 1
    if calls == 2:
        print("in flight", file=sys.stderr, flush=True)
        time.sleep(2)
    return real(*args, **kwargs)
worker.finished_results = slowed
from photocap.cli import main
main(["--home", sys.argv[1], "watch", sys.argv[2], "--json", "--batch-size", "2", "--workers", "1",
      "--debounce", "0.5"])
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_batch_finishes_it_and_loses_nothing(
    tmp_home: Path, tmp_path: Path, watch_process, signum: int
) -> None:
    library = tmp_path / "photos"
    library.mkdir()
    process, events, log = watch_process(str(tmp_home), str(library), script=SLOWED_WATCHER)
    for i in range(6):
        draw_photo(library / f"p{i}.png", seed=i)
    log.wait_for(lambda line: line == "in flight")
    os.killpg(process.pid, signum)  # the decoding worker too, as Ctrl-C in a terminal does
    assert process.wait(timeout=WAIT_S) == 0, log.rest()
    reported = [e for e in (json.loads(line) for line in events.rest()) if e["action"] == "new"]
    assert len(reported) == 4  # the first batch, and the one in flight: finished, not dropped

    with Catalog.open(tmp_home) as catalog, catalog.session() as session:
        counts = catalog.status_counts()
        assert (counts["ok"], counts["pending"], counts["unsynced"]) == (4, 2, 0)
        assert session.scalar(select(func.count()).select_from(captions)) == 4
        ok_ids = sorted(p["id"] for p in catalog.photos_under([library]) if p["status"] == "ok")
    assert indexed_ids(tmp_home) == ok_ids

    summary = json.loads(photocap(tmp_home, "index", str(library), "--json", "--workers", "0").stdout)
    assert (summary["new"], summary["captioned"], summary["errors"]) == (0, 2, 0)
    with Catalog.open(tmp_home) as catalog, catalog.session() as session:
        assert catalog.status_counts()["ok"] == 6
        assert session.scalar(select(func.count()).select_from(captions)) == 6  # one caption per photo
    assert len(indexed_ids(tmp_home)) == 6


def run_in_thread(watcher: Watcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    assert watcher.ready.wait(WAIT_S)
    return thread


def until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_burst_of_new_photos_is_captioned_in_full_batches(tmp_home: Path, tmp_path: Path) -> None:
    library = tmp_path / "burst"
    library.mkdir()
    settings = load_settings(home=tmp_home, workers=0, batch_size=16, beam_size=1)
    events: list[dict] = []
    watcher = Watcher(settings, [library], debounce_s=1.0, on_event=events.append)
    thread = run_in_thread(watcher)
    count = 40
    for i in range(count):
        draw_photo(library / f"{i // 10}" / f"burst{i:03}.jpg", size=(32, 24), seed=i)
    until(lambda: sum(e["action"] == "new" for e in events) == count)
    watcher.stop()
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert watcher.report.captioned == count
    assert watcher.report.passes <= 2 and watcher.report.batches <= math.ceil(count / 16) + 1  # not one by one


def test_a_mass_disappearance_is_held_until_the_photos_come_back(tmp_home: Path, tmp_path: Path) -> None:
    library, away = tmp_path / "mount", tmp_path / "away"
    library.mkdir()
    away.mkdir()
    photos = [draw_photo(library / f"p{i}.png", seed=i) for i in range(6)]
    settings = load_settings(home=tmp_home, workers=0, batch_size=8, beam_size=1)
    events: list[dict] = []
    watcher = Watcher(settings, [library], polling=True, poll_interval_s=0.5, debounce_s=0.5,
                      on_event=events.append)
    thread = run_in_thread(watcher)
    assert sum(e["action"] == "new" for e in events) == 6
    some_caption = caption_of(tmp_home, photos[0])

    def actions() -> list[str]:
        return [e["action"] for e in events[6:]]

    for photo in photos[:5]:  # a mount dropping: most of the folder gone at once
        photo.rename(away / photo.name)
    until(lambda: "held" in actions())
    assert events[6] == {"path": str(library), "action": "held", "caption": None, "gone": 5, "photos": 6}
    with Catalog.open(tmp_home) as catalog:
        assert catalog.status_counts()["missing"] == 0
    assert str(photos[0]) in search_paths(tmp_home, some_caption)  # still found while on hold

    for photo in photos[:5]:
        (away / photo.name).rename(photo)
    until(lambda: "resumed" in actions())
    photos[5].unlink()  # an ordinary deletion is not held
    until(lambda: "missing" in actions())
    assert actions() == ["held", "resumed", "missing"]

    for photo in photos[:4]:  # gone for good this time
        photo.unlink()
    until(lambda: actions().count("held") == 2)
    watcher.stop()
    thread.join(WAIT_S)
    assert watcher.report.held == [str(library)]
    with Catalog.open(tmp_home) as catalog:
        assert catalog.status_counts()["missing"] == 1
    confirmed = json.loads(photocap(tmp_home, "index", str(library), "--json").stdout)  # an explicit scan decides
    assert confirmed["missing"] == 4


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 27 0:45 / /mnt/nas rw,relatime shared:20 - nfs4 nas:/volume1 rw,vers=4.2
41 40 0:46 / /mnt/nas/local\\040disk rw,relatime - ext4 /dev/sdb1 rw
42 27 0:47 / /home/me/remote rw,nosuid - fuse.sshfs me@host:/photos rw,user_id=1000
"""


def test_the_file_system_type_of_a_folder_decides_on_polling() -> None:
    def polled(path: str) -> bool:
        return needs_polling(mount_filesystem_type(path, MOUNTINFO))

    assert mount_filesystem_type("/home/me/Pictures", MOUNTINFO) == "ext4"
    assert mount_filesystem_type("/mnt/nas/2024/trip", MOUNTINFO) == "nfs4"
    assert mount_filesystem_type("/mnt/nas/local disk/x", MOUNTINFO) == "ext4"  # a mount inside the mount
    assert mount_filesystem_type("/mnt/nasty", MOUNTINFO) == "ext4"  # a name that only starts the same
    assert [polled(p) for p in ("/home/me/Pictures", "/mnt/nas/2024", "/home/me/remote/a")] == [False, True, True]
    assert not needs_polling("fuseblk") and needs_polling("cifs") and not needs_polling(None)
    assert mount_filesystem_type(Path.cwd()) is not None  # this machine's own /proc/self/mountinfo


def test_polling_takes_over_when_inotify_cannot_start(
    tmp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    def watch_limit_reached(*args, **kwargs):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    inotify_c = pytest.importorskip("watchdog.observers.inotify_c")
    monkeypatch.setattr(inotify_c.InotifyFD, "add_callback", watch_limit_reached)  # the kernel's limit, not ours
    library = tmp_path / "photos"
    library.mkdir()
    settings = load_settings(home=tmp_home, workers=0, beam_size=1)
    events: list[dict] = []
    logs: list[str] = []
    watcher = Watcher(settings, [library], poll_interval_s=0.5, debounce_s=0.5, on_event=events.append,
                      log=logs.append)
    thread = run_in_thread(watcher)
    draw_photo(library / "seen.png")
    until(lambda: [e["action"] for e in events] == ["new"])
    watcher.stop()
    thread.join(WAIT_S)
    assert any("watch limit reached" in line and "polling instead" in line for line in logs)
    assert f"watching {library} (polling)" in "\n".join(logs)

"""`photocap watch`: index folders, then keep indexing them as photos appear, change, move or vanish.

The observer threads (watchdog: inotify, or polling where inotify cannot see changes, such as network
mounts) only note which paths changed. The main thread waits until those paths have been quiet for the
debounce time and look the same twice, then brings the folders holding them up to date with
`pipeline.index_roots`: the scan finds what is new, changed, moved or gone (a move is seen when both of
its folders are scanned in the same pass), and the pending photos are captioned in batches, one catalog
transaction each. What happened is reported per photo through `on_event`, as a before/after comparison of
the catalog rows under the scanned folders.

Before a pass may mark photos missing, a mass disappearance (more than half of a watched folder's photos
gone at once: a network mount dropping, a disk unplugged) puts that folder on hold instead: reported once,
left as it was, and checked again until its photos come back or `photocap index` confirms the deletion.

The home's writer lock is held for the whole watch, so a second `watch` or `index` is refused.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from photocap.catalog.store import Catalog, KnownFile, PhotoResult
from photocap.catalog.tags import confident
from photocap.config import Settings
from photocap.indexing.pipeline import LazyCaptioner, Progress, index_roots
from photocap.indexing.scan import ScanError, is_within
from photocap.indexing.signals import stop_on_signals
from photocap.lock import exclusive_writer
from photocap.search.index import SearchIndex
from photocap.search.sync import open_for_writing, sync_search_index
from photocap.wording import counted

DEFAULT_DEBOUNCE_S = 1.5  # quiet time after the last event before the changed folders are scanned
POLL_INTERVAL_S = 2.0  # between two snapshots of a polled folder
MAX_WAIT_S = 30.0  # events that never stop coming (a long copy) are taken this long after the first one
HOLD_MIN_PHOTOS = 4  # a folder with fewer catalogued photos is never held
HOLD_RECHECK_S = 5.0  # how often held folders are looked at again
HOLD_SAMPLE = 64  # photos looked at first when checking whether a held folder is back
TICK_S = 0.2
EDIT_SYNC_S = 2.0  # how often edits made while watching (caption --set, tag) reach the search index

# Where inotify sees no changes made by other machines (or by the host, for 9p and virtiofs).
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ceph", "coda", "davfs", "drvfs",
    "glusterfs", "gpfs", "lustre", "ncpfs", "virtiofs",
})
# Events that say nothing about a photo's content: reads (ours included) and permission or time changes.
IGNORED_EVENT_TYPES = frozenset({"opened", "closed_no_write", "attrib"})

# {"path", "action", "caption"}; action: new, changed, moved (+ "from"), missing, restored, error (+ "error"),
# metadata (its XMP sidecar changed and was read again),
# held (+ "gone", "photos": a watched folder put on hold) or resumed (its photos are back).
Event = dict[str, Any]


@dataclass
class WatchReport:
    passes: int = 0  # scans made for file events (the first catch-up not counted)
    batches: int = 0  # captioning batches written, the first catch-up's included
    captioned: int = 0
    events: int = 0  # events reported through on_event
    held: list[str] = field(default_factory=list)  # watched folders on hold when the watch stopped


# ------------------------------------------------------------------------------------ which observer


def mount_filesystem_type(path: str | os.PathLike[str], mountinfo: str | None = None) -> str | None:
    """The file-system type of the mount holding `path`, from /proc/self/mountinfo (None when unknown)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_bytes().decode(errors="surrogateescape")
        except OSError:
            return None
    target = os.path.realpath(path)
    best, fs_type = "", None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if "-" not in fields[5:]:
            continue
        separator = fields.index("-", 5)
        if len(fields) <= separator + 1:
            continue
        mount_point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        # Later lines win on ties: a mount stacked on the same mount point hides the one below.
        if is_within(target, mount_point) and len(mount_point) >= len(best):
            best, fs_type = mount_point, fields[separator + 1]
    return fs_type


def needs_polling(fs_type: str | None) -> bool:
    """Whether inotify would miss changes on this file system (network and FUSE mounts)."""
    return fs_type is not None and (fs_type in NETWORK_FILESYSTEMS or fs_type.startswith("fuse."))


class RootObservers:
    """The watchdog observers of the watched folders: the native one (inotify) where it works, polling
    where it cannot (network mounts, `polling`, or the native observer failing to start: the watch limit)."""

    def __init__(self, handler: FileSystemEventHandler, *, follow_symlinks: bool, poll_interval_s: float,
                 log: Callable[[str], None]) -> None:
        self.handler, self.follow_symlinks, self.log = handler, follow_symlinks, log
        self.poll_interval_s = poll_interval_s
        self._observers: list[BaseObserver] = []
        self._watches: dict[str, tuple[BaseObserver, ObservedWatch]] = {}
        self.polled: set[str] = set()

    def start(self, roots: Sequence[str], polling: bool) -> None:
        polled = [root for root in roots if polling or needs_polling(mount_filesystem_type(root))]
        native = [root for root in roots if root not in polled]
        if native:
            try:
                self._start(Observer(), native)
            except OSError as error:
                self.log(f"cannot watch with {Observer.__name__} ({error.strerror or error}); polling instead")
                polled += native
        if polled:
            self._start(PollingObserver(timeout=self.poll_interval_s), polled)
            self.polled.update(polled)

    def _start(self, observer: BaseObserver, roots: Sequence[str]) -> None:
        try:
            watches = {root: observer.schedule(self.handler, root, recursive=True,
                                               follow_symlink=self.follow_symlinks) for root in roots}
            observer.start()
        except OSError:
            observer.stop()  # never started: nothing to join; this ends the threads it made
            raise
        self._observers.append(observer)
        self._watches.update({root: (observer, watch) for root, watch in watches.items()})

    def rewatch(self, root: str) -> None:
        """Watch `root` anew: its watch stops for good when the folder itself vanishes."""
        observer, watch = self._watches[root]
        observer.unschedule(watch)
        self._watches[root] = observer, observer.schedule(self.handler, root, recursive=True,
                                                          follow_symlink=self.follow_symlinks)

    def stop(self) -> None:
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            observer.join(timeout=10)


# --------------------------------------------------------------------------------------- the events


def _look(path: str) -> tuple[int, int, int] | None:
    """What a path looks like now, to tell a file still being written from one that is done."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


class PendingChanges:
    """Paths touched by file events, noted by the observer threads until they have been quiet for a while."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        self._paths: dict[str, tuple[tuple[int, int, int] | None, float]] = {}  # path: (look, when noted)
        self._first = self._last = 0.0

    def add(self, path: str) -> None:
        look, now = _look(path), time.monotonic()
        with self._lock:
            if not self._paths:
                self._first = now
            self._paths[path] = look, now
            self._last = now
        self.arrived.set()

    def take_settled(self, quiet_s: float, max_wait_s: float) -> list[str]:
        """The paths noted, once no event came for `quiet_s` and each looks as it did at its last event.

        Paths that keep changing wait, unless events have been coming for `max_wait_s`: then the settled
        ones are taken anyway, so that a long copy is indexed as it goes.
        """
        with self._lock:
            now = time.monotonic()
            overdue = bool(self._paths) and now - self._first >= max_wait_s
            if not self._paths or (now - self._last < quiet_s and not overdue):
                return []
            noted = dict(self._paths)
        unsettled = {path: look for path, (old, _) in noted.items() if (look := _look(path)) != old}
        with self._lock:
            now = time.monotonic()
            for path, look in unsettled.items():
                self._paths[path] = look, now
            if unsettled and not overdue:
                self._last = now
                return []
            # Paths noted again since the copy was made wait for the next round.
            taken = [path for path, entry in noted.items() if path not in unsettled and self._paths[path] == entry]
            for path in taken:
                del self._paths[path]
            self._first = min((when for _, when in self._paths.values()), default=0.0)
        return taken


class _EventCollector(FileSystemEventHandler):
    """Runs in the observer threads: notes the paths of events that may concern photos."""

    def __init__(self, changes: PendingChanges, roots: Sequence[str], home: Path) -> None:
        self.changes, self.roots, self.home = changes, roots, os.fspath(home)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENT_TYPES or (event.is_directory and event.event_type == "modified"):
            return
        for raw in (event.src_path, event.dest_path):
            path = os.fsdecode(raw) if raw else ""
            if path and self._may_hold_photos(path):
                self.changes.add(path)

    def _may_hold_photos(self, path: str) -> bool:
        if is_within(path, self.home):  # the catalog's own writes, if the home is inside a watched folder
            return False
        root = _root_of(path, self.roots)
        if root is None:
            return False
        # The scan skips hidden names (and so temporary files such as rsync's .name.XXXXXX).
        return not any(part.startswith(".") for part in path[len(root):].split(os.sep))


def _root_of(path: str, roots: Sequence[str]) -> str | None:
    """The watched folder holding `path` (the innermost, when watched folders nest)."""
    holding = [root for root in roots if is_within(path, root)]
    return max(holding, key=len) if holding else None


# -------------------------------------------------------------------------------------- the watcher

Catalogued = dict[int, tuple[str, KnownFile]]  # photo id: (path, what the catalog holds of it)


class Watcher:
    """`photocap watch` for `roots`: call run() (it returns once stop() was called), from any thread."""

    def __init__(
        self,
        settings: Settings,
        roots: Sequence[str | os.PathLike[str]],
        *,
        polling: bool = False,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        poll_interval_s: float = POLL_INTERVAL_S,
        on_event: Callable[[Event], None] = lambda event: None,
        log: Callable[[str], None] = lambda message: None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.roots = sorted({os.fspath(Path(root).resolve()) for root in roots})
        self.polling, self.debounce_s, self.poll_interval_s = polling, debounce_s, poll_interval_s
        self.on_event, self.log, self.progress = on_event, log, progress
        self.ready = threading.Event()  # set once caught up and following events
        self.report = WatchReport()
        self._stop = threading.Event()
        self._changes = PendingChanges()
        self._captioner = LazyCaptioner(settings)
        self._held: set[str] = set()
        self._catalog: Catalog
        self._search_index: SearchIndex
        self._observers: RootObservers

    def stop(self) -> None:
        """Stop after the batch in flight (safe from a signal handler or another thread)."""
        self._stop.set()
        self._changes.arrived.set()

    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> WatchReport:
        for root in self.roots:
            if not os.path.isdir(root):
                raise ScanError(f"no such folder: {root}")
        with ExitStack() as stack:
            stack.enter_context(exclusive_writer(self.settings.home))
            self._catalog = stack.enter_context(Catalog.open(self.settings.home))
            self._search_index = stack.enter_context(open_for_writing(self._catalog, self.settings.home / "index"))
            # Watching starts before the catch-up, so that nothing changed during it goes unseen.
            collector = _EventCollector(self._changes, self.roots, self.settings.home.resolve())
            self._observers = RootObservers(collector, follow_symlinks=self.settings.follow_symlinks,
                                            poll_interval_s=self.poll_interval_s, log=self.log)
            stack.callback(self._observers.stop)
            self._observers.start(self.roots, self.polling)
            self._bring_up_to_date(self.roots, progress=self.progress)
            self._follow_events()
        self.report.held = sorted(self._held)
        return self.report

    def _follow_events(self) -> None:
        # Polled folders show a file still being copied as changed once per poll: wait longer than a poll.
        quiet_s = max(self.debounce_s, 1.5 * self.poll_interval_s) if self._observers.polled else self.debounce_s
        max_wait_s = max(MAX_WAIT_S, 2 * quiet_s)
        kinds = ", ".join(f"{root} ({'polling' if root in self._observers.polled else 'native'})"
                          for root in self.roots)
        self.log(f"watching {kinds}; Ctrl-C or SIGTERM stops")
        self.ready.set()
        next_recheck = time.monotonic() + HOLD_RECHECK_S
        next_edit_sync = time.monotonic() + EDIT_SYNC_S
        while not self.stopping():
            self._changes.arrived.wait(TICK_S)
            self._changes.arrived.clear()
            if time.monotonic() >= next_edit_sync:  # the user's edits (caption --set, tag) made while watching
                next_edit_sync = time.monotonic() + EDIT_SYNC_S
                sync_search_index(self._catalog, self._search_index)
            if self._held and time.monotonic() >= next_recheck:
                next_recheck = time.monotonic() + HOLD_RECHECK_S
                back = [root for root in sorted(self._held) if self._release_if_back(root)]
                self._scan(back, retry=back)
            paths = [] if self.stopping() else self._changes.take_settled(quiet_s, max_wait_s)
            if paths:
                self.report.passes += 1
                self._apply(paths)

    def _apply(self, paths: list[str]) -> None:
        """Bring the folders holding `paths` up to date (a watched folder coming back from a hold: all of it)."""
        by_root: dict[str, set[str]] = {}
        for path in paths:
            root = _root_of(path, self.roots)
            if root is not None:
                by_root.setdefault(root, set()).add(_existing_folder(path, root))
        folders: list[str] = []
        for root, under in sorted(by_root.items()):
            if root not in self._held:
                folders += sorted(under)
            elif self._release_if_back(root):
                folders.append(root)
            # else its events are of no use: the whole folder is scanned when it comes back
        self._scan(folders, retry=paths)

    def _scan(self, folders: list[str], retry: list[str]) -> None:
        if not folders or self.stopping():
            return
        try:
            self._bring_up_to_date(folders)
        except ScanError as error:  # a folder vanished between the events and the scan: look again later
            self.log(f"{error}; looking again")
            for path in retry:
                self._changes.add(path)

    def _bring_up_to_date(self, folders: Sequence[str], progress: Progress | None = None) -> None:
        before = self._catalogued(folders)
        folders = self._hold_vanished(folders, before)
        if not folders or self.stopping():
            return
        reported: set[int] = set()
        started = time.perf_counter()
        index = index_roots(
            self._catalog, self._search_index, self.settings, folders, self._captioner, progress=progress,
            should_stop=self.stopping, on_results=lambda results: self._report_captioned(results, before, reported),
        )
        self._report_changes(before, self._catalogued(folders), reported)
        if index.new or index.changed or index.moved or index.missing or index.captioned:
            self.log(f"{index.new} new, {index.changed} changed, {index.moved} moved, {index.missing} missing; "
                     f"{index.captioned} captioned in {time.perf_counter() - started:.1f} s")

    def _catalogued(self, folders: Sequence[str]) -> Catalogued:
        return {known.id: (path, known) for path, known in self._catalog.known_files_under(folders).items()}

    # ------------------------------------------------------------------------------ mass disappearance

    def _hold_vanished(self, folders: Sequence[str], before: Catalogued) -> list[str]:
        """`folders` less those of watched folders whose photos vanished en masse, which are put on hold."""
        gone = Counter(_root_of(path, self.roots) for path, known in before.values()
                       if known.status != "missing" and not os.path.lexists(path))
        kept: list[str] = []
        for root in sorted({_root_of(folder, self.roots) for folder in folders} - {None}):
            if not os.path.isdir(root):
                photos = len(self._photos_present_in_catalog(root))
                self._hold(root, photos, photos)
                continue
            # Cheap test first: more than half of HOLD_MIN_PHOTOS or more needs at least this many gone.
            if gone[root] * 2 > HOLD_MIN_PHOTOS:
                photos = self._photos_present_in_catalog(root)
                if len(photos) >= HOLD_MIN_PHOTOS and gone[root] * 2 > len(photos):
                    self._hold(root, gone[root], len(photos))
                    continue
            kept += [folder for folder in folders if _root_of(folder, self.roots) == root]
        return kept

    def _photos_present_in_catalog(self, root: str) -> list[str]:
        return [path for path, known in self._catalog.known_files_under([root]).items() if known.status != "missing"]

    def _hold(self, root: str, gone: int, photos: int) -> None:
        if root in self._held:
            return
        self._held.add(root)
        self.log(f"{root}: {gone} of {counted(photos, 'photo')} vanished at once (a mount dropping?); not taken as "
                 f"deleted until they come back, or `photocap index {root}` confirms it")
        self._emit(root, "held", None, gone=gone, photos=photos)

    def _release_if_back(self, root: str) -> bool:
        """Whether `root`, on hold, has its photos back; if so it is watched anew and no longer held."""
        if not os.path.isdir(root):
            return False
        photos = self._photos_present_in_catalog(root)
        sample = random.sample(photos, min(len(photos), HOLD_SAMPLE))
        for looked_at in (sample, photos):  # the sample spares a full look while the mount is still away
            gone = sum(not os.path.lexists(path) for path in looked_at)
            if len(looked_at) >= HOLD_MIN_PHOTOS and gone * 2 > len(looked_at):
                return False
        self._held.discard(root)
        self._observers.rewatch(root)
        self.log(f"{root}: its photos are back; watching it again")
        self._emit(root, "resumed", None)
        return True

    # ------------------------------------------------------------------------------------- reporting

    def _report_captioned(self, results: list[PhotoResult], before: Catalogued, reported: set[int]) -> None:
        self.report.batches += 1
        photos = {photo["id"]: photo for photo in self._catalog.photos_by_ids([r.photo_id for r in results])}
        for result in results:
            photo = photos.get(result.photo_id)
            if photo is None or photo["status"] == "missing":  # gone while it was being captioned
                continue
            reported.add(result.photo_id)
            if result.error is not None:
                self._emit(photo["path"], "error", None, error=result.error)
                continue
            self.report.captioned += 1
            earlier = before.get(result.photo_id)
            action = "changed" if earlier is not None and earlier[1].status != "pending" else "new"
            self._emit(photo["path"], action, photo["caption"],
                       tags=[tag["word"] for tag in confident(photo["tags"])])

    def _report_changes(self, before: Catalogued, after: Catalogued, reported: set[int]) -> None:
        """Moves, removals, returns and unreadable files: what the scan did that captioning did not report."""
        changes: list[tuple[int, str, dict[str, Any]]] = []  # (photo id, action, extra fields)
        for photo_id, (path, known) in after.items():
            if photo_id in reported:
                continue
            earlier_path, earlier = before.get(photo_id, (None, None))
            if known.status == "missing":
                if earlier is not None and earlier.status != "missing":
                    changes.append((photo_id, "missing", {}))
            elif earlier is not None and earlier_path != path:
                changes.append((photo_id, "moved", {"from": earlier_path}))
            elif known.status == "error":
                if earlier is None or (earlier.status, earlier.size, earlier.mtime_ns) != (
                        "error", known.size, known.mtime_ns):
                    changes.append((photo_id, "error", {}))
            elif known.status == "ok":
                if earlier is None:  # a move from outside the scanned folders
                    changes.append((photo_id, "moved", {"from": None}))
                elif earlier.status == "missing":
                    changes.append((photo_id, "restored", {}))
                elif earlier.metadata_stamp not in (None, known.metadata_stamp):  # its sidecar was read again
                    changes.append((photo_id, "metadata", {}))
        if not changes:
            return
        photos = {photo["id"]: photo for photo in self._catalog.photos_by_ids([photo_id for photo_id, *_ in changes])}
        for photo_id, action, extra in changes:
            photo = photos[photo_id]
            if action == "error":
                self._emit(photo["path"], action, None, error=photo["error"] or "")
            else:
                self._emit(photo["path"], action, photo["caption"], **extra)

    def _emit(self, path: str, action: str, caption: str | None, **extra: Any) -> None:
        self.report.events += 1
        self.on_event({"path": path, "action": action, "caption": caption, **extra})


def _existing_folder(path: str, root: str) -> str:
    """The folder to scan for an event at `path`: the path itself if it is a folder, else the nearest
    existing folder above it, `root` at the highest."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    while folder != root and is_within(folder, root) and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    return folder if is_within(folder, root) else root


def run_watch(settings: Settings, roots: Sequence[str | os.PathLike[str]], **options: Any) -> WatchReport:
    """`photocap watch`, stopped cleanly by SIGINT or SIGTERM. `options` are Watcher's."""
    watcher = Watcher(settings, roots, **options)
    with stop_on_signals(watcher.stop):
        return watcher.run()

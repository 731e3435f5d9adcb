"""Walk folders and bring the catalog in step with what is on disk, without decoding a single image.

For each file: unchanged (same path, size and mtime_ns) costs one stat and nothing else; new and changed files are
read once, to sniff the format and hash the bytes (blake2b-128). XMP sidecars (photo.jpg.xmp, photo.xmp) are not
photos: the walk notes them, and a captioned photo whose sidecars changed (or whose metadata was never read) has
its metadata read again (photocap.metadata.read) without being captioned again. A new file whose hash matches a photo
whose path is gone is a move: the row follows the file and keeps its caption. Photos no longer found under the
scanned roots are marked missing (mark-and-sweep). Writes are committed in chunks and every step is idempotent, so
a scan killed half way can simply be run again."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import blake2b

from photocap.catalog.store import Catalog, FileError, FileUpdate, KnownFile, MetadataUpdate, NewFile
from photocap.media.file_errors import not_an_image_reason
from photocap.metadata.formats import IMAGE_EXTENSIONS, has_image_extension, image_kind, is_sidecar  # noqa: F401
from photocap.metadata.read import sidecar_candidates, sidecar_stamp

CHUNK_ROWS = 500  # catalog writes per commit
PROGRESS_EVERY = 200  # files between two on_progress calls
_READ_SIZE = 1 << 20
EMPTY_HASH = blake2b(b"", digest_size=16).hexdigest()


class ScanError(Exception):
    """A scan that cannot start (a root that does not exist); the message says which, in one line."""


@dataclass
class ScanSummary:
    new: int = 0  # new photos, pending a caption
    changed: int = 0  # photos whose content changed, pending a new caption
    moved: int = 0  # photos found at a new path (same content): caption kept
    restored: int = 0  # missing photos found again at their old path
    metadata_read: int = 0  # captioned photos whose metadata was read again (a sidecar changed)
    missing: int = 0  # photos no longer found under the roots
    unchanged: int = 0
    links_skipped: int = 0  # symbolic links not followed (follow_symlinks off)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), in walk order

    @property
    def unreadable(self) -> int:
        """Files found but not usable as photos this time (also listed in `errors`)."""
        return len(self.errors)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "unreadable": self.unreadable}


def scan_folders(
    catalog: Catalog,
    roots: Sequence[str | os.PathLike[str]],
    follow_symlinks: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ScanSummary:
    """Record in `catalog` what changed under `roots` (folders, or single files) since the last scan.

    `on_progress(files_examined)` is called every PROGRESS_EVERY files and once at the end.
    Raises ScanError, before touching the catalog, when a root does not exist.
    """
    absolute = _normalise_roots(roots)
    scan = _Scan(catalog)
    known = catalog.known_files_under(absolute)
    examined = 0
    for path, st in _walk(absolute, follow_symlinks, scan.folder_unreadable, scan.link_skipped):
        scan.examine(path, st, known.get(path))
        examined += 1
        if on_progress is not None and examined % PROGRESS_EVERY == 0:
            on_progress(examined)
    for folder in scan.unreadable_folders:  # their photos were not seen, but are not known to be gone
        scan.found.update(k.id for p, k in known.items() if is_within(p, folder))
    scan.flush()
    gone = [k.id for k in known.values() if k.id not in scan.found and k.status != "missing"]
    scan.summary.missing = catalog.flag_photos_under_roots_as_missing(gone, absolute)
    scan.read_changed_metadata()
    if on_progress is not None:
        on_progress(examined)
    return scan.summary


def _normalise_roots(roots: Sequence[str | os.PathLike[str]]) -> list[str]:
    absolute: list[str] = []
    for root in roots:
        path = os.path.abspath(os.fspath(root))
        if not os.path.exists(path):
            raise ScanError(f"no such file or folder: {path}")
        absolute.append(path)
    absolute = sorted(set(absolute))
    # A root inside another root would be walked twice.
    return [r for r in absolute if not any(is_within(r, o) for o in absolute if o != r)]


def is_within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies below it ("/a/bc" is not within "/a/b")."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(
    roots: list[str], follow_symlinks: bool, on_unreadable_folder: Callable[[str, OSError], None],
    on_link_skipped: Callable[[], None],
) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every regular file under `roots`, hidden names skipped, sorted per folder; without
    `follow_symlinks`, each symbolic link below a root is skipped and told to `on_link_skipped`."""
    visited: set[tuple[int, int]] = set()
    for root in roots:
        try:
            root_stat = os.stat(root)
        except OSError as error:
            on_unreadable_folder(root, error)
            continue
        if stat.S_ISREG(root_stat.st_mode):
            yield root, root_stat
            for sidecar in sidecar_candidates(root):  # a single photo's sidecars are part of it
                with contextlib.suppress(OSError):
                    yield sidecar, os.stat(sidecar)
            continue
        stack = [root]
        visited.add((root_stat.st_dev, root_stat.st_ino))
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as entries:
                    listed = sorted(entries, key=lambda e: e.name)
            except OSError as error:
                on_unreadable_folder(folder, error)
                continue
            subfolders: list[str] = []
            for entry in listed:
                if entry.name.startswith("."):
                    continue
                try:
                    if not follow_symlinks and entry.is_symlink():
                        on_link_skipped()
                        continue
                    entry_stat = entry.stat(follow_symlinks=follow_symlinks)
                except OSError:  # vanished since the listing, or a dangling link
                    continue
                if stat.S_ISDIR(entry_stat.st_mode):
                    key = (entry_stat.st_dev, entry_stat.st_ino)
                    if key not in visited:  # a symlink loop, or the same folder linked twice
                        visited.add(key)
                        subfolders.append(entry.path)
                elif stat.S_ISREG(entry_stat.st_mode):
                    yield entry.path, entry_stat
            stack.extend(reversed(subfolders))  # depth-first, in name order


class _Read:
    """The outcome of reading a file once: its format (None: not an image) and hash, or why it failed."""

    __slots__ = ("kind", "content_hash", "error", "vanished", "unsettled")

    def __init__(
        self, kind: str | None = None, content_hash: str | None = None, error: str | None = None,
        vanished: bool = False, unsettled: bool = False,
    ) -> None:
        self.kind, self.content_hash, self.error = kind, content_hash, error
        self.vanished = vanished  # gone before it could be read
        self.unsettled = unsettled  # changed while being read (still being copied or saved)


def _read_file(path: str, st: os.stat_result, hash_non_images: bool) -> _Read:
    """Sniff and hash `path` in one pass. Files that are not images are hashed only if `hash_non_images`."""
    try:
        with open(path, "rb") as file:
            head = file.read(_READ_SIZE)
            kind = image_kind(head, path)
            if kind is None and not hash_non_images:
                return _Read()
            digest = blake2b(head, digest_size=16)
            while chunk := file.read(_READ_SIZE):
                digest.update(chunk)
            after = os.fstat(file.fileno())
    except FileNotFoundError:
        return _Read(vanished=True)
    except PermissionError:
        return _Read(error="permission denied")
    except IsADirectoryError:
        return _Read(vanished=True)
    except OSError as error:
        return _Read(error=f"cannot read ({error.strerror or error})")
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        return _Read(error="changed while being read; it will be read again on the next scan", unsettled=True)
    return _Read(kind=kind, content_hash=digest.hexdigest())


class _Scan:
    """One scan's decisions, buffered and written to the catalog every CHUNK_ROWS rows."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.summary = ScanSummary()
        self.unreadable_folders: list[str] = []
        self.found: set[int] = set()  # the known photos the walk found, and those it found moved
        self.new: list[NewFile] = []
        self.changed: list[FileUpdate] = []
        self.moved: list[FileUpdate] = []
        self.refreshed: list[FileUpdate] = []
        self.failed: list[FileError] = []
        self.claimed: set[int] = set()  # rows moved during this scan, not yet written
        self._catalog_hashes: set[str] | None = None  # loaded at the first new file
        self.sidecars: dict[str, tuple[str, int, int]] = {}  # path: (name, size, mtime_ns) of each sidecar seen
        # Photos whose metadata may need reading again: (id, path, stamp read with, status).
        self.present: list[tuple[int, str, str | None, str]] = []

    def link_skipped(self) -> None:
        self.summary.links_skipped += 1

    def folder_unreadable(self, folder: str, error: OSError) -> None:
        reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or str(error))
        self.unreadable_folders.append(folder)
        self.summary.errors.append((folder, f"folder not readable ({reason}); its photos are left as they were"))

    def examine(self, path: str, st: os.stat_result, known: KnownFile | None) -> None:
        if known is None and is_sidecar(path):
            self.sidecars[path] = (os.path.basename(path), st.st_size, st.st_mtime_ns)
            return
        if known is not None:
            self.found.add(known.id)  # unless it vanishes while being read, below
        unchanged = known is not None and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns)
        if known is not None and unchanged and known.content_hash is not None:
            self.present.append((known.id, path, known.metadata_stamp, known.status))
            if known.status == "missing":
                self._refresh(known, path, st)
                self.summary.restored += 1
            else:
                self.summary.unchanged += 1
            self._flush_if_full()
            return
        is_photo = known is not None or has_image_extension(path)
        if st.st_size == 0:
            if is_photo:
                self._fail(path, st, EMPTY_HASH, "empty file")
            return
        read = _read_file(path, st, hash_non_images=is_photo)
        if read.vanished:
            if known is not None:
                self.found.discard(known.id)  # gone: the sweep marks it missing
            return
        if read.error is not None:
            if read.unsettled:  # reported, not recorded (its row stays as it was): the next scan reads it again
                self.summary.errors.append((path, read.error))
            elif is_photo:
                self._fail(path, st, None, read.error)
            else:
                self.summary.errors.append((path, read.error))
            self._flush_if_full()
            return
        if read.kind is None:
            if is_photo:
                self._fail(path, st, read.content_hash, not_an_image_reason(path))
            return
        assert read.content_hash is not None
        if known is None:
            self._add_or_move(path, st, read.content_hash)
        else:
            self._change(known, path, st, read.content_hash)
        self._flush_if_full()

    def _add_or_move(self, path: str, st: os.stat_result, content_hash: str) -> None:
        gone = self._photo_whose_file_is_gone(content_hash)
        update = FileUpdate(id=0, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=content_hash)
        if gone is None:
            self.new.append(NewFile(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=content_hash))
            self.summary.new += 1
        else:
            update["id"] = gone
            self.found.add(gone)
            self.present.append((gone, path, None, "moved"))  # its sidecars may have moved with it, or not
            self.claimed.add(gone)
            self.moved.append(update)
            self.summary.moved += 1

    def _photo_whose_file_is_gone(self, content_hash: str) -> int | None:
        """A catalogued photo with this content whose file is no longer at its path, missing ones first.

        A missing photo whose file is back at its path is not taken: the walk will find it there.
        """
        if self._catalog_hashes is None:
            self._catalog_hashes = self.catalog.content_hashes()
        if content_hash not in self._catalog_hashes:  # the usual case: a photo never seen before
            return None
        candidates = [p for p in self.catalog.photos_with_content_hash(content_hash) if p["id"] not in self.claimed]
        candidates.sort(key=lambda p: p["status"] != "missing")
        for photo in candidates:
            if not os.path.lexists(photo["path"]):
                return photo["id"]
        return None

    def _change(self, known: KnownFile, path: str, st: os.stat_result, content_hash: str) -> None:
        # Touched, not edited: nothing to caption again (unless it failed before: worth another try).
        if known.content_hash == content_hash and known.status != "error":
            self.present.append((known.id, path, known.metadata_stamp, known.status))
            self._refresh(known, path, st)
            if known.status == "missing":
                self.summary.restored += 1
            else:
                self.summary.unchanged += 1
            return
        self.changed.append(
            FileUpdate(id=known.id, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=content_hash)
        )
        self.summary.changed += 1

    def _refresh(self, known: KnownFile, path: str, st: os.stat_result) -> None:
        self.refreshed.append(
            FileUpdate(id=known.id, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns,
                       content_hash=known.content_hash or "")
        )

    def _fail(self, path: str, st: os.stat_result, content_hash: str | None, reason: str) -> None:
        self.failed.append(
            FileError(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=content_hash, error=reason)
        )
        self.summary.errors.append((path, reason))

    def _flush_if_full(self) -> None:
        rows = len(self.new) + len(self.changed) + len(self.moved) + len(self.refreshed)
        if rows + len(self.failed) >= CHUNK_ROWS:
            self.flush()

    def read_changed_metadata(self) -> None:
        """Read again the metadata of captioned photos whose sidecars changed since it was read (or that were
        never read: catalogued by an older photocap). Photos waiting for a caption are read when captioned."""
        to_read = []
        for photo_id, path, stamp, status in self.present:
            if status not in ("ok", "missing", "moved"):
                continue
            if stamp is None or stamp != self._stamp_of_sidecars_seen(path):
                to_read.append((photo_id, path))
        updates = [update for photo_id, path in to_read if (update := _metadata_update(photo_id, path)) is not None]
        for start in range(0, len(updates), CHUNK_ROWS):
            self.catalog.refresh_written_metadata(updates[start:start + CHUNK_ROWS])
        self.summary.metadata_read = len(updates)

    def _stamp_of_sidecars_seen(self, path: str) -> str:
        if not self.sidecars:  # the usual library: nothing to look up
            return ""
        return sidecar_stamp([self.sidecars[c] for c in sidecar_candidates(path) if c in self.sidecars])

    def flush(self) -> None:
        # Moves first: a moved row must leave its old state before anything else refers to its hash.
        self.catalog.move_photos(self.moved)
        self.catalog.refresh_photo_files(self.refreshed)
        self.catalog.flag_as_changed(self.changed)
        self.catalog.add_pending_photos(self.new)
        self.catalog.record_files_in_error(self.failed)
        self.new, self.changed, self.moved, self.refreshed, self.failed = [], [], [], [], []
        self.claimed.clear()


def _metadata_update(photo_id: int, path: str) -> MetadataUpdate | None:
    """What the photo at `path` and its sidecars say now, and its date; None if it cannot be read now (the
    scan that sees it changed, or the captioning that fails on it, says why)."""
    from photocap.media.decode import capture_details, open_photo  # Pillow and its plugins: only when needed
    from photocap.metadata.dates import photo_date
    from photocap.metadata.read import embedded_blocks, written_metadata

    try:
        with open_photo(path, pixels=False) as (image, exif):
            embedded = embedded_blocks(image, exif)
            exif_date = capture_details(exif)[0]
    except Exception:  # noqa: BLE001  Pillow and LibRaw fail in many ways on a damaged file
        return None
    written = written_metadata(path, embedded)
    taken_at, date_source = photo_date(path, exif_date, written.taken_at)
    return MetadataUpdate(photo_id=photo_id, written=written, taken_at=taken_at, date_source=date_source)

"""Writing a file so that no reader ever sees it half written, and a crash never leaves it so: a temp file in
the same folder, written, flushed and fsynced, then renamed (or linked) into place, and the folder fsynced.
Temp files of a process killed mid-write are recognisable by name and removed by a later run."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from typing import BinaryIO

_TEMP_NAME = re.compile(r"\..*\.photocap-(\d+)-[0-9a-f]{8}\.tmp", re.DOTALL)
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def write_atomically(path: str, data: bytes, *, replace: bool, times_ns: tuple[int, int] | None = None) -> None:
    """Write `data` to `path`, which is never seen half written: a temp file in the same folder, written,
    flushed and fsynced, then renamed over `path` (`replace`) or, when not replacing, linked to `path` only
    if nothing is there yet (an existing file raises FileExistsError). A replaced file keeps its mode."""
    folder = os.path.dirname(path) or "."
    temp = _temp_path(path)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 less the umask, like any new file
    except OSError as error:  # the temp file's name means nothing to the user: name the folder
        raise type(error)(error.errno, error.strerror, folder) from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            if replace:
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(file.fileno(), os.stat(path).st_mode & 0o7777)
            os.fsync(file.fileno())
        if times_ns is not None:
            os.utime(temp, ns=times_ns)
        if replace:
            os.replace(temp, path)
        else:
            _publish_new(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    _fsync_folder(folder)


@contextlib.contextmanager
def open_atomically(path: str) -> Iterator[BinaryIO]:
    """A file to write `path` through, for data too large to hold in memory at once: a temp file in the same
    folder, renamed over `path` once the block ends without an exception (removed if it raises)."""
    temp = _temp_path(path)
    try:
        with open(temp, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    _fsync_folder(os.path.dirname(path) or ".")


def move_atomically(source: str, target: str) -> None:
    """Move the file `source` to `target`, which must not exist: a rename on the same file system, else a copy
    published whole (never seen half written) and only then the original removed. Keeps times and mode."""
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "already exists", target)
    try:
        os.link(source, target)  # fails if `target` appeared meanwhile; then drop the old name
        os.unlink(source)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        temp = _temp_path(target)
        try:
            shutil.copy2(source, temp)
            with open(temp, "rb") as file:
                os.fsync(file.fileno())
            _publish_new(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        os.unlink(source)
    _fsync_folder(os.path.dirname(target) or ".")
    _fsync_folder(os.path.dirname(source) or ".")


def _publish_new(temp: str, path: str) -> None:
    try:
        os.link(temp, path)  # atomic, and fails if `path` appeared since the export was planned
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "already exists (--overwrite replaces it)", path) from None
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        if os.path.lexists(path):  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "already exists (--overwrite replaces it)", path) from None
        os.replace(temp, path)


def _temp_path(path: str) -> str:
    folder, name = os.path.split(path)
    short = os.fsdecode(os.fsencode(name)[:100])  # room for the suffix within the 255-byte name limit
    return os.path.join(folder, f".{short}.photocap-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def remove_stale_temp_files(folder: str) -> None:
    """Delete the temp files an export killed mid-write left in `folder` (their process is gone)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match and not _process_alive(int(match[1])):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable; some file systems cannot fsync a folder, which is harmless here."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

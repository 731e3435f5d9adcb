"""One writer per home: `index` and `watch` hold an exclusive lock on <home>/writer.lock while they run."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class HomeLocked(Exception):
    """Another photocap process is already writing to this home."""


@contextmanager
def exclusive_writer(home: Path) -> Iterator[None]:
    """Hold the home's writer lock; raise HomeLocked at once if another process holds it.

    An OS file lock, so a killed process releases it: no stale lock file ever needs deleting by hand. A
    POSIX record lock (lockf), not flock: forked decoding workers do not inherit it, so workers orphaned by
    a killed indexer cannot keep the home locked against the next run.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / "writer.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise HomeLocked(
                f"{home} is being written by photocap (pid {holder}); wait for it to finish or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)

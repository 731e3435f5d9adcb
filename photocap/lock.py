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


class HomeUnusable(Exception):
    """The home folder cannot be created or written; the message names it and says why, in one line."""


def prepare_home(home: Path) -> None:
    """Create the home folder if need be, and check that photocap can write in it."""
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / f".photocap-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        raise HomeUnusable(f"cannot use {home} as photocap's home (--home, PHOTOCAP_HOME): {reason}") from None


@contextmanager
def exclusive_writer(home: Path) -> Iterator[None]:
    """Hold the home's writer lock; raise HomeLocked at once if another process holds it.

    An OS file lock, so a killed process releases it: no stale lock file ever needs deleting by hand. A
    POSIX record lock (lockf), not flock: forked decoding workers do not inherit it, so workers orphaned by
    a killed indexer cannot keep the home locked against the next run.
    """
    prepare_home(home)
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

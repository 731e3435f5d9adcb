"""Ctrl-C and SIGTERM as a request to stop cleanly: `index` and `watch` finish the batch in flight, keep it, and
stop; a second signal stops at once (work in the catalog is kept either way)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # what a shell reports for a command ended by Ctrl-C (128 + SIGINT)


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call `stop` (the batch in flight is finished); a second one stops at once.

    Only the main thread can handle signals: elsewhere (tests running a watch in a thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: object) -> None:
        stop()
        # A raw write: the interrupted main thread may be half way through writing to stderr itself.
        name = signal.Signals(signum).name
        os.write(2, f"{name}: stopping after the batch in flight (again to stop at once)\n".encode())
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

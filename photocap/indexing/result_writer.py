"""Writing captioning results where the writer lock is held: one catalog transaction per batch, pushed to the
search index every SEARCH_SYNC_INTERVAL_S seconds and at the end (a Whoosh commit costs the same for one photo
as for many; a run killed in between is repaired by the next one). Both engines write through it: the built-in
one (photocap.indexing.worker) and the Ray one (photocap.indexing.ray_engine), whose driver alone writes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from photocap.catalog.store import Catalog, PhotoResult
from photocap.search.index import SearchIndex
from photocap.search.sync import sync_search_index

SEARCH_SYNC_INTERVAL_S = 5.0


class ResultWriter:
    """Counts what it wrote (`captioned`, `failed`); `on_results` gets results once they are in the catalog
    and the search index."""

    def __init__(self, catalog: Catalog, search_index: SearchIndex,
                 on_results: Callable[[list[PhotoResult]], None] | None = None) -> None:
        self.catalog, self.search_index, self.on_results = catalog, search_index, on_results
        self.captioned = self.failed = 0
        self._unreported: list[PhotoResult] = []  # in the catalog, not yet in the search index
        self._synced_at = time.monotonic()

    def write(self, results: list[PhotoResult]) -> None:
        """One batch in one catalog transaction; the search index takes it when its interval is up."""
        results = settled(self.catalog, results)
        self.catalog.save_batch_results(results)
        self._unreported.extend(results)
        self.failed += _count(results, ok=False)
        self.captioned += _count(results, ok=True)
        if time.monotonic() - self._synced_at >= SEARCH_SYNC_INTERVAL_S:
            self.sync(merge=False)

    def sync(self, *, merge: bool = True) -> None:
        sync_search_index(self.catalog, self.search_index, merge=merge)
        if self.on_results is not None and self._unreported:
            self.on_results(list(self._unreported))
        self._unreported.clear()
        self._synced_at = time.monotonic()


def settled(catalog: Catalog, results: list[PhotoResult]) -> list[PhotoResult]:
    """`results` without the failures of files that changed since they were scanned: a photo still being
    copied is not broken, it is unfinished. It stays pending, for the event (or scan) that sees it complete."""
    failed = [r.photo_id for r in results if r.error is not None]
    if not failed:
        return results
    changed = {photo["id"] for photo in catalog.photos_by_ids(failed) if _stat_of(photo["path"]) != (
        photo["size"], photo["mtime_ns"])}
    return [r for r in results if r.photo_id not in changed]


def _stat_of(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _count(results: list[PhotoResult], *, ok: bool) -> int:
    return sum((r.error is None) == ok for r in results)

"""The indexing job: scan folders, caption new and changed photos in batches, keep the search index in step.

The captioning itself (photocap.indexing.worker) imports torch, which costs seconds of start-up, so it is imported
only when some photo needs a caption: re-scanning an unchanged library never pays for it.

`run_index` is `photocap index`: the home's writer lock, the catalog and the search index opened, then
`index_roots`. `photocap watch` holds the lock and keeps both open itself, and calls `index_roots` for its
first catch-up and for every batch of file events (see photocap.indexing.watch).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from photocap.catalog.store import Catalog, PhotoResult, PhotoToCaption
from photocap.catalog.tags import PooledFeature
from photocap.config import Settings
from photocap.indexing.scan import scan_folders
from photocap.lock import exclusive_writer
from photocap.model.installed import current_tagger
from photocap.search.index import SearchIndex
from photocap.search.sync import open_for_writing, sync_search_index
from photocap.similar.vector_index import keep_in_step

if TYPE_CHECKING:
    from photocap.model.captioner import Captioner

Progress = Callable[[str, int], Callable[[int], None]]


@dataclass
class IndexReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    restored: int = 0  # missing photos found again
    missing: int = 0
    unchanged: int = 0
    unreadable: int = 0  # files this run found but could not use as photos (empty, not an image, no permission)
    captioned: int = 0
    to_caption: int = 0  # photos this run set out to caption
    interrupted: bool = False  # stopped early (Ctrl-C): the rest waits, pending, for the next run
    without_photos: list[str] = field(default_factory=list)  # folders given in which no photo was found
    links_skipped: int = 0  # symbolic links under the folders not followed (follow_symlinks off)
    undecodable: int = 0  # photos this run could not decode
    retagged: int = 0  # photos tagged again from their kept features (a new tag map or threshold)
    metadata_read: int = 0  # captioned photos whose captions, keywords and dates were read again (sidecar changed)
    errors: int = 0  # photos under the folders in error, this run's and earlier ones (listed in `failed`)
    new_errors: int = 0  # of those, the ones this run found (unreadable + undecodable): `index` exits 3 for them
    new_failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "error"} of this run's
    seconds: float = 0.0  # the whole run, model loading and scanning included
    photos_per_s: float = 0.0  # photos decoded and captioned per second of captioning
    model: str = ""  # the model that captioned (empty when nothing needed a caption)
    precision: str = ""  # the encoder's number format it ran in (photocap.model.precision)
    failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "error"}

    def as_json(self) -> dict:
        return asdict(self)

    def summary_line(self) -> str:
        """One line that adds up: every file found is new, changed, moved, back, unchanged or unreadable; every
        photo to caption is captioned or undecodable."""
        found = [f"{self.new} new", f"{self.changed} changed", f"{self.moved} moved", f"{self.restored} back",
                 f"{self.unchanged} unchanged", f"{self.unreadable} unreadable", f"{self.missing} missing"]
        done = [f"{self.captioned} captioned", f"{self.undecodable} could not be decoded"]
        if self.interrupted and self.to_caption > self.captioned + self.undecodable:
            done.append(f"{self.to_caption - self.captioned - self.undecodable} left for the next run")
        if self.retagged:
            done.append(f"{self.retagged} tagged again")
        if self.metadata_read:
            done.append(f"{self.metadata_read} with metadata read again")
        return (f"{', '.join(found)}; {', '.join(done)} in {self.seconds:.1f} s"
                + (f" ({self.photos_per_s:.1f} photos/s)" if self.captioned else ""))


class LazyCaptioner:
    """The captioner of `settings`, loaded (with torch) at the first call; later calls return the same one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._captioner: Captioner | None = None

    def __call__(self) -> Captioner:
        if self._captioner is None:
            from photocap.model.captioner import Captioner

            self._captioner = Captioner.load(self.settings.model, self.settings.device,
                                             self.settings.encoder_weights, self.settings.precision,
                                             self.settings.detector_input)
        return self._captioner


class IndexStopped(Exception):
    """Raised inside a scan when `should_stop` says so; the scan is idempotent, so stopping it is safe."""


def run_index(settings: Settings, roots: list[Path], *, recaption_older: bool = False,
              progress: Progress | None = None, should_stop: Callable[[], bool] = lambda: False) -> IndexReport:
    """`photocap index`: bring the catalog and search index up to date with `roots` (see index_roots for
    `should_stop`)."""
    started = time.perf_counter()
    roots = [Path(root).resolve() for root in roots]
    with ExitStack() as stack:
        stack.enter_context(exclusive_writer(settings.home))
        catalog = stack.enter_context(Catalog.open(settings.home))
        search_index = stack.enter_context(open_for_writing(catalog, settings.home / "index"))
        report = index_roots(catalog, search_index, settings, roots, LazyCaptioner(settings),
                             recaption_older=recaption_older, progress=progress, should_stop=should_stop)
    report.seconds = time.perf_counter() - started
    return report


def index_roots(
    catalog: Catalog,
    search_index: SearchIndex,
    settings: Settings,
    roots: Sequence[str | os.PathLike[str]],
    captioner: Callable[[], Captioner],
    *,
    recaption_older: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_results: Callable[[list[PhotoResult]], None] | None = None,
) -> IndexReport:
    """Bring the catalog and search index up to date with `roots`, with the caller holding the writer lock.

    `captioner()` is called only when some photo needs a caption. `should_stop()` is asked during the scan
    and between captioning batches: when it says so, the batch in flight is finished and the rest left
    pending for the next run. `on_results` gets each batch's results once they are in the catalog.
    """
    started = time.perf_counter()
    report = IndexReport()
    sync_search_index(catalog, search_index)  # repairs a run killed between catalog and index commits
    try:
        scan = scan_folders(catalog, roots, follow_symlinks=settings.follow_symlinks,
                            on_progress=_raise_if(should_stop))
    except IndexStopped:
        sync_search_index(catalog, search_index)  # the chunks the scan committed before it stopped
        report.interrupted = True
        report.seconds = time.perf_counter() - started
        return report
    sync_search_index(catalog, search_index)
    report.new, report.changed, report.moved = scan.new, scan.changed, scan.moved
    report.missing, report.unchanged = scan.missing, scan.unchanged
    report.restored, report.unreadable = scan.restored, scan.unreadable
    report.metadata_read, report.links_skipped = scan.metadata_read, scan.links_skipped
    failed_now = {path for path, _error in scan.errors}
    report.without_photos = catalog.roots_without_photos(roots)

    work = catalog.pending_photos(roots)
    to_retag = _photos_to_tag_again(catalog, roots, work)
    if (work or to_retag or recaption_older) and not should_stop():  # an unchanged library never loads torch
        from photocap.indexing.worker import tag_from_features

        loaded = captioner()
        report.model, report.precision = loaded.model_id, loaded.precision
        if recaption_older:
            work += catalog.photos_captioned_by_other_models(loaded.model_checksum, roots)
            if loaded.detector_id is not None:
                queued = {photo.id for photo in work}
                work += [photo for photo in catalog.photos_not_looked_at_by(loaded.detector_id, roots)
                         if photo.id not in queued]
        report.to_caption = len(work)
        if work:
            on_batch = progress("captioning", len(work)) if progress else (lambda n: None)
            began = time.perf_counter()
            report.captioned, report.undecodable = _engine(settings)(
                catalog, search_index, loaded, work, settings, on_batch, should_stop=should_stop,
                on_results=on_results)
            failed_now |= {photo.path for photo in work}  # those of them in error now failed in this run
            report.photos_per_s = len(work) / (time.perf_counter() - began)
        if to_retag and loaded.tagger is not None and not should_stop():
            report.retagged = tag_from_features(catalog, search_index, loaded.tagger, to_retag)
    keep_in_step(catalog, settings.home)  # the vector index of `photocap similar` and `duplicates`
    report.interrupted = should_stop()
    report.failed = [{"path": path, "error": error} for path, error in catalog.errors_under(roots)]
    report.errors = len(report.failed)
    report.new_failed = [failure for failure in report.failed if failure["path"] in failed_now]
    report.new_errors = len(report.new_failed)
    report.seconds = time.perf_counter() - started
    return report


def _engine(settings: Settings) -> Callable[..., tuple[int, int]]:
    """The captioning engine of `settings`: photocap.indexing.worker's pool here, or photocap.indexing.ray_engine's
    cluster."""
    if settings.engine == "ray":
        from photocap.indexing.ray_engine import caption_photos_on_ray

        return caption_photos_on_ray
    from photocap.indexing.worker import caption_photos

    return caption_photos


def _photos_to_tag_again(catalog: Catalog, roots: Sequence[Path],
                         work: list[PhotoToCaption]) -> list[PooledFeature]:
    """Captioned photos the current tagger has not tagged. Those with a kept pooled feature are returned, to
    be tagged from it; those without one (catalogued before photocap kept features) join `work`, to be
    decoded and captioned again. Reads a weights checksum and the catalog, never torch."""
    identity = current_tagger()
    if identity is None:
        return []  # no tagger: photos are captioned untagged
    kept, to_decode = catalog.photos_to_tag(*identity, roots)
    if to_decode:
        catalog.flag_for_recaption([photo.id for photo in to_decode])
        pending = {photo.id for photo in work}
        work.extend(photo for photo in to_decode if photo.id not in pending)
    return kept


def _raise_if(should_stop: Callable[[], bool]) -> Callable[[int], None]:
    def check(_files_examined: int) -> None:
        if should_stop():
            raise IndexStopped

    return check

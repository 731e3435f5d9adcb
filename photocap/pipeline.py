"""The indexing job: scan folders, caption new and changed photos in batches, keep the search index in step.

The captioning itself (photocap.worker) imports torch, which costs seconds of start-up, so it is imported
only when some photo needs a caption: re-scanning an unchanged library never pays for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

from photocap.catalog import Catalog
from photocap.config import Settings
from photocap.lock import exclusive_writer
from photocap.scan import scan_folders
from photocap.search import SearchIndex
from photocap.search_sync import sync_search_index


@dataclass
class IndexReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    missing: int = 0
    unchanged: int = 0
    captioned: int = 0
    errors: int = 0  # photos that could not be read or decoded in this run
    seconds: float = 0.0  # the whole run, model loading and scanning included
    photos_per_s: float = 0.0  # photos decoded and captioned per second of captioning
    model: str = ""  # the model that captioned (empty when nothing needed a caption)
    failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "error"}

    def as_json(self) -> dict:
        return asdict(self)


def run_index(settings: Settings, roots: list[Path], *, recaption_older: bool = False,
              progress: Callable[[str, int], Callable[[int], None]] | None = None) -> IndexReport:
    """`photocap index`: bring the catalog and search index up to date with `roots`."""
    started = time.perf_counter()
    report = IndexReport()
    roots = [Path(root).resolve() for root in roots]
    with ExitStack() as stack:
        stack.enter_context(exclusive_writer(settings.home))
        catalog = stack.enter_context(Catalog.open(settings.home))
        search_index = stack.enter_context(SearchIndex.open(settings.home / "index"))
        sync_search_index(catalog, search_index)  # repairs a run killed between catalog and index commits
        scan = scan_folders(catalog, roots, follow_symlinks=settings.follow_symlinks)
        sync_search_index(catalog, search_index)
        report.new, report.changed, report.moved = scan.new, scan.changed, scan.moved
        report.missing, report.unchanged = scan.missing, scan.unchanged

        work = catalog.pending_photos(roots)
        if work or recaption_older:  # an unchanged library is re-scanned without loading the model (or torch)
            from photocap.model.captioner import Captioner
            from photocap.worker import caption_photos

            captioner = Captioner.load(settings.model, settings.device)
            report.model = captioner.model_id
            if recaption_older:
                work += catalog.photos_captioned_by_other_models(captioner.model_checksum, roots)
            if work:
                on_batch = progress("captioning", len(work)) if progress else (lambda n: None)
                began = time.perf_counter()
                report.captioned, _ = caption_photos(catalog, search_index, captioner, work, settings, on_batch)
                report.photos_per_s = len(work) / (time.perf_counter() - began)
        report.failed = [{"path": path, "error": error} for path, error in catalog.errors_under(roots)]
        report.errors = len(report.failed)
    report.seconds = time.perf_counter() - started
    return report

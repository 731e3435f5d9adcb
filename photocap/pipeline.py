"""The indexing job: scan folders, caption new and changed photos in batches, keep the search index in step.

Decoding runs in a pool of worker processes (a torch DataLoader) while the encoder and beam search run on
the device. Each batch's results are written in one catalog transaction, then pushed to the search index;
a run killed at any point loses at most the batch in flight, and the next run finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from photocap.catalog import Catalog, PhotoResult
from photocap.config import Settings
from photocap.images import DecodedPhoto, PhotoDecodeError, decode_photo
from photocap.lock import exclusive_writer
from photocap.model.captioner import Captioner
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
    model: str = ""
    failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "error"}

    def as_json(self) -> dict:
        return asdict(self)


class _DecodeJob(Dataset):
    """Work items (photo id, path) decoded in worker processes; failures travel back as messages."""

    def __init__(self, work: list[tuple[int, str]]):
        self.work = work

    def __len__(self) -> int:
        return len(self.work)

    def __getitem__(self, i: int) -> tuple[int, DecodedPhoto | str]:
        photo_id, path = self.work[i]
        try:
            return photo_id, decode_photo(path)
        except PhotoDecodeError as error:
            return photo_id, str(error)


def _keep_as_list(items: list) -> list:
    return items


def decoded_batches(work: list[tuple[int, str]], batch_size: int, workers: int) -> Iterator[list]:
    loader = DataLoader(_DecodeJob(work), batch_size=batch_size, num_workers=workers, collate_fn=_keep_as_list,
                        prefetch_factor=4 if workers else None, persistent_workers=False)
    yield from loader


def caption_batch(captioner: Captioner, items: list[tuple[int, DecodedPhoto | str]],
                  beam_size: int) -> list[PhotoResult]:
    """Caption the decodable photos of one batch; the others become error results."""
    decoded = [(photo_id, photo) for photo_id, photo in items if isinstance(photo, DecodedPhoto)]
    captions = captioner.caption_pixels(np.stack([p.pixels for _, p in decoded]), beam_size) if decoded else []
    results: list[PhotoResult] = [
        PhotoResult(photo_id=photo_id, error=message) for photo_id, message in items if isinstance(message, str)
    ]
    for (photo_id, photo), caption in zip(decoded, captions, strict=True):
        results.append(PhotoResult(
            photo_id=photo_id, error=None, caption=caption.text, score=caption.score, words=caption.words,
            model_id=captioner.model_id, model_checksum=captioner.model_checksum, width=photo.width,
            height=photo.height, taken_at=photo.taken_at, camera_make=photo.camera_make,
            camera_model=photo.camera_model,
        ))
    return results


def caption_photos(catalog: Catalog, search_index: SearchIndex, captioner: Captioner, work: list[tuple[int, str]],
                   settings: Settings, on_batch: Callable[[int], None] = lambda n: None) -> tuple[int, int]:
    """Caption `work`, writing each batch in one transaction; returns (captioned, failed) counts."""
    captioned = failed = 0
    for items in decoded_batches(work, settings.batch_size, settings.workers):
        results = caption_batch(captioner, items, settings.beam_size)
        catalog.save_batch_results(results)
        sync_search_index(catalog, search_index)
        failed += sum(r.error is not None for r in results)
        captioned += sum(r.error is None for r in results)
        on_batch(len(items))
    return captioned, failed


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

        captioner = Captioner.load(settings.model, settings.device)
        report.model = captioner.model_id
        work = catalog.pending_photos(roots)
        if recaption_older:
            work += catalog.photos_captioned_by_other_models(captioner.model_checksum, roots)
        if work:
            torch.set_num_threads(max(1, torch.get_num_threads()))
            on_batch = progress("captioning", len(work)) if progress else (lambda n: None)
            began = time.perf_counter()
            report.captioned, decode_failures = caption_photos(catalog, search_index, captioner, work, settings,
                                                               on_batch)
            report.photos_per_s = len(work) / (time.perf_counter() - began)
        report.failed = [{"path": path, "error": error} for path, error in catalog.errors_under(roots)]
        report.errors = len(report.failed)
    report.seconds = time.perf_counter() - started
    return report

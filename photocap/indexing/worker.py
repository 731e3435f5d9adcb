"""The batched captioning worker (the built-in engine): decoding in a pool of worker processes (a torch
DataLoader), the encoder and beam search on the device, and one catalog transaction per batch, pushed to the
search index after it. A run killed at any point loses at most the batch in flight. Its pieces (decoding a photo,
captioning a batch) are also what the Ray engine's tasks and actors run (photocap.indexing.ray_engine)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from photocap.catalog.store import Catalog, PhotoResult
from photocap.catalog.tags import ModelTags, PooledFeature
from photocap.config import Settings
from photocap.indexing.result_writer import ResultWriter
from photocap.media.decode import DecodedPhoto, PhotoDecodeError, decode_photo
from photocap.media.thumbnails import save_thumbnail_at, thumbnail_bytes, thumbnail_path
from photocap.model.captioner import Captioner, Draft
from photocap.model.tag_vocabulary import SEARCH_TAG_MIN_PROBABILITY
from photocap.model.tags import Tagger
from photocap.search.index import SearchIndex
from photocap.search.sync import sync_search_index


class _DecodeJob(Dataset):
    """Work items (photo id, path) decoded in worker processes; failures travel back as messages. A photo
    with a place in `thumbnails` gets its thumbnail written there from the decoded image, in the worker."""

    def __init__(self, work: list[tuple[int, str]], thumbnails: dict[int, Path] | None = None,
                 detector_size: int | None = None):
        self.work = work
        self.thumbnails = thumbnails or {}
        self.detector_size = detector_size

    def __len__(self) -> int:
        return len(self.work)

    def __getitem__(self, i: int) -> tuple[int, DecodedPhoto | str]:
        photo_id, path = self.work[i]
        return photo_id, decode_for_index(path, self.thumbnails.get(photo_id), self.detector_size)


def decode_for_index(path: str, thumbnail: Path | None = None, detector_size: int | None = None) -> DecodedPhoto | str:
    """A photo decoded for indexing (with its metadata and perceptual hash, and at `detector_size` for the detector),
    or the reason it cannot be, as a message that can travel between processes. With `thumbnail`, its thumbnail is
    written there from the decoded image."""
    try:
        return decode_photo(path, read_metadata=True, detector_size=detector_size, perceptual_hash=True,
                            preview=partial(_write_thumbnail, thumbnail) if thumbnail else None)
    except PhotoDecodeError as error:
        return str(error)


def _write_thumbnail(target: Path, upright: Image.Image) -> None:
    """Best effort: a thumbnail that cannot be written now is made when it is first shown."""
    if target.exists():
        return
    with contextlib.suppress(OSError):
        save_thumbnail_at(target, thumbnail_bytes(upright))


def thumbnails_to_make(settings: Settings, catalog: Catalog, work: list[tuple[int, str]]) -> dict[int, Path]:
    """Where the thumbnail of each photo of `work` goes, for those whose content has none yet."""
    hashes = catalog.content_hashes_by_id([photo_id for photo_id, _ in work])
    places = {photo_id: thumbnail_path(settings.home, content_hash) for photo_id, content_hash in hashes.items()}
    return {photo_id: place for photo_id, place in places.items() if not place.exists()}


def _keep_as_list(items: list) -> list:
    return items


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _start_decoder(parent_pid: int, _worker_id: int) -> None:
    """Run in each decoding process as it starts."""
    # Ctrl-C reaches the whole process group, and `systemctl stop` sends SIGTERM to every process of the
    # service: the main process decides when to stop (after the batch in flight, for `watch`) and shuts its
    # decoders down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with(parent_pid)


def _die_with(parent_pid: int) -> None:
    """Have the kernel end this process when its parent dies (Linux; strictly, when the thread iterating the
    loader ends, which outlives its decoders). A decoder whose main process was killed would otherwise wait
    forever to hand over the batches it decoded."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)


def decoded_batches(work: list[tuple[int, str]], batch_size: int, workers: int,
                    thumbnails: dict[int, Path] | None = None, detector_size: int | None = None) -> Iterator[list]:
    loader = DataLoader(_DecodeJob(work, thumbnails, detector_size), batch_size=batch_size, num_workers=workers,
                        collate_fn=_keep_as_list, prefetch_factor=4 if workers else None, persistent_workers=False,
                        worker_init_fn=partial(_start_decoder, os.getpid()) if workers else None)
    yield from loader


Drafted = tuple[int, DecodedPhoto, Draft]  # a photo the captioner has looked at, by catalog id


def draft_batch(captioner: Captioner, items: list[tuple[int, DecodedPhoto | str]],
                beam_size: int) -> tuple[list[PhotoResult], list[Drafted]]:
    """The error results of a batch's undecodable photos, and the drafts of the others."""
    decoded = [(photo_id, photo) for photo_id, photo in items if isinstance(photo, DecodedPhoto)]
    drafts = []
    if decoded:
        looked = captioner.detector is not None and all(p.detector_pixels is not None for _, p in decoded)
        detector_pixels = np.stack([p.detector_pixels for _, p in decoded]) if looked else None
        drafts = captioner.draft_pixels(np.stack([p.pixels for _, p in decoded]), beam_size, detector_pixels)
    errors = [PhotoResult(photo_id=photo_id, error=message) for photo_id, message in items
              if isinstance(message, str)]
    return errors, [(photo_id, photo, draft) for (photo_id, photo), draft in zip(decoded, drafts, strict=True)]


def caption_batch(captioner: Captioner, items: list[tuple[int, DecodedPhoto | str]],
                  beam_size: int) -> list[PhotoResult]:
    """The results of one batch, its guided searches done within it (nothing held back for later batches)."""
    errors, drafted = draft_batch(captioner, items, beam_size)
    return errors + finished_results(captioner, drafted, beam_size)


def finished_results(captioner: Captioner, drafted: list[Drafted], beam_size: int) -> list[PhotoResult]:
    captions = captioner.finish([draft for _, _, draft in drafted], beam_size)
    tagger = captioner.tagger
    return [
        PhotoResult(
            photo_id=photo_id, error=None, caption=caption.text, score=caption.score, words=caption.words,
            model_id=captioner.model_id, model_checksum=captioner.model_checksum, width=photo.width,
            height=photo.height, taken_at=photo.taken_at, date_source=photo.date_source,
            camera_make=photo.camera_make, camera_model=photo.camera_model, confidence=caption.confidence,
            method=caption.method,
            tags=[(tag.word, tag.probability) for tag in caption.tags],
            tagger_id=tagger.tagger_id if tagger else None,
            feature=caption.feature.tobytes() if caption.feature is not None else None,
            feature_encoder=tagger.feature_encoder if tagger else None, written=photo.written,
            detections=[(d.label, d.score, d.box) for d in caption.detections or ()],
            detector_id=captioner.detector_id if caption.detections is not None else None, phash=photo.phash,
        )
        for (photo_id, photo, _), caption in zip(drafted, captions, strict=True)
    ]


def tag_from_features(catalog: Catalog, search_index: SearchIndex, tagger: Tagger,
                      features: list[PooledFeature], batch_size: int = 1000) -> int:
    """Tag again, from their kept pooled features, photos a previous tagger tagged; returns how many."""
    for start in range(0, len(features), batch_size):
        chunk = features[start : start + batch_size]
        pooled = torch.from_numpy(np.stack([np.frombuffer(f["vector"], dtype=np.float16) for f in chunk]))
        tags = tagger.tags(pooled.float(), SEARCH_TAG_MIN_PROBABILITY)
        catalog.save_tags([ModelTags(photo_id=f["photo_id"], tags=[(t.word, t.probability) for t in photo_tags],
                                     tagger_id=tagger.tagger_id) for f, photo_tags in zip(chunk, tags, strict=True)])
        sync_search_index(catalog, search_index)
    return len(features)


def caption_photos(catalog: Catalog, search_index: SearchIndex, captioner: Captioner, work: list[tuple[int, str]],
                   settings: Settings, on_batch: Callable[[int], None] = lambda n: None, *,
                   should_stop: Callable[[], bool] = lambda: False,
                   on_results: Callable[[list[PhotoResult]], None] | None = None) -> tuple[int, int]:
    """Caption `work`, writing each batch in one transaction (photocap.indexing.result_writer); returns (captioned,
    failed) counts.

    `should_stop()` is asked between batches: once it says so, no further batch is started and the photos
    not reached stay pending. `on_results` gets results once they are in the catalog and the search index.
    """
    if should_stop():
        return 0, 0
    # Photos whose captions wait for a guided search are held back until a batch's worth have gathered: one
    # guided search costs about as much for 3 photos as for 32. Held photos are still pending in the catalog,
    # so a killed run captions them next time.
    held: list[Drafted] = []
    writer = ResultWriter(catalog, search_index, on_results)
    thumbnails = thumbnails_to_make(settings, catalog, work) if settings.index_thumbnails else {}
    for items in decoded_batches(work, settings.batch_size, settings.workers, thumbnails, captioner.detector_size):
        results, drafted = draft_batch(captioner, items, settings.beam_size)
        held += [d for d in drafted if d[2].waiting]
        ready = [d for d in drafted if not d[2].waiting]
        if len(held) >= settings.batch_size:
            ready, held = ready + held, []
        writer.write(results + finished_results(captioner, ready, settings.beam_size))
        on_batch(len(items))
        if should_stop():
            break  # the photos held back are finished below: they are decoded already
    if held:
        writer.write(finished_results(captioner, held, settings.beam_size))
    writer.sync(merge=True)
    return writer.captioned, writer.failed

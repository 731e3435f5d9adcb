"""The batched captioning worker: decoding in a pool of worker processes (a torch DataLoader), the encoder
and beam search on the device, and one catalog transaction per batch, pushed to the search index after it.
A run killed at any point loses at most the batch in flight."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from torch.utils.data import DataLoader, Dataset

from photocap.catalog import Catalog, PhotoResult
from photocap.config import Settings
from photocap.images import DecodedPhoto, PhotoDecodeError, decode_photo
from photocap.model.captioner import Captioner
from photocap.search import SearchIndex
from photocap.search_sync import sync_search_index


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

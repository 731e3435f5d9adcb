"""A perceptual hash of each picture (photocap.media.perceptual: the 64-bit DCT hash), which a resize, a re-encode,
a format change or a brightness change barely move, where the kept features move more.

Kept in the catalog by content hash. Indexing computes it while it decodes a photo for the captioner; `photocap
duplicates` computes it here for photos indexed before it did (decoding each once; a JPEG at 1/8 scale).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from photocap.catalog.schema import perceptual_hashes
from photocap.catalog.store import Catalog
from photocap.media.decode import open_photo
from photocap.media.perceptual import SIDE, phash_of_upright

SAVE_EVERY = 500


def phash_of_image(image: Image.Image) -> int:
    return phash_of_upright(ImageOps.exif_transpose(image))


def phash_of_file(path: str) -> int | None:
    """The file's perceptual hash; None when it cannot be decoded."""
    try:
        with open_photo(path) as (image, _exif):
            assert image is not None
            image.draft("L", (4 * SIDE, 4 * SIDE))
            return phash_of_image(image)
    except Exception:  # noqa: BLE001  (any file that does not decode simply has no hash)
        return None


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between int64 hashes, element by element."""
    return np.bitwise_count(np.bitwise_xor(a, b).view(np.uint64))


def known_hashes(conn: Connection, content_hashes: Iterable[str]) -> dict[str, int]:
    wanted, found = list(content_hashes), {}
    for start in range(0, len(wanted), 500):
        stmt = select(perceptual_hashes).where(perceptual_hashes.c.content_hash.in_(wanted[start:start + 500]))
        found.update((row.content_hash, row.phash) for row in conn.execute(stmt))
    return found


def _save(catalog: Catalog, rows: Sequence[tuple[str, int]]) -> None:
    if rows:
        with catalog.writing() as conn:
            conn.execute(sqlite_insert(perceptual_hashes).on_conflict_do_nothing(),
                         [{"content_hash": content_hash, "phash": value} for content_hash, value in rows])


def ensure_hashes(catalog: Catalog, files: dict[str, str], progress: Callable[[int], None] | None = None,
                  workers: int | None = None) -> dict[str, int]:
    """The perceptual hash of each content hash in `files` ({content hash: a path holding it}); those not kept
    yet are computed (in `workers` processes) and kept. Files that do not decode are left out."""
    with catalog.reading() as conn:
        found = known_hashes(conn, files)
    missing = [(content_hash, path) for content_hash, path in files.items() if content_hash not in found]
    if not missing:
        return found
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    pending: list[tuple[str, int]] = []
    with ProcessPoolExecutor(workers) if workers > 1 else _InProcess() as pool:
        for (content_hash, _path), value in zip(missing, pool.map(phash_of_file, [p for _, p in missing],
                                                                 chunksize=16), strict=True):
            if value is not None:
                found[content_hash] = value
                pending.append((content_hash, value))
            if progress:
                progress(1)
            if len(pending) >= SAVE_EVERY:
                _save(catalog, pending)
                pending = []
    _save(catalog, pending)
    return found


class _InProcess:
    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def map(self, function, items, chunksize: int = 1):  # noqa: ARG002  (the pool's signature)
        return map(function, items)

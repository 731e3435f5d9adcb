"""What the Ray engine runs on the cluster's workers: reading photos for shipping, decoding them (Ray tasks) and
captioning them (a pool of Ray actors). Each stage takes and returns a batch of columns (Ray Data's numpy
format); a photo travels as its catalog id and a pickled payload. None of this writes the catalog or the search
index: results go back to the driver (photocap.indexing.ray_engine), the only writer. This module does not import Ray.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from photocap.media.decode import DecodedPhoto
from photocap.media.file_errors import unreadable_reason
from photocap.metadata.read import sidecar_candidates

Batch = dict[str, np.ndarray]


@dataclass(frozen=True)
class ShippedFile:
    name: str  # the file's own name, which dates and sidecars are read from
    data: bytes
    mtime_ns: int  # kept: the date of a photo without one inside, and the sidecars' stamp, come from it


@dataclass(frozen=True)
class ShippedPhoto:
    photo: ShippedFile
    sidecars: tuple[ShippedFile, ...]  # its XMP sidecars (photocap.metadata.read.sidecar_candidates)


def _column(values: list[Any]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def read_for_shipping(batch: Batch) -> Batch:
    """`--ship-bytes`, on the driver's node: each photo's bytes and its sidecars', or why it cannot be read."""
    shipped = [pickle.dumps(_read_photo(os.fsdecode(path))) for path in batch["path"]]
    return {"photo_id": batch["photo_id"], "path": batch["path"], "shipped": _column(shipped)}


def _read_photo(path: str) -> ShippedPhoto | str:
    try:
        photo = _read_file(path)
    except OSError as error:
        return unreadable_reason(error)
    sidecars, seen = [], set()
    for candidate in sidecar_candidates(path):
        try:
            st = os.stat(candidate)
            if (st.st_dev, st.st_ino) in seen:  # a case-insensitive file system gives the same file twice
                continue
            seen.add((st.st_dev, st.st_ino))
            sidecars.append(_read_file(candidate))
        except OSError:
            continue
    return ShippedPhoto(photo, tuple(sidecars))


def _read_file(path: str) -> ShippedFile:
    with open(path, "rb") as file:
        mtime_ns = os.fstat(file.fileno()).st_mtime_ns
        return ShippedFile(os.path.basename(path), file.read(), mtime_ns)


def decode(batch: Batch, detector_size: int | None = None) -> Batch:
    """Decode each photo of the batch (from its path, or from the bytes shipped with it) as photocap.indexing.worker
    does for the built-in engine; a photo that cannot be decoded travels on as its error message."""
    from photocap.indexing.worker import decode_for_index

    if "shipped" in batch:
        decoded = [_decode_shipped(pickle.loads(shipped), os.fsdecode(path), detector_size)
                   for shipped, path in zip(batch["shipped"], batch["path"], strict=True)]
    else:
        decoded = [decode_for_index(os.fsdecode(path), detector_size=detector_size) for path in batch["path"]]
    return {"photo_id": batch["photo_id"], "decoded": _column([pickle.dumps(d) for d in decoded])}


def _decode_shipped(shipped: ShippedPhoto | str, original: str, detector_size: int | None) -> DecodedPhoto | str:
    """A shipped photo decoded from a private copy that keeps its name, its time and its sidecars beside it, so
    that it reads exactly as the original would."""
    from photocap.indexing.worker import decode_for_index

    if isinstance(shipped, str):
        return shipped
    with tempfile.TemporaryDirectory(prefix="photocap-shipped-") as folder:
        for file in (shipped.photo, *shipped.sidecars):
            copy = Path(folder) / file.name
            copy.write_bytes(file.data)
            os.utime(copy, ns=(file.mtime_ns, file.mtime_ns))
        copy_path = os.path.join(folder, shipped.photo.name)
        decoded = decode_for_index(copy_path, detector_size=detector_size)
    return decoded.replace(copy_path, original) if isinstance(decoded, str) else decoded


class Captioning:
    """A captioning actor: the captioner loaded once, then one batch of decoded photos per call. Its results
    carry the model's id and checksum, which the driver checks against its own."""

    def __init__(self, model: str | None, device: str, encoder_weights: str | None, precision: str,
                 beam_size: int, threads: int | None, detector_size: int | None = None) -> None:
        import torch

        from photocap.model.captioner import Captioner

        if threads:  # Ray pins a worker to one thread per CPU it reserved; on a CPU node, the actor has them all
            torch.set_num_threads(threads)
        self.captioner = Captioner.load(model, device, Path(encoder_weights) if encoder_weights else None,
                                        precision, detector_size)
        self.beam_size = beam_size

    def __call__(self, batch: Batch) -> Batch:
        from photocap.indexing.worker import caption_batch

        items = [(int(photo_id), pickle.loads(decoded))
                 for photo_id, decoded in zip(batch["photo_id"], batch["decoded"], strict=True)]
        results = caption_batch(self.captioner, items, self.beam_size)
        by_id = {result.photo_id: result for result in results}
        return {"photo_id": batch["photo_id"],
                "result": _column([pickle.dumps(by_id[photo_id]) for photo_id, _ in items])}

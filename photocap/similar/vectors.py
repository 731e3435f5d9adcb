"""The vector index's file, `<home>/vectors.bin`: a JSON header, the projection that reduces a unit feature to
REDUCED_DIMS values, the photo ids (ascending) and their reduced vectors, each array aligned for a memory map.
Plain numpy and the standard library: `photocap similar` reads it without loading SQLAlchemy (photocap.similar.quick).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from photocap.atomic import open_atomically

FILE_NAME = "vectors.bin"
MAGIC = b"photocap vectors\n"
VERSION = 1
REDUCED_DIMS = 64
ALIGN = 64
HEADER_MAX = 1 << 16
HEADER_KEYS = {"version", "encoder", "last_seq", "fitted_on", "count", "feature_dims", "dims"}


class FeatureRows(NamedTuple):
    ids: np.ndarray  # int64, one per row
    vectors: np.ndarray  # float32 (rows, dims), each row of length 1 (an all-zero feature stays zero)


def unit_rows(blobs: Sequence[bytes]) -> np.ndarray:
    """fp16 feature bytes, one per row, as float32 rows of length 1 (cosine similarity is then a dot product)."""
    if not blobs:
        return np.zeros((0, 0), np.float32)
    matrix = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def nearest(scores: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` largest scores, best first."""
    count = min(count, len(scores))
    if count <= 0:
        return np.zeros(0, np.int64)
    top = np.argpartition(-scores, count - 1)[:count]
    return top[np.argsort(-scores[top], kind="stable")]


class VectorIndexError(Exception):
    """The index file cannot be used (damaged, or of another version); it is rebuilt."""


@dataclass
class VectorIndex:
    encoder: str
    last_seq: int  # the change log's newest entry the file has taken
    fitted_on: int  # photos in the library when the projection was fitted
    projection: np.ndarray  # float32 (feature dims, REDUCED_DIMS)
    ids: np.ndarray  # int64 (photos,), ascending
    vectors: np.ndarray  # float32 (photos, REDUCED_DIMS): unit features times projection

    def __len__(self) -> int:
        return len(self.ids)

    def reduce(self, unit_features: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(unit_features @ self.projection, dtype=np.float32)

    def scores(self, reduced_query: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
        """Approximate cosine of every photo with the query; photos in `leave_out` (ids) get -inf."""
        scores = self.vectors @ reduced_query
        if leave_out is not None and len(leave_out) and len(self.ids):
            positions = np.searchsorted(self.ids, leave_out)
            inside = positions < len(self.ids)
            positions, wanted = positions[inside], leave_out[inside]
            scores[positions[self.ids[positions] == wanted]] = -np.inf
        return scores


def load_if_usable(path: Path) -> VectorIndex | None:
    try:
        return load(path)
    except (FileNotFoundError, VectorIndexError):
        return None


def index_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


# --------------------------------------------------------------------------------------------- the file


def save(index: VectorIndex, path: Path, *, only_if_absent: bool = False) -> bool:
    """Write the index atomically. `only_if_absent`: leave a file someone else wrote meanwhile (returns False)."""
    header = json.dumps({"version": VERSION, "encoder": index.encoder, "last_seq": index.last_seq,
                         "fitted_on": index.fitted_on, "count": len(index), "feature_dims": index.projection.shape[0],
                         "dims": index.projection.shape[1]}).encode()
    if only_if_absent and path.exists():
        return False
    with open_atomically(str(path)) as file:
        file.write(MAGIC + struct.pack("<Q", len(header)) + header)
        for array in (index.projection, index.ids, index.vectors):
            file.write(b"\0" * (-file.tell() % ALIGN))
            file.write(np.ascontiguousarray(array).tobytes())
    return True


def load(path: Path) -> VectorIndex:
    """The index in `path`, its arrays memory-mapped. FileNotFoundError when there is none; VectorIndexError
    when it cannot be used."""
    with open(path, "rb") as file:
        start = file.read(len(MAGIC) + 8)
        if len(start) < len(MAGIC) + 8 or not start.startswith(MAGIC):
            raise VectorIndexError(f"{path} is not a photocap vector index")
        (length,) = struct.unpack("<Q", start[len(MAGIC):])
        try:
            header = json.loads(file.read(length)) if length < HEADER_MAX else None
        except ValueError:
            header = None
    if not isinstance(header, dict) or not set(header) >= HEADER_KEYS:
        raise VectorIndexError(f"{path} is damaged")
    if header["version"] != VERSION:
        raise VectorIndexError(f"{path} was written by another photocap version")
    size = os.path.getsize(path)
    offset = len(MAGIC) + 8 + length
    arrays = []
    for dtype, shape in ((np.float32, (header["feature_dims"], header["dims"])), (np.int64, (header["count"],)),
                         (np.float32, (header["count"], header["dims"]))):
        offset += -offset % ALIGN
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if offset + nbytes > size:
            raise VectorIndexError(f"{path} is cut short")
        arrays.append(np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape) if nbytes
                      else np.zeros(shape, dtype))
        offset += nbytes
    return VectorIndex(header["encoder"], header["last_seq"], header["fitted_on"], *arrays)

"""The vector index's file, `<home>/vectors.bin`: a JSON header, the projection that reduces a unit feature to
REDUCED_DIMS values, the scale of each reduced value, the centroids of the k-means cells the rows are grouped in,
where each cell's rows begin, the photo ids (cell by cell, ascending within a cell) and their reduced vectors as
int8 codes (a value is its code times its dimension's scale), each array aligned for a memory map. A query reads
only the `probe` cells whose centroids are nearest to it; a library laid out as one cell (no centroid, an all-zero
row) is read whole. Plain numpy and the standard library: `photocap similar` reads it without loading SQLAlchemy
(photocap.similar.quick).

Version 1 (until 2026-12) had no cells and float32 vectors: the ids ascending, every row read by every query. Such
a file is refused (VectorIndexError) and so rebuilt.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

from photocap.atomic import open_atomically

FILE_NAME = "vectors.bin"
MAGIC = b"photocap vectors\n"
VERSION = 2
REDUCED_DIMS = 64
ALIGN = 64
HEADER_MAX = 1 << 16
HEADER_KEYS = {"version", "encoder", "last_seq", "fitted_on", "count", "feature_dims", "dims", "cells", "probe"}
CODE_MAX = 127  # int8 codes run from -CODE_MAX to CODE_MAX
SCALE_ROOM = 1.25  # a dimension's scale leaves this much room above the largest value at build (later photos)
SCORE_ROWS = 65_536  # rows whose codes are widened to float32 at once (16 MB)


class FeatureRows(NamedTuple):
    ids: np.ndarray  # int64, one per row
    vectors: np.ndarray  # float32 (rows, dims), each row of length 1 (an all-zero feature stays zero)


def joined_rows(parts: Sequence[FeatureRows]) -> FeatureRows:
    """The rows of `parts`, one after another (the empty ones left out)."""
    filled = [part for part in parts if len(part.ids)]
    if len(filled) == 1:
        return filled[0]
    if not filled:
        return FeatureRows(np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
    return FeatureRows(np.concatenate([part.ids for part in filled]), np.concatenate([part.vectors for part in filled]))


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


class FileRows(NamedTuple):
    """Where a file's ids and vector codes begin."""

    path: Path
    ids_at: int
    vectors_at: int


class VectorIndexError(Exception):
    """The index file cannot be used (damaged, or of another version); it is rebuilt."""


@dataclass
class VectorIndex:
    encoder: str
    last_seq: int  # the change log's newest entry the file has taken
    fitted_on: int  # photos in the library when the projection (and the cells) were fitted
    projection: np.ndarray  # float32 (feature dims, REDUCED_DIMS)
    scale: np.ndarray  # float32 (REDUCED_DIMS,): a reduced value is its code times its dimension's scale
    centroids: np.ndarray  # float32 (cells, REDUCED_DIMS), unit rows; one all-zero row: no cells
    bounds: np.ndarray  # int64 (cells + 1,): the rows of cell c are bounds[c]:bounds[c + 1]
    ids: np.ndarray  # int64 (photos,), cell by cell, ascending within a cell
    vectors: np.ndarray  # int8 (photos, REDUCED_DIMS): the codes of unit features times projection
    probe: int  # cells a query reads, those whose centroids are nearest to it
    source: FileRows | None = None  # a loaded file's: a query reads its cells from there

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def cells(self) -> int:
        return len(self.centroids)

    def reduce(self, unit_features: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(unit_features @ self.projection, dtype=np.float32)

    def encode(self, reduced: np.ndarray) -> np.ndarray:
        """int8 codes of reduced rows (a value beyond the scale's room is clipped)."""
        return np.clip(np.rint(reduced / self.scale), -CODE_MAX, CODE_MAX).astype(np.int8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The reduced rows these codes stand for (float32)."""
        rows = codes.astype(np.float32)
        rows *= self.scale
        return rows

    def cell_of(self, reduced: np.ndarray) -> np.ndarray:
        """The cell of each reduced row (n, dims): the one whose centroid is nearest (the largest dot product)."""
        if self.cells == 1 or not len(reduced):
            return np.zeros(len(reduced), np.int64)
        return np.argmax(reduced @ self.centroids.T, axis=1)

    def probed(self, reduced_query: np.ndarray) -> np.ndarray:
        """The cells a query reads, in file order: every cell, or the `probe` whose centroids are nearest."""
        if self.probe >= self.cells:
            return np.arange(self.cells)
        return np.sort(nearest(self.centroids @ reduced_query, self.probe))

    def candidates(self, reduced_query: np.ndarray, count: int, leave_out: np.ndarray | None = None) -> np.ndarray:
        """The ids of the `count` photos of the probed cells with the largest approximate cosine with the query,
        best first; photos in `leave_out` (ids) are passed over."""
        ids, codes = self.rows_of(self.probed(reduced_query))
        weights = np.ascontiguousarray(reduced_query * self.scale, dtype=np.float32)
        scores = np.empty(len(ids), np.float32)
        for start in range(0, len(ids), SCORE_ROWS):
            scores[start:start + SCORE_ROWS] = codes[start:start + SCORE_ROWS].astype(np.float32) @ weights
        if leave_out is not None and len(leave_out) and len(ids):
            scores[np.isin(ids, leave_out)] = -np.inf
        top = nearest(scores, count)
        return ids[top[np.isfinite(scores[top])]]

    def rows_of(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, codes) of the photos of these cells (in file order): from a loaded file, read cell by cell."""
        spans = _merged([(int(self.bounds[cell]), int(self.bounds[cell + 1])) for cell in cells])
        if self.source is not None:
            return read_rows(self.source, spans, self.vectors.shape[1])
        ids = np.concatenate([np.asarray(self.ids[a:b]) for a, b in spans] or [np.zeros(0, np.int64)])
        codes = np.concatenate([np.asarray(self.vectors[a:b]) for a, b in spans]
                               or [np.zeros((0, self.vectors.shape[1]), np.int8)])
        return ids, codes

    def positions_of(self, wanted: np.ndarray) -> np.ndarray:
        """The rows of the photos `wanted` (ids) that the file holds, in the order of `wanted`."""
        order = np.argsort(self.ids, kind="stable")
        ascending = np.asarray(self.ids)[order]
        positions = np.searchsorted(ascending, wanted).clip(0, max(len(ascending) - 1, 0))
        present = ascending[positions] == wanted if len(ascending) else np.zeros(len(wanted), bool)
        return order[positions[present]]


def scale_for(reduced: np.ndarray) -> np.ndarray:
    """Each dimension's scale for these reduced rows: its largest value, with SCALE_ROOM, is CODE_MAX."""
    largest = np.abs(reduced).max(axis=0) if len(reduced) else np.ones(reduced.shape[1], np.float32)
    return (np.maximum(largest, 1e-6) * SCALE_ROOM / CODE_MAX).astype(np.float32)


def arranged(index: VectorIndex, cell_of_rows: np.ndarray) -> VectorIndex:
    """`index` with its rows (in any order; their cells `cell_of_rows`) put cell by cell, ascending ids within a
    cell, and its bounds set."""
    order = np.lexsort((index.ids, cell_of_rows))
    bounds = np.searchsorted(cell_of_rows[order], np.arange(len(index.centroids) + 1)).astype(np.int64)
    return VectorIndex(index.encoder, index.last_seq, index.fitted_on, index.projection, index.scale,
                       index.centroids, bounds, np.asarray(index.ids)[order], np.asarray(index.vectors)[order],
                       index.probe)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Row spans in file order, those that touch joined."""
    joined: list[tuple[int, int]] = []
    for a, b in spans:
        if joined and joined[-1][1] == a:
            joined[-1] = (joined[-1][0], b)
        elif b > a:
            joined.append((a, b))
    return joined


def read_rows(source: FileRows, spans: list[tuple[int, int]], dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, codes) of the rows a:b of each span, read from the file with plain reads: every range asked of the
    disk at once, and nothing around them (a memory map's page faults would each read the read-ahead window
    around them: 8 MB a fault on the development machine, 184 MB for a query of 32 cells)."""
    count = sum(b - a for a, b in spans)
    ids, codes = np.empty(count, np.int64), np.empty((count, dims), np.int8)
    wanted = [(source.ids_at + 8 * a, 8 * (b - a)) for a, b in spans]
    wanted += [(source.vectors_at + dims * a, dims * (b - a)) for a, b in spans]
    with open(source.path, "rb", buffering=0) as file:
        _no_read_ahead(file.fileno())
        for offset, length in wanted if hasattr(os, "posix_fadvise") else ():
            os.posix_fadvise(file.fileno(), offset, length, os.POSIX_FADV_WILLNEED)
        into = [memoryview(ids).cast("B"), memoryview(codes).cast("B")]
        filled = [0, 0]
        for n, (offset, length) in enumerate(wanted):
            kind = n // len(spans)
            _read_exactly(file.fileno(), into[kind][filled[kind]:filled[kind] + length], offset)
            filled[kind] += length
    return ids, codes


def _no_read_ahead(fd: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)


def _read_exactly(fd: int, into: memoryview, offset: int) -> None:
    done = 0
    while done < len(into):
        got = os.preadv(fd, [into[done:]], offset + done)
        if got == 0:
            raise VectorIndexError("the vector index file is cut short")
        done += got


def load_if_usable(path: Path) -> VectorIndex | None:
    try:
        return load(path)
    except (FileNotFoundError, VectorIndexError):
        return None


def index_path(home: Path) -> Path:
    return Path(home) / FILE_NAME


# --------------------------------------------------------------------------------------------- the file


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, modification time) of the file at `path`; None when there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


class _Superseded(Exception):
    """Another process replaced the file while this one was writing its own."""


UNSEEN = (-1, -1, -1)  # save(): replace whatever is there


def save(index: VectorIndex, path: Path, *, unless_replaced_since: tuple[int, int, int] | None = UNSEEN) -> bool:
    """Write the index atomically. `unless_replaced_since` (a file_identity; None: there was no file): leave the
    file if another process wrote one meanwhile (returns False)."""
    header = json.dumps({"version": VERSION, "encoder": index.encoder, "last_seq": index.last_seq,
                         "fitted_on": index.fitted_on, "count": len(index), "feature_dims": index.projection.shape[0],
                         "dims": index.projection.shape[1], "cells": index.cells, "probe": index.probe}).encode()
    try:
        with open_atomically(str(path)) as file:
            file.write(MAGIC + struct.pack("<Q", len(header)) + header)
            for array in (index.projection, index.scale, index.centroids, index.bounds, index.ids, index.vectors):
                _write_aligned(file, array)
            if unless_replaced_since != UNSEEN and file_identity(path) != unless_replaced_since:
                raise _Superseded
    except _Superseded:
        return False
    return True


def _write_aligned(file: BinaryIO, array: np.ndarray, rows_at_once: int = 65_536) -> None:
    file.write(b"\0" * (-file.tell() % ALIGN))
    for start in range(0, max(len(array), 1), rows_at_once):
        file.write(np.ascontiguousarray(array[start:start + rows_at_once]).tobytes())


def _header(file: BinaryIO, path: Path) -> tuple[dict, int]:
    """The file's header and where its first array may begin."""
    start = file.read(len(MAGIC) + 8)
    if len(start) < len(MAGIC) + 8 or not start.startswith(MAGIC):
        raise VectorIndexError(f"{path} is not a photocap vector index")
    (length,) = struct.unpack("<Q", start[len(MAGIC):])
    try:
        header = json.loads(file.read(length)) if length < HEADER_MAX else None
    except ValueError:
        header = None
    if isinstance(header, dict) and header.get("version") not in (None, VERSION):
        raise VectorIndexError(f"{path} was written by another photocap version")
    if not isinstance(header, dict) or not set(header) >= HEADER_KEYS:
        raise VectorIndexError(f"{path} is damaged")
    return header, len(MAGIC) + 8 + length


def load(path: Path) -> VectorIndex:
    """The index in `path`: its projection, scale, centroids and bounds read, its ids and codes memory-mapped (a
    query reads only its cells, through `source`). FileNotFoundError when there is none; VectorIndexError when it cannot
    be used (of another version, damaged)."""
    with open(path, "rb", buffering=0) as file:
        _no_read_ahead(file.fileno())
        header, offset = _header(file, path)
        size = os.fstat(file.fileno()).st_size
        count, dims, cells = header["count"], header["dims"], header["cells"]
        places = []
        for dtype, shape in ((np.float32, (header["feature_dims"], dims)), (np.float32, (dims,)),
                             (np.float32, (cells, dims)), (np.int64, (cells + 1,)), (np.int64, (count,)),
                             (np.int8, (count, dims))):
            offset += -offset % ALIGN
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            if offset + nbytes > size:
                raise VectorIndexError(f"{path} is cut short")
            places.append((offset, np.dtype(dtype), shape))
            offset += nbytes
        projection, scale, centroids, bounds = (_read_array(file.fileno(), *place) for place in places[:4])
    if cells < 1 or bounds[0] != 0 or bounds[-1] != count or np.any(np.diff(bounds) < 0):
        raise VectorIndexError(f"{path} is damaged")
    ids, vectors = (np.memmap(path, dtype=dtype, mode="r", offset=at, shape=shape) if count else
                    np.zeros(shape, dtype) for at, dtype, shape in places[4:])
    return VectorIndex(header["encoder"], header["last_seq"], header["fitted_on"], projection, scale, centroids,
                       bounds, ids, vectors, header["probe"], FileRows(Path(path), places[4][0], places[5][0]))


def _read_array(fd: int, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(shape, dtype)
    _read_exactly(fd, memoryview(array).cast("B"), offset)
    return array

"""The vector index: every shown photo's kept feature, reduced to REDUCED_DIMS values by a projection fitted to
the library (the leading principal directions of the unit features) and stored as int8 codes, in one file beside
the catalog (`<home>/vectors.bin`).

From CELLS_FROM photos the rows are grouped in k-means cells of about PER_CELL photos (an inverted file), stored
cell by cell: a query scores only the photos of the PROBE_SHARE of the cells nearest to it (at a million photos 17
MB of the file's 73) and re-ranks the best few hundred by their full kept features from the catalog
(photocap.similar.neighbours). A smaller library is one cell, read whole: that reads no more than a query of a
million photos in cells, and misses nothing. The file records the last entry of the catalog's change log it has
taken (photocap.similar.features); photos changed since are left out of the file's scores and scored from the
catalog instead, so the answers are current even before the file is brought up to date. `index`, `watch` and
`prune` bring it up to date (`keep_in_step`): changed photos read again, each put in the cell of its nearest
centroid. It is rebuilt (projection, scale and cells fitted again) when missing, unreadable, of another version or
encoder, when the library has more than doubled since they were fitted, or has grown to CELLS_FROM in one cell.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from photocap.catalog.schema import photo_features, photos
from photocap.catalog.store import Catalog
from photocap.similar.features import (
    all_features,
    changed_since,
    count_changed_since,
    features_of,
    forget_changes_up_to,
    last_change,
    main_encoder,
)
from photocap.similar.pairs import KMEANS_SAMPLE, fit_centroids
from photocap.similar.vectors import (
    REDUCED_DIMS,
    VectorIndex,
    arranged,
    file_identity,
    index_path,
    load_if_usable,
    save,
    scale_for,
)

FIT_SAMPLE = 50_000  # features the projection is fitted on
SAMPLE_CHUNK = 5_000
REWRITE_BELOW = 200_000  # photos: a smaller index takes every change at once (rewriting it is cheap)
PENDING_MAX = 2_000  # changes a larger index leaves to be scored from the catalog before it is rewritten
# Photos: a smaller library is one cell, read whole by every query. At 200,000 photos that is 14 MB (72 bytes a
# photo), what a query of a million photos in cells reads: the cells' recall is not worth having below.
CELLS_FROM = 200_000
PER_CELL = 1_000  # photos per k-means cell, on average
PROBE_SHARE = 0.2  # of the cells, those nearest to it, a query reads (docs/SCALE.md: recall@10 against it)
CELL_SEED = 0
ENCODE_ROWS = 65_536  # reduced rows encoded or assigned to their cells at once


@dataclass(frozen=True)
class Layout:
    """How build() lays the rows out: in cells of about `per_cell` photos from `cells_from` photos on, a query
    reading `probe_share` of them (tests use cells on a small library)."""

    cells_from: int = CELLS_FROM
    per_cell: int = PER_CELL
    probe_share: float = PROBE_SHARE

    def cells_for(self, photos: int) -> int:
        """How many cells a library of `photos` photos is given (1: none)."""
        return 1 if photos < max(self.cells_from, 2) else max(2, min(photos // max(self.per_cell, 1), photos))

    def probe_for(self, cells: int) -> int:
        return max(1, min(cells, math.ceil(self.probe_share * cells)))


# ------------------------------------------------------------------------------------ building, updating


def fit_projection(second_moment: np.ndarray, dims: int = REDUCED_DIMS) -> np.ndarray:
    """The `dims` leading principal directions of unit features, from their (uncentred, so that dot products carry
    over) second moment."""
    _values, vectors = np.linalg.eigh(second_moment)
    return np.ascontiguousarray(vectors[:, ::-1][:, :dims], dtype=np.float32)


def _second_moment(conn: Connection, encoder: str, count: int) -> np.ndarray | None:
    """The second moment of about FIT_SAMPLE features spread over the library, read SAMPLE_CHUNK at a time."""
    stride = max(1, count // FIT_SAMPLE)
    stmt = (select(photo_features.c.photo_id).join(photos, photos.c.id == photo_features.c.photo_id)
            .where(photo_features.c.encoder == encoder, photos.c.status == "ok"))
    ids = list(conn.scalars(stmt))[::stride]
    moment = None
    for start in range(0, len(ids), SAMPLE_CHUNK):
        rows = features_of(conn, ids[start:start + SAMPLE_CHUNK], encoder).vectors
        if len(rows):
            part = (rows.T @ rows).astype(np.float64)
            moment = part if moment is None else moment + part
    return moment


def _centroids(vectors: np.ndarray, cells: int) -> np.ndarray:
    """The unit centroids of `cells` k-means cells of the reduced rows `vectors` (their directions); one all-zero
    centroid when `cells` is 1."""
    if cells <= 1:
        return np.zeros((1, vectors.shape[1]), np.float32)
    rng = np.random.default_rng(CELL_SEED)  # the sample first: a normalised copy of them all would be 256 MB
    sample = vectors[np.sort(rng.choice(len(vectors), min(KMEANS_SAMPLE, len(vectors)), replace=False))]
    sample /= np.linalg.norm(sample, axis=1, keepdims=True).clip(1e-12)
    return np.ascontiguousarray(fit_centroids(sample, cells, CELL_SEED), dtype=np.float32)


def build(conn: Connection, layout: Layout | None = None) -> VectorIndex | None:
    """A new index of every shown photo's feature, as one read transaction sees the catalog, laid out as `layout`
    says (None: the default); None when no photo has a feature."""
    layout = layout or Layout()
    encoder = main_encoder(conn)
    if encoder is None:
        return None
    seq = last_change(conn)
    count = conn.scalar(select(func.count()).select_from(photo_features.join(photos))
                        .where(photo_features.c.encoder == encoder, photos.c.status == "ok")) or 0
    moment = _second_moment(conn, encoder, count)
    if moment is None:
        return None
    projection = fit_projection(moment)
    ids = np.zeros(count, np.int64)
    vectors = np.zeros((count, projection.shape[1]), np.float32)
    filled = 0
    for rows in all_features(conn, encoder):
        n = min(len(rows.ids), count - filled)
        ids[filled:filled + n] = rows.ids[:n]
        vectors[filled:filled + n] = rows.vectors[:n] @ projection
        filled += n
    ids, reduced = ids[:filled], vectors[:filled]
    cells = layout.cells_for(filled)
    index = VectorIndex(encoder, seq, count, projection, scale_for(reduced), _centroids(reduced, cells),
                        np.array([0, filled], np.int64), ids, np.zeros((0, projection.shape[1]), np.int8),
                        layout.probe_for(cells))
    index.vectors = _encoded(index, reduced)
    del vectors, reduced
    return arranged(index, _cells_of(index, index.vectors))


def _encoded(index: VectorIndex, reduced: np.ndarray) -> np.ndarray:
    codes = np.empty(reduced.shape, np.int8)
    for start in range(0, len(reduced), ENCODE_ROWS):
        codes[start:start + ENCODE_ROWS] = index.encode(reduced[start:start + ENCODE_ROWS])
    return codes


def _cells_of(index: VectorIndex, codes: np.ndarray) -> np.ndarray:
    """The cell of each row of codes (by the reduced row it stands for), a block of rows at a time."""
    cells = np.zeros(len(codes), np.int64)
    for start in range(0, len(codes), ENCODE_ROWS):
        cells[start:start + ENCODE_ROWS] = index.cell_of(index.decode(codes[start:start + ENCODE_ROWS]))
    return cells


def with_changes(index: VectorIndex, conn: Connection, changed: set[int], newest: int) -> VectorIndex:
    """The index with the photos in `changed` read again from the catalog (dropped if gone or not shown), each put
    in the cell of its nearest centroid; the projection, the scale and the cells stay."""
    gone = np.fromiter(changed, np.int64, len(changed))
    keep = ~np.isin(index.ids, gone)
    cell_of_rows = np.repeat(np.arange(index.cells), np.diff(index.bounds))[keep]
    fresh = features_of(conn, sorted(changed), index.encoder)
    codes = (_encoded(index, index.reduce(fresh.vectors)) if len(fresh.ids)
             else np.zeros((0, index.projection.shape[1]), np.int8))
    changed_index = VectorIndex(index.encoder, newest, index.fitted_on, index.projection, index.scale,
                                index.centroids, index.bounds, np.concatenate([np.asarray(index.ids)[keep], fresh.ids]),
                                np.concatenate([np.asarray(index.vectors)[keep], codes]), index.probe)
    return arranged(changed_index, np.concatenate([cell_of_rows, _cells_of(index, codes)]))


def _outgrown(index: VectorIndex) -> bool:
    """The library has more than doubled since the index was fitted, or has grown into cells."""
    grown_into_cells = index.cells == 1 and index.fitted_on < CELLS_FROM <= len(index)
    return len(index) > 2 * max(index.fitted_on, 1000) or grown_into_cells


def open_current(catalog: Catalog, home: Path) -> tuple[VectorIndex | None, set[int]]:
    """For a query: the index (built when missing or unusable, and then saved unless another process replaced the
    file meanwhile) and the photos changed since it was written, which the caller scores from the catalog."""
    path = index_path(home)
    seen = file_identity(path)
    index = load_if_usable(path)
    with catalog.reading() as conn:
        if index is None:
            index = build(conn)
            if index is not None:
                with contextlib.suppress(OSError):  # a read-only home still answers, from the index in memory
                    save(index, path, unless_replaced_since=seen)
            return index, set()
        changed, _newest = changed_since(conn, index.last_seq)
    return index, changed


def keep_in_step(catalog: Catalog, home: Path) -> VectorIndex | None:
    """Bring the index file up to date with the catalog (the caller holds the writer's lock): built when missing,
    unusable, of another encoder or outgrown; else the changes logged since it was written taken in, at once for
    a small index and for a large one once PENDING_MAX have gathered. The log then forgets what the file has.
    With no change logged it reads only the file's header and the log's tail."""
    path = index_path(home)
    index = load_if_usable(path)
    with catalog.reading() as conn:
        if index is not None:
            pending = count_changed_since(conn, index.last_seq)
            if pending == 0 or (len(index) >= REWRITE_BELOW and pending < PENDING_MAX):
                return index
        if index is None or _outgrown(index) or index.encoder != main_encoder(conn):
            index = build(conn)
            if index is None:
                return None
        else:
            changed, newest = changed_since(conn, index.last_seq)
            index = with_changes(index, conn, changed, newest)
    save(index, path)
    with catalog.writing() as conn:
        forget_changes_up_to(conn, index.last_seq)
    return index

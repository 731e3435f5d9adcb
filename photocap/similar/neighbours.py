"""`photocap similar`: the photos that look most like one photo, by the cosine of their kept features.

The vector index proposes CANDIDATES photos by their reduced vectors; their full features, read from the catalog,
rank them exactly. Photos changed since the index file was written are scored from the catalog directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

import numpy as np

from photocap.catalog.store import Catalog, CatalogError, PhotoRow
from photocap.catalog.tags import confident
from photocap.similar.features import features_of
from photocap.similar.vector_index import open_current

CANDIDATES = 400  # photos re-ranked by their full features (at least; 20 per photo asked for)


class SimilarPhoto(TypedDict):
    id: int
    path: str
    score: float  # cosine similarity of the kept features, 1.0 for the same picture
    caption: str | None
    tags: list[str]  # the confident tags, the user's first


class SimilarError(Exception):
    """The photo cannot be compared (not catalogued, or without a kept feature): one line for the user."""


def nearest(scores: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` largest scores, best first."""
    count = min(count, len(scores))
    if count <= 0:
        return np.zeros(0, np.int64)
    top = np.argpartition(-scores, count - 1)[:count]
    return top[np.argsort(-scores[top], kind="stable")]


def similar_to_id(catalog: Catalog, home: Path, photo_id: int, limit: int) -> list[SimilarPhoto]:
    """The `limit` photos most like photo `photo_id`, most alike first (itself left out)."""
    index, changed = open_current(catalog, home)
    encoder = index.encoder if index is not None else ""
    with catalog.reading() as conn:
        query = features_of(conn, [photo_id], encoder)
    if not len(query.ids):
        raise SimilarError("photocap keeps no feature of this photo yet (it is not captioned, or missing); run "
                           "`photocap index` on its folder")
    candidates: set[int] = set(changed)
    if index is not None and len(index):
        leave_out = np.array(sorted(changed), np.int64)
        scores = index.scores(index.reduce(query.vectors[0]), leave_out)
        top = nearest(scores, max(CANDIDATES, 20 * limit))
        candidates.update(int(i) for i in np.asarray(index.ids)[top[np.isfinite(scores[top])]])
    candidates.discard(photo_id)
    with catalog.reading() as conn:
        found = features_of(conn, sorted(candidates), encoder)
    exact = found.vectors @ query.vectors[0] if len(found.ids) else np.zeros(0, np.float32)
    best = nearest(exact, limit)
    ids = [int(found.ids[i]) for i in best]
    score_of = {int(found.ids[i]): float(exact[i]) for i in best}
    return [_result(row, score_of[row["id"]]) for row in catalog.photos_by_ids(ids)]


def similar_photos(home: Path, path: str | os.PathLike[str], limit: int) -> list[SimilarPhoto]:
    """`photocap similar PATH`: the photos most like the catalogued photo at `path`."""
    if not (Path(home) / "catalog.db").is_file():
        raise CatalogError(f"no catalog in {home}; run `photocap index FOLDER` first")
    absolute = os.path.abspath(path)
    with Catalog.open(home) as catalog:
        row = catalog.photo_by_path(absolute) or catalog.photo_by_path(os.path.realpath(absolute))
        if row is None:
            raise SimilarError(f"not in the catalog: {absolute} (run `photocap index` on its folder)")
        return similar_to_id(catalog, home, row["id"], limit)


def _result(row: PhotoRow, score: float) -> SimilarPhoto:
    return SimilarPhoto(id=row["id"], path=row["path"], score=round(score, 4), caption=row["caption"],
                        tags=[tag["word"] for tag in confident(row["tags"])])

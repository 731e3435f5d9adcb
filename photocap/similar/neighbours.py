"""`photocap similar`: the photos that look most like one photo, by the cosine of their kept features.

The vector index proposes CANDIDATES photos by their reduced vectors (from the cells nearest the photo in a large
library, from all photos in a small one); their full features, read from the catalog, rank them exactly. Photos
changed since the index file was written are scored from the catalog directly. The command line reads the catalog
through photocap.similar.quick (sqlite3 alone, to answer in a fraction of a second); the web app, which keeps the
catalog open, through photocap.catalog.store, with each photo's tags.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import numpy as np

from photocap.similar import quick
from photocap.similar.vectors import FeatureRows, VectorIndex, index_path, joined_rows, load_if_usable, nearest
from photocap.wording import not_catalogued, not_usable

if TYPE_CHECKING:
    from photocap.catalog.store import Catalog

CANDIDATES = 400  # photos re-ranked by their full features (at least; 20 per photo asked for)


class SimilarPhoto(TypedDict):
    id: int
    path: str
    score: float  # cosine similarity of the kept features, 1.0 for the same picture
    caption: str | None
    tags: list[str]  # the confident tags, the user's first (the web app's; the command line leaves them out)


class SimilarError(Exception):
    """The photo cannot be compared (not catalogued, or without a kept feature): one line for the user."""


NO_FEATURE = ("photocap keeps no image feature of this photo yet (captioned before photocap kept them); run "
              "`photocap index` on its folder")


def _must_be_comparable(path: str, found: tuple[int, str, str | None] | None) -> int:
    """The id of the photo at `path` from its (id, status, error) in the catalog (None: not catalogued), or a
    SimilarError saying why it cannot be compared."""
    if found is None:
        raise SimilarError(not_catalogued(path))
    why = not_usable(path, found[1], found[2])
    if why is not None:
        raise SimilarError(why)
    return found[0]


def ranked(index: VectorIndex | None, changed: set[int], photo_id: int, limit: int,
           features: Callable[[Sequence[int]], FeatureRows],
           proposed_features: Callable[[Sequence[int]], FeatureRows] | None = None) -> list[tuple[int, float]]:
    """(id, cosine) of the `limit` photos most like `photo_id`: candidates from the index (less the photos changed
    since it was written) and the changed photos, ranked by their full features: `features(ids)` for the photo and
    the changed photos (those not shown left out), `proposed_features(ids)` for the index's (known to be shown;
    default `features`)."""
    query = features([photo_id])
    if not len(query.ids):
        raise SimilarError(NO_FEATURE)
    proposed: set[int] = set()
    if index is not None and len(index):
        proposed = set(index.candidates(index.reduce(query.vectors[0]), max(CANDIDATES, 20 * limit),
                                        np.array(sorted(changed), np.int64)).tolist())
    proposed.discard(photo_id)
    found = joined_rows([features(sorted(changed - {photo_id})), (proposed_features or features)(sorted(proposed))])
    exact = found.vectors @ query.vectors[0] if len(found.ids) else np.zeros(0, np.float32)
    return [(int(found.ids[i]), float(exact[i])) for i in nearest(exact, limit)]


def similar_to_id(catalog: Catalog, home: Path, photo_id: int, limit: int) -> list[SimilarPhoto]:
    """The `limit` photos most like photo `photo_id`, most alike first (itself left out), through `catalog`,
    with their tags."""
    from photocap.catalog.tags import confident
    from photocap.similar.features import features_of
    from photocap.similar.vector_index import open_current

    index, changed = open_current(catalog, home)
    if index is None:
        raise SimilarError(NO_FEATURE)

    def features(ids: Sequence[int]) -> FeatureRows:
        with catalog.reading() as conn:
            return features_of(conn, ids, index.encoder)

    best = ranked(index, changed, photo_id, limit, features)
    score_of = dict(best)
    return [SimilarPhoto(id=row["id"], path=row["path"], score=round(score_of[row["id"]], 4), caption=row["caption"],
                         tags=[tag["word"] for tag in confident(row["tags"])])
            for row in catalog.photos_by_ids([photo_id for photo_id, _ in best])]


def similar_photos(home: Path, path: str | os.PathLike[str], limit: int) -> list[SimilarPhoto]:
    """`photocap similar PATH`: the photos most like the catalogued photo at `path` (tags left out)."""
    home = Path(home)
    if not (home / "catalog.db").is_file():
        from photocap.catalog.store import CatalogError

        raise CatalogError(f"no catalog in {home}; run `photocap index FOLDER` first")
    absolute = os.path.abspath(path)
    index = load_if_usable(index_path(home))
    try:
        if index is None:
            raise quick.NeedsFullPath("no vector index file")
        conn = quick.connect(home)
    except quick.NeedsFullPath:
        return _similar_the_full_way(home, absolute, limit)
    try:
        photo_id = _must_be_comparable(absolute, quick.photo_state(conn, absolute)
                                       or quick.photo_state(conn, os.path.realpath(absolute)))
        changed = quick.changed_since(conn, index.last_seq)
        best = ranked(index, changed, photo_id, limit, lambda ids: quick.features_of(conn, ids, index.encoder),
                      lambda ids: quick.proposed_features(home, ids, index.encoder))
        about = quick.shown(conn, [i for i, _ in best])
    finally:
        conn.close()
    return [SimilarPhoto(id=i, path=about[i][0], score=round(score, 4), caption=about[i][1], tags=[])
            for i, score in best if i in about]


def _similar_the_full_way(home: Path, absolute: str, limit: int) -> list[SimilarPhoto]:
    from photocap.catalog.store import Catalog

    with Catalog.open(home) as catalog:
        row = catalog.photo_by_path(absolute) or catalog.photo_by_path(os.path.realpath(absolute))
        photo_id = _must_be_comparable(absolute, (row["id"], row["status"], row["error"]) if row else None)
        return similar_to_id(catalog, home, photo_id, limit)

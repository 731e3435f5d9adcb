"""`photocap duplicates`: groups of the same picture, each with its reason and the photo to keep.

- exact copies: the same content hash at another path;
- near copies: the same picture re-encoded, resized, slightly cropped, brightened, converted, its metadata
  stripped: perceptual hashes a few bits apart with features alike, or features very alike (a crop moves the
  hash). Candidate pairs come from the hashes' bands and the vector index's reduced vectors
  (photocap.similar.pairs), never from all pairs, and are confirmed on the full features;
- bursts: photos from one camera taken at most BURST_SECONDS apart whose features have a cosine of at least
  BURST_COSINE, and not copies: a kind of its own, never mixed with copies (a group of copies takes part
  through the photo it keeps).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypedDict

import numpy as np
from sqlalchemy import Select, and_, func, or_, select, union
from sqlalchemy.engine import Connection

from photocap.catalog.schema import captions, chunks, perceptual_hashes, photos, tags
from photocap.catalog.store import Catalog
from photocap.similar.features import features_of
from photocap.similar.keeper import Candidate, choose_keeper
from photocap.similar.pairs import close_pairs
from photocap.similar.phash import ensure_hashes, hamming
from photocap.similar.vector_index import open_current

NEAR_COPY_COSINE = 0.80  # features alone (a crop moves the hash); chosen on the duplicates benchmark (docs/SIMILAR.md)
PHASH_BITS = 10  # perceptual hashes this close, with features at least PHASH_MIN_COSINE alike: the same picture
PHASH_MIN_COSINE = 0.5
# Candidates from the reduced vectors (renormalised): at 0.85 they keep all but 1 of the 6,392 pairs of the
# duplicates benchmark whose full cosine is 0.80 or more, and let through 4 in 10,000 other pairs.
CANDIDATE_REDUCED_COSINE = 0.85
BUCKET_MAX = 5_000
VERIFY_CHUNK = 10_000  # candidate pairs whose full features are compared at once (at most 20,000 photos: 100 MB)
BURST_SECONDS = 5
BURST_COSINE = 0.75
KINDS = ("exact copies", "near copies", "burst")


class Member(TypedDict):
    id: int
    path: str
    width: int | None
    height: int | None
    taken_at: str | None
    keep: bool


class Group(TypedDict):
    kind: str  # one of KINDS
    reason: str  # why these are the same picture
    keep: str  # the path of the photo to keep
    why: str  # why that one
    photos: list[Member]  # the one to keep first, then by path


def _in_scope(stmt: Select, roots: Sequence[str] | None) -> Select:
    """`stmt` narrowed to shown photos (status ok) under `roots` (absolute folders; None: all)."""
    stmt = stmt.where(photos.c.status == "ok")
    if roots:
        # Paths under a folder sort between "folder/" and "folder0" ("0" follows "/"); an index range each.
        stmt = stmt.where(or_(*(and_(photos.c.path > root.rstrip(os.sep) + os.sep,
                                     photos.c.path < root.rstrip(os.sep) + chr(ord(os.sep) + 1)) for root in roots)))
    return stmt


def _column(conn: Connection, stmt: Select, dtype: type = np.int64) -> np.ndarray:
    return np.fromiter(conn.scalars(stmt), dtype)


def _details(conn: Connection, ids: Sequence[int]) -> dict[int, dict]:
    """What the keeper rules and the report need of these photos."""
    found: dict[int, dict] = {}
    for chunk in chunks(ids):
        stmt = select(photos.c.id, photos.c.path, photos.c.content_hash, photos.c.width, photos.c.height,
                      photos.c.taken_at, photos.c.mtime_ns).where(photos.c.id.in_(chunk))
        found.update((row.id, dict(row._mapping)) for row in conn.execute(stmt))
    return found


def _exact_copies(conn: Connection, roots: Sequence[str] | None) -> list[list[int]]:
    shared = _in_scope(select(photos.c.content_hash), roots).where(photos.c.content_hash.is_not(None)).group_by(
        photos.c.content_hash).having(func.count() > 1)
    stmt = _in_scope(select(photos.c.content_hash, photos.c.id), roots).where(
        photos.c.content_hash.in_(shared.scalar_subquery()))
    groups: dict[str, list[int]] = {}
    for row in conn.execute(stmt):
        groups.setdefault(row.content_hash, []).append(row.id)
    return list(groups.values())


def _perceptual_hashes(catalog: Catalog, roots: Sequence[str] | None,
                       progress: Callable[[str, int], Callable[[int], None]] | None,
                       compute: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(photo ids, their perceptual hashes), sorted by id; with `compute`, hashes missing are computed first
    (decoding each photo once) and kept."""
    with catalog.reading() as conn:
        missing = dict(conn.execute(_in_scope(
            select(photos.c.content_hash, func.min(photos.c.path)).select_from(photos.outerjoin(
                perceptual_hashes, perceptual_hashes.c.content_hash == photos.c.content_hash)), roots).where(
            photos.c.content_hash.is_not(None), perceptual_hashes.c.phash.is_(None)).group_by(photos.c.content_hash)
        ).all())
    if missing and compute:
        ensure_hashes(catalog, missing, progress("hashing", len(missing)) if progress else None)
    with catalog.reading() as conn:
        rows = conn.execute(_in_scope(select(photos.c.id, perceptual_hashes.c.phash).select_from(photos.join(
            perceptual_hashes, perceptual_hashes.c.content_hash == photos.c.content_hash)), roots).order_by(
            photos.c.id)).all()
    return np.array([row[0] for row in rows], np.int64), np.array([row[1] for row in rows], np.int64)


def _with_users_edits(conn: Connection, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(ids):
        stmt = union(select(captions.c.photo_id).where(captions.c.source == "user", captions.c.photo_id.in_(chunk)),
                     select(tags.c.photo_id).where(tags.c.source == "user", tags.c.removed.is_(False),
                                                   tags.c.photo_id.in_(chunk)))
        found.update(conn.scalars(stmt))
    return found


class _Groups:
    """Union-find over photo ids."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        root = item
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while item != root:
            self.parent[item], item = root, self.parent.get(item, item)
        return root

    def join(self, a: int, b: int) -> None:
        self.parent.setdefault(a, a)
        self.parent.setdefault(b, b)
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> list[list[int]]:
        by_root: dict[int, list[int]] = {}
        for item in list(self.parent):
            by_root.setdefault(self.find(item), []).append(item)
        return [members for members in by_root.values() if len(members) > 1]


def _reduced_vectors(catalog: Catalog, home: Path, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """(photo ids, their reduced unit vectors from the vector index, the encoder) for the photos among `ids`
    (sorted)."""
    index, changed = open_current(catalog, home)
    if index is None or not len(ids):
        return np.zeros(0, np.int64), np.zeros((0, 1), np.float32), ""
    changed_ids = np.array(sorted(changed), np.int64)
    wanted = ids[~np.isin(ids, changed_ids)]
    changed = set(changed_ids[np.isin(changed_ids, ids)].tolist())
    positions = index.positions_of(wanted)
    row_ids, vectors = np.asarray(index.ids)[positions], index.decode(np.asarray(index.vectors)[positions])
    if changed:
        with catalog.reading() as conn:
            fresh = features_of(conn, sorted(changed), index.encoder)
        if len(fresh.ids):
            row_ids = np.concatenate([row_ids, fresh.ids])
            vectors = np.concatenate([vectors, index.reduce(fresh.vectors)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    return row_ids, np.ascontiguousarray(vectors), index.encoder


def _hash_pairs(ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Pairs (k, 2) of photo ids whose perceptual hashes differ in at most PHASH_BITS bits and agree on one of four
    16-bit bands (every pair within 3 bits does, and most within PHASH_BITS); buckets larger than BUCKET_MAX (blank
    or uniform pictures) are left out."""
    found = [np.zeros((0, 2), np.int64)]
    unsigned = hashes.view(np.uint64)
    for band in range(4):
        keys = (unsigned >> np.uint64(16 * band)) & np.uint64(0xFFFF)
        order = np.argsort(keys, kind="stable")
        bounds = np.flatnonzero(np.diff(keys[order])) + 1
        starts, ends = np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]])
        for first, last in zip(starts[ends - starts >= 2], ends[ends - starts >= 2], strict=True):
            bucket = order[first:last]
            if len(bucket) > BUCKET_MAX:
                continue
            distance = hamming(hashes[bucket][:, None], hashes[bucket][None, :])
            i, j = np.nonzero(np.triu(distance <= PHASH_BITS, 1))
            found.append(np.stack([ids[bucket[i]], ids[bucket[j]]], axis=1))
    return np.concatenate(found)


def _unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Each pair once, smaller id first."""
    if not len(pairs):
        return pairs.reshape(0, 2)
    ordered = np.sort(pairs, axis=1)
    return np.unique(ordered, axis=0)


def _lookup(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the position of each of `wanted` among the sorted `keys`, whether it is there)."""
    positions = np.searchsorted(keys, wanted).clip(0, max(len(keys) - 1, 0))
    present = keys[positions] == wanted if len(keys) else np.zeros(len(wanted), bool)
    return positions, present


def _near_pairs(catalog: Catalog, home: Path, ids: np.ndarray, hashed: np.ndarray, hash_values: np.ndarray,
                ) -> list[tuple[int, int, float, int | None]]:
    """(id, id, cosine, hash bits apart) of the photos that are the same picture: features with a cosine of at
    least NEAR_COPY_COSINE, or perceptual hashes at most PHASH_BITS apart and features at least PHASH_MIN_COSINE.
    Candidates come from the reduced vectors' close pairs and the hashes' bands, and are confirmed on the full
    features."""
    row_ids, vectors, encoder = _reduced_vectors(catalog, home, ids)
    close, _scores = close_pairs(vectors, CANDIDATE_REDUCED_COSINE) if len(row_ids) else (
        np.zeros((0, 2), np.int64), None)
    candidates = _unique_pairs(np.concatenate([row_ids[close].reshape(-1, 2), _hash_pairs(hashed, hash_values)]))
    if not len(candidates):
        return []
    confirmed: list[tuple[int, int, float, int | None]] = []
    for start in range(0, len(candidates), VERIFY_CHUNK):  # memory: the features of 2 x VERIFY_CHUNK photos
        pairs = candidates[start:start + VERIFY_CHUNK]
        with catalog.reading() as conn:
            full = features_of(conn, np.unique(pairs).tolist(), encoder)
        order = np.argsort(full.ids)
        feature_ids, feature_rows = full.ids[order], full.vectors[order]
        (ra, has_a), (rb, has_b) = _lookup(feature_ids, pairs[:, 0]), _lookup(feature_ids, pairs[:, 1])
        cosine = np.einsum("ij,ij->i", feature_rows[ra], feature_rows[rb]) if len(feature_ids) else np.zeros(len(pairs))
        (ha, hashed_a), (hb, hashed_b) = _lookup(hashed, pairs[:, 0]), _lookup(hashed, pairs[:, 1])
        both_hashed = hashed_a & hashed_b
        bits = np.where(both_hashed, hamming(hash_values[ha], hash_values[hb]) if len(hashed) else 64, 64)
        same = has_a & has_b & ((cosine >= NEAR_COPY_COSINE) | ((bits <= PHASH_BITS) & (cosine >= PHASH_MIN_COSINE)))
        for (a, b), value, distance, known in zip(pairs[same].tolist(), cosine[same].tolist(), bits[same].tolist(),
                                                  both_hashed[same].tolist(), strict=True):
            confirmed.append((a, b, value, int(distance) if known else None))
    return confirmed


def _bursts(catalog: Catalog, roots: Sequence[str] | None, left_out: set[int], encoder: str) -> list[list[int]]:
    """Runs of photos from one camera taken at most BURST_SECONDS apart (by a date the camera or the file says,
    not the file's time), each alike enough to the one before; photos in `left_out` take no part."""
    stmt = _in_scope(select(photos.c.id, photos.c.camera_make, photos.c.camera_model, photos.c.taken_at), roots).where(
        photos.c.taken_at.is_not(None), photos.c.date_source != "file time").order_by(
        photos.c.camera_make, photos.c.camera_model, photos.c.taken_at)
    runs: list[list[int]] = []
    with catalog.reading() as conn:
        current: list[int] = []
        last = None
        for row in conn.execute(stmt):
            if row.id in left_out:
                continue
            if last is not None and (last.camera_make, last.camera_model) == (row.camera_make, row.camera_model) \
                    and (row.taken_at - last.taken_at).total_seconds() <= BURST_SECONDS:
                current.append(row.id)
            else:
                if len(current) > 1:
                    runs.append(current)
                current = [row.id]
            last = row
        if len(current) > 1:
            runs.append(current)
        found = features_of(conn, [i for run in runs for i in run], encoder)
    vector_of = {int(photo_id): found.vectors[row] for row, photo_id in enumerate(found.ids)}
    bursts = []
    for run in runs:
        alike_run: list[int] = []
        for photo_id in run:
            alike = bool(alike_run) and photo_id in vector_of and alike_run[-1] in vector_of and \
                float(vector_of[photo_id] @ vector_of[alike_run[-1]]) >= BURST_COSINE
            if not alike and len(alike_run) > 1:
                bursts.append(alike_run)
            alike_run = alike_run + [photo_id] if alike else [photo_id]
        if len(alike_run) > 1:
            bursts.append(alike_run)
    return bursts


def find_duplicates(catalog: Catalog, home: Path, roots: Sequence[str] | None = None, bursts: bool = True,
                    progress: Callable[[str, int], Callable[[int], None]] | None = None,
                    compute_hashes: bool = True) -> list[Group]:
    """Every group of duplicates among the photos under `roots` (all photos when None), copies first, larger
    groups first. Photos without a perceptual hash are decoded once to make one (`progress("hashing", n)`), unless
    not `compute_hashes` (a read-only caller: they are compared by their features alone)."""
    with catalog.reading() as conn:
        ids = _column(conn, _in_scope(select(photos.c.id), roots).order_by(photos.c.id))
        exact = _exact_copies(conn, roots)
    hashed, hash_values = _perceptual_hashes(catalog, roots, progress, compute_hashes)
    copies = _Groups()
    for members in exact:
        for other in members[1:]:
            copies.join(other, members[0])
    near = _near_pairs(catalog, home, ids, hashed, hash_values)
    for a, b, _cosine, _bits in near:
        copies.join(a, b)
    copy_groups = copies.groups()
    closest: dict[int, float] = {}
    farthest: dict[int, int] = {}
    with catalog.reading() as conn:
        rows = _details(conn, [i for members in copy_groups for i in members])
        edited = _with_users_edits(conn, list(rows))
    for a, b, cosine, bits in near:
        if rows[a]["content_hash"] == rows[b]["content_hash"]:
            continue  # byte for byte: no evidence of how far the group's other copies are
        root = copies.find(a)
        closest[root] = min(closest.get(root, 1.0), cosine)
        if bits is not None:
            farthest[root] = max(farthest.get(root, 0), bits)
    result = [_group(members, *_copy_reason(members, rows, closest.get(copies.find(members[0])),
                                            farthest.get(copies.find(members[0]))), rows, edited)
              for members in copy_groups]
    if bursts:
        index, _changed = open_current(catalog, home)
        extras = {member["id"] for group in result for member in group["photos"] if not member["keep"]}
        for run in _bursts(catalog, roots, extras, index.encoder if index else ""):
            with catalog.reading() as conn:
                rows.update(_details(conn, run))
                edited |= _with_users_edits(conn, run)
            seconds = (rows[run[-1]]["taken_at"] - rows[run[0]]["taken_at"]).total_seconds()
            result.append(_group(run, "burst", f"{len(run)} shots from one camera within {seconds:g} s, alike",
                                 rows, edited))
    return sorted(result, key=lambda group: (KINDS.index(group["kind"]), -len(group["photos"]), group["keep"]))


def _copy_reason(members: list[int], rows: dict[int, dict], lowest: float | None,
                 bits: int | None) -> tuple[str, str]:
    hashes = {rows[i]["content_hash"] for i in members}
    if len(hashes) == 1:
        return "exact copies", "the same bytes (same content hash) at other paths"
    evidence = []
    if lowest is not None:
        evidence.append("the same features (cosine 1.00)" if round(lowest, 2) >= 1 else
                        f"features alike (cosine {lowest:.2f} or more)")
    if bits is not None:
        evidence.append("the same perceptual hash" if bits == 0 else
                        f"perceptual hashes differing in at most {bits} of 64 bits")
    copies = f"; {len(members) - len(hashes) + 1} of them byte for byte" if len(hashes) < len(members) else ""
    return "near copies", f"the same picture re-encoded, resized, cropped or edited: {', '.join(evidence)}{copies}"


def _group(members: list[int], kind: str, reason: str, rows: dict[int, dict], edited: set[int]) -> Group:
    candidates = [Candidate(id=i, path=rows[i]["path"], width=rows[i]["width"], height=rows[i]["height"],
                            taken_at=rows[i]["taken_at"], mtime_ns=rows[i]["mtime_ns"], users=i in edited)
                  for i in members]
    keeper, why = choose_keeper(candidates)
    ordered = [keeper] + sorted((c for c in candidates if c["id"] != keeper["id"]), key=lambda c: c["path"])
    return Group(kind=kind, reason=reason, keep=keeper["path"], why=why, photos=[
        Member(id=c["id"], path=c["path"], width=c["width"], height=c["height"], keep=c["id"] == keeper["id"],
               taken_at=_iso(c["taken_at"])) for c in ordered])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None

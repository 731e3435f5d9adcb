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
from sqlalchemy import select, union
from sqlalchemy.engine import Connection

from photocap.catalog.schema import captions, chunks, photos, tags
from photocap.catalog.store import Catalog
from photocap.similar.features import features_of
from photocap.similar.keeper import Candidate, choose_keeper
from photocap.similar.pairs import close_pairs
from photocap.similar.phash import ensure_hashes, hamming, known_hashes
from photocap.similar.vector_index import open_current

NEAR_COPY_COSINE = 0.80  # features alone (a crop moves the hash); chosen on the duplicates benchmark (docs/SIMILAR.md)
PHASH_BITS = 10  # perceptual hashes this close, with features at least PHASH_MIN_COSINE alike: the same picture
PHASH_MIN_COSINE = 0.5
CANDIDATE_MARGIN = 0.04  # reduced vectors lose a little: candidates are taken this much below the threshold
BUCKET_MAX = 5_000
VERIFY_CHUNK = 20_000  # candidate pairs whose full features are compared at once (2 x 100 MB)
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


def _in_scope(conn: Connection, roots: Sequence[str] | None) -> list[dict]:
    stmt = select(photos.c.id, photos.c.path, photos.c.content_hash, photos.c.width, photos.c.height,
                  photos.c.taken_at, photos.c.date_source, photos.c.camera_make, photos.c.camera_model,
                  photos.c.mtime_ns).where(photos.c.status == "ok")
    rows = [dict(row._mapping) for row in conn.execute(stmt)]
    if roots:
        prefixes = tuple(root.rstrip(os.sep) + os.sep for root in roots)
        rows = [row for row in rows if row["path"].startswith(prefixes) or row["path"] in roots]
    return rows


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
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> list[list[int]]:
        by_root: dict[int, list[int]] = {}
        for item in list(self.parent):
            by_root.setdefault(self.find(item), []).append(item)
        return [members for members in by_root.values() if len(members) > 1]


def _reduced_vectors(catalog: Catalog, home: Path, ids: list[int]) -> tuple[np.ndarray, np.ndarray, str]:
    """(photo ids, their reduced unit vectors from the vector index, the encoder) for the photos among `ids`."""
    index, changed = open_current(catalog, home)
    if index is None or not ids:
        return np.zeros(0, np.int64), np.zeros((0, 1), np.float32), ""
    wanted = np.array(sorted(set(ids) - changed), np.int64)
    positions = np.searchsorted(index.ids, wanted)
    inside = positions < len(index.ids)
    positions = positions[inside][index.ids[positions[inside]] == wanted[inside]]
    row_ids, vectors = np.asarray(index.ids)[positions], np.asarray(index.vectors)[positions]
    if changed & set(ids):
        with catalog.reading() as conn:
            fresh = features_of(conn, sorted(changed & set(ids)), index.encoder)
        if len(fresh.ids):
            row_ids = np.concatenate([row_ids, fresh.ids])
            vectors = np.concatenate([vectors, index.reduce(fresh.vectors)])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    return row_ids, np.ascontiguousarray(vectors / norms), index.encoder


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


def _near_pairs(catalog: Catalog, home: Path, rows: dict[int, dict], phashes: dict[int, int],
                ) -> list[tuple[int, int, float, int | None]]:
    """(id, id, cosine, hash bits apart) of the photos that are the same picture: features with a cosine of at
    least NEAR_COPY_COSINE, or perceptual hashes at most PHASH_BITS apart and features at least PHASH_MIN_COSINE.
    Candidates come from the reduced vectors' close pairs and the hashes' bands, and are confirmed on the full
    features."""
    row_ids, vectors, encoder = _reduced_vectors(catalog, home, list(rows))
    close, _scores = close_pairs(vectors, NEAR_COPY_COSINE - CANDIDATE_MARGIN) if len(row_ids) else (
        np.zeros((0, 2), np.int64), None)
    hashed = np.array(sorted(phashes), np.int64)
    hash_values = np.array([phashes[i] for i in hashed.tolist()], np.int64)
    candidates = _unique_pairs(np.concatenate([row_ids[close].reshape(-1, 2), _hash_pairs(hashed, hash_values)]))
    if not len(candidates):
        return []
    with catalog.reading() as conn:
        full = features_of(conn, np.unique(candidates).tolist(), encoder)
    order = np.argsort(full.ids)
    feature_ids, feature_rows = full.ids[order], full.vectors[order]
    confirmed: list[tuple[int, int, float, int | None]] = []
    for start in range(0, len(candidates), VERIFY_CHUNK):
        pairs = candidates[start:start + VERIFY_CHUNK]
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


def _bursts(rows: dict[int, dict], keepers: set[int], grouped: set[int], catalog: Catalog,
            encoder: str) -> list[list[int]]:
    """Runs of photos from one camera taken at most BURST_SECONDS apart, each alike enough to the one before."""
    dated = sorted((row for row in rows.values() if row["taken_at"] is not None and row["date_source"] != "file time"
                    and (row["id"] in keepers or row["id"] not in grouped)),
                   key=lambda row: (row["camera_make"] or "", row["camera_model"] or "", row["taken_at"]))
    runs: list[list[dict]] = []
    for row in dated:
        last = runs[-1][-1] if runs else None
        same_camera = last is not None and (last["camera_make"], last["camera_model"]) == (
            row["camera_make"], row["camera_model"])
        if same_camera and (row["taken_at"] - last["taken_at"]).total_seconds() <= BURST_SECONDS:
            runs[-1].append(row)
        else:
            runs.append([row])
    runs = [run for run in runs if len(run) > 1]
    with catalog.reading() as conn:
        found = features_of(conn, [row["id"] for run in runs for row in run], encoder)
    vector_of = {int(photo_id): found.vectors[row] for row, photo_id in enumerate(found.ids)}
    bursts = []
    for run in runs:
        current: list[int] = []
        for row in run:
            alike = current and row["id"] in vector_of and current[-1] in vector_of and \
                float(vector_of[row["id"]] @ vector_of[current[-1]]) >= BURST_COSINE
            if not alike and len(current) > 1:
                bursts.append(current)
            current = current + [row["id"]] if alike else [row["id"]]
        if len(current) > 1:
            bursts.append(current)
    return bursts


def find_duplicates(catalog: Catalog, home: Path, roots: Sequence[str] | None = None, bursts: bool = True,
                    progress: Callable[[str, int], Callable[[int], None]] | None = None) -> list[Group]:
    """Every group of duplicates among the photos under `roots` (all photos when None), copies first, larger
    groups first. Photos without a perceptual hash are decoded once to make one (`progress("hashing", n)`)."""
    with catalog.reading() as conn:
        rows = {row["id"]: row for row in _in_scope(conn, roots)}
    files = {row["content_hash"]: row["path"] for row in rows.values() if row["content_hash"]}
    with catalog.reading() as conn:
        missing = len(set(files) - set(known_hashes(conn, files)))
    by_content = ensure_hashes(catalog, files, progress("hashing", missing) if progress and missing else None)
    phashes = {i: by_content[row["content_hash"]] for i, row in rows.items() if row["content_hash"] in by_content}
    copies = _Groups()
    by_hash: dict[str, int] = {}
    for row in rows.values():
        if row["content_hash"]:
            copies.join(row["id"], by_hash.setdefault(row["content_hash"], row["id"]))
    near = _near_pairs(catalog, home, rows, phashes)
    closest: dict[int, float] = {}
    for a, b, _cosine, _bits in near:
        copies.join(a, b)
    copy_groups = copies.groups()
    farthest: dict[int, int] = {}
    for a, _b, cosine, bits in near:
        root = copies.find(a)
        closest[root] = min(closest.get(root, 1.0), cosine)
        if bits is not None:
            farthest[root] = max(farthest.get(root, 0), bits)
    groups = [(members, _copy_reason(members, rows, closest.get(copies.find(members[0])),
                                     farthest.get(copies.find(members[0])))) for members in copy_groups]
    with catalog.reading() as conn:
        edited = _with_users_edits(conn, [i for members, _ in groups for i in members])
    result = [_group(members, kind, reason, rows, edited) for members, (kind, reason) in groups]
    if bursts:
        index, _changed = open_current(catalog, home)
        keepers = {next(m["id"] for m in group["photos"] if m["keep"]) for group in result}
        grouped = {i for members in copy_groups for i in members}
        for run in _bursts(rows, keepers, grouped, catalog, index.encoder if index else ""):
            with catalog.reading() as conn:
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
    evidence = [f"features alike (cosine {lowest:.2f} or more)"] if lowest is not None else []
    if bits is not None:
        evidence.append(f"perceptual hashes at most {bits} of 64 bits apart")
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

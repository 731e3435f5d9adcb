"""Pairs of close vectors without comparing all pairs: for a small library, blocks of a matrix product; for a
large one, an inverted file (k-means cells, each vector in its two nearest cells) and the pairs within each cell.

Near copies are very close (cosine above 0.9), so they nearly always share a cell; the cells keep the work to
about N x 2N / CELLS dot products instead of N x N.
"""

from __future__ import annotations

import numpy as np

BRUTE_FORCE_UP_TO = 50_000  # vectors compared all against all, in blocks
BLOCK = 512  # rows per block of a matrix product (512 x 50,000 scores: 100 MB)
PER_CELL = 1_000  # vectors per k-means cell, on average
KMEANS_SAMPLE = 50_000
KMEANS_ROUNDS = 8


def close_pairs(vectors: np.ndarray, threshold: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (k, 2) of row numbers i < j, their dot products) of the rows of `vectors` whose dot product is at
    least `threshold`. Exhaustive up to BRUTE_FORCE_UP_TO rows; beyond, within inverted-file cells."""
    if len(vectors) <= BRUTE_FORCE_UP_TO:
        return _pairs_within(vectors, np.arange(len(vectors)), threshold)
    cells = _cells(vectors, seed)
    found_pairs, found_scores = [], []
    for members in cells:
        pairs, scores = _pairs_within(vectors[members], members, threshold)
        found_pairs.append(pairs)
        found_scores.append(scores)
    pairs, scores = np.concatenate(found_pairs), np.concatenate(found_scores)
    if not len(pairs):
        return pairs, scores
    keys = pairs[:, 0] * len(vectors) + pairs[:, 1]
    _unique, first = np.unique(keys, return_index=True)
    return pairs[first], scores[first]


def _pairs_within(vectors: np.ndarray, rows: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs among `vectors` (whose row numbers in the whole are `rows`) at or above `threshold`."""
    found_pairs, found_scores = [np.zeros((0, 2), np.int64)], [np.zeros(0, np.float32)]
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start:start + BLOCK] @ vectors[start:].T  # rows start.. against rows start..
        i, j = np.nonzero(block >= threshold)
        keep = j > i  # upper triangle: each pair once, never a row with itself
        i, j = i[keep], j[keep]
        found_scores.append(block[i, j])
        found_pairs.append(np.stack([rows[start + i], rows[start + j]], axis=1))
    pairs, scores = np.concatenate(found_pairs), np.concatenate(found_scores)
    low, high = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    return np.stack([low, high], axis=1), scores


def fit_centroids(vectors: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` unit centroids of spherical k-means (KMEANS_ROUNDS rounds) over up to KMEANS_SAMPLE of the unit rows
    of `vectors`, drawn with `seed`; a centroid no row is nearest to stays where it began."""
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(len(vectors), min(KMEANS_SAMPLE, len(vectors)), replace=False))]
    centroids = sample[rng.choice(len(sample), count, replace=False)].copy()
    for _ in range(KMEANS_ROUNDS):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, nearest, sample)
        filled = np.bincount(nearest, minlength=count) > 0
        centroids[filled] = sums[filled] / np.linalg.norm(sums[filled], axis=1, keepdims=True).clip(1e-12)
    return centroids


def _cells(vectors: np.ndarray, seed: int) -> list[np.ndarray]:
    """Row numbers of each k-means cell; each row is in the cells of its two nearest centroids."""
    count = max(2, len(vectors) // PER_CELL)
    centroids = fit_centroids(vectors, count, seed)
    first = np.zeros(len(vectors), np.int64)
    second = np.zeros(len(vectors), np.int64)
    for start in range(0, len(vectors), 8 * BLOCK):
        scores = vectors[start:start + 8 * BLOCK] @ centroids.T
        top = np.argpartition(-scores, 1, axis=1)[:, :2]
        first[start:start + len(top)], second[start:start + len(top)] = top[:, 0], top[:, 1]
    cell = np.concatenate([first, second])
    row = np.concatenate([np.arange(len(vectors)), np.arange(len(vectors))])
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(count + 1))
    return [row[order[bounds[c]:bounds[c + 1]]] for c in range(count) if bounds[c + 1] - bounds[c] > 1]

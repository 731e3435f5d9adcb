"""`photocap similar` and `photocap duplicates` at a million photos: the vector index's build time and memory,
query time and memory (whole process), recall@10 against exact search (and how it depends on the number of cells
a query reads: the `probes` step), keeping the file in step with 2,000 changed photos (the `fold` step), and
`duplicates` over the whole library.

    python -m benchmarks.similar_scale --dir /tmp/similar-scale                 # 1,000,000 photos
    python -m benchmarks.similar_scale --photos 50000 --dir /tmp/similar-small  # a quick small run
    python -m benchmarks.similar_scale --dir /tmp/similar-scale --steps similar --cold data   # first query of the day
    python -m benchmarks.similar_scale --dir /tmp/similar-scale --steps probes --probes 16,32,64
    python -m benchmarks.similar_scale --dir /tmp/similar-scale --steps fold

Warm (`--cold no`), each query is run once untimed first, so that what it reads is in the page cache. `--cold data`
drops the vector file's and the catalog's pages from the page cache before each `similar` (as after other work
filled the memory); `--cold all` the Python modules' files it loads too (posix_fadvise DONTNEED on those
files only: other programs' caches stay; files mapped by a running process, such as the Python binary, stay).

The catalog is benchmarks/scale.py's synthetic one (captions, tags, dates, cameras; only 1,000 real files), with
synthetic kept features instead of zeros, drawn from a Gaussian fitted to up to 3,000 real features (from
SEED_HOME, a home where real photos were indexed, such as the duplicates benchmark's): their mean, principal
directions and spreads, so that photos are as alike as in a real library. One photo in every 100 is a planted
near copy of the photo before it (its feature a little off, cosine about 0.95; its perceptual hash 3 bits apart):
`duplicates` should group each with its original.
Every other photo gets a random perceptual hash (kept by content hash, as `duplicates` keeps those it computes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.launcher import launched, photocap_measured
from benchmarks.rescan import make_library
from benchmarks.scale import build_catalog, caption_texts
from photocap.similar.vectors import load, load_if_usable
from train.data import data_dir

SEED_HOME = Path("/tmp/dup-bench/home")
PLANT_EVERY = 100
PLANTED_NOISE = 0.35  # of a photo's own spread: the planted copy's feature cosine is about 0.95
FILES = 1000


def real_features(home: Path) -> np.ndarray:
    """Up to 3,000 real kept features (float32 rows) of the photos indexed in `home`."""
    if (home / "catalog.db").is_file():
        db = sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True)
        blobs = [row[0] for row in db.execute("SELECT vector FROM photo_features LIMIT 3000")]
        db.close()
        if len(blobs) >= 200:
            return np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), -1).astype(np.float32)
    print(f"  no real features in {home}; using a random low-rank model", file=sys.stderr)
    rng = np.random.default_rng(7)
    return np.maximum(rng.standard_normal((1000, 64)) @ rng.standard_normal((64, 1280)), 0).astype(np.float32)


class SyntheticFeatures:
    """Features drawn from a Gaussian fitted to real ones (their mean and principal directions): as alike to one
    another as a real library's (nearest-neighbour cosine about 0.55 among 400, as among 400 real photos)."""

    def __init__(self, seeds: np.ndarray) -> None:
        self.mean = seeds.mean(axis=0)
        _u, spread, directions = np.linalg.svd(seeds - self.mean, full_matrices=False)
        self.basis = (spread[:, None] / np.sqrt(len(seeds) - 1) * directions).astype(np.float32)

    def rows(self, first: int, count: int) -> np.ndarray:
        rng = np.random.default_rng(first)
        draws = rng.standard_normal((count, len(self.basis)), dtype=np.float32)
        rows = self.mean + draws @ self.basis
        ids = np.arange(first, first + count)
        for row in np.flatnonzero(ids % PLANT_EVERY == 0):  # a near copy of the photo before it
            if row > 0:
                rows[row] = rows[row - 1] + PLANTED_NOISE * (rng.standard_normal(len(self.basis)) @ self.basis)
        return rows

    def blobs(self, first: int, count: int) -> list[bytes]:
        return [row.tobytes() for row in self.rows(first, count).astype(np.float16)]


def phash_of(photo_id: int) -> int:
    base = random.Random(photo_id - 1 if photo_id % PLANT_EVERY == 0 else photo_id).getrandbits(64)
    if photo_id % PLANT_EVERY == 0:
        for bit in random.Random(-photo_id).sample(range(64), 3):
            base ^= 1 << bit
    return base - (1 << 64) if base >= 1 << 63 else base


def plant_hashes(home: Path, photos: int) -> None:
    db = sqlite3.connect(home / "catalog.db")
    if db.execute("SELECT count(*) FROM perceptual_hashes").fetchone()[0] < photos:
        for start in range(1, photos + 1, 100_000):
            db.executemany("INSERT OR IGNORE INTO perceptual_hashes (content_hash, phash) VALUES (?, ?)",
                           [(f"{i:032x}", phash_of(i)) for i in range(start, min(photos, start + 99_999) + 1)])
            db.commit()
    db.close()


def evict(paths: list[Path]) -> None:
    """Drop the pages of these files from the page cache (those a running process maps stay)."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def files_to_evict(home: Path, cold: str) -> list[Path]:
    """The files `--cold` drops from the page cache before each query: the vector index and the catalog; with
    "all", also every module file and shared library `photocap similar` loads."""
    found = [home / "vectors.bin", home / "catalog.db", home / "catalog.db-wal"]
    if cold == "all":
        code = ("import sys, photocap.cli, photocap.similar.neighbours, photocap.similar.quick, sqlite3; "
                "files = {f for m in list(sys.modules.values()) for f in (getattr(m, '__file__', None), "
                "getattr(m, '__cached__', None)) if f}; "
                "files |= {line.split()[-1] for line in open('/proc/self/maps') if '/' in line}; "
                "print('\\n'.join(sorted(files)))")
        listed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        found += [Path(line) for line in listed.splitlines() if line.startswith("/")]
    return found


def exact_top10(home: Path, queries: list[int]) -> dict[int, set[int]]:
    """The 10 photos with the highest cosine to each query photo, by reading every full feature."""
    db = sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True)
    marks = ",".join("?" * len(queries))
    rows = dict(db.execute(f"SELECT photo_id, vector FROM photo_features WHERE photo_id IN ({marks})", queries))
    q = np.stack([np.frombuffer(rows[i], np.float16).astype(np.float32) for i in queries])
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    best_ids = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    last = 0
    while True:
        chunk = db.execute("SELECT photo_id, vector FROM photo_features WHERE photo_id > ? ORDER BY photo_id "
                           "LIMIT 50000", (last,)).fetchall()
        if not chunk:
            break
        last = chunk[-1][0]
        ids = np.array([row[0] for row in chunk], np.int64)
        x = np.frombuffer(b"".join(row[1] for row in chunk), np.float16).reshape(len(chunk), -1).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
        scores = q @ x.T
        scores[ids[None, :] == np.array(queries)[:, None]] = -np.inf
        all_ids = np.concatenate([best_ids, np.broadcast_to(ids, scores.shape)], axis=1)
        all_scores = np.concatenate([best_scores, scores], axis=1)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        best_ids, best_scores = np.take_along_axis(all_ids, top, 1), np.take_along_axis(all_scores, top, 1)
    db.close()
    return {query: set(best_ids[n].tolist()) for n, query in enumerate(queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/similar-scale"))
    parser.add_argument("--seed-home", type=Path, default=SEED_HOME)
    parser.add_argument("--queries", type=int, default=20, help="`photocap similar` runs timed")
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument("--steps", default="index,similar,recall,duplicates",
                        help="what to measure (a kept DIR is reused): index,similar,recall,probes,fold,duplicates")
    parser.add_argument("--probes", default="8,16,32,64,128",
                        help="the `probes` step: recall@10 when a query reads this many cells (the file's own: "
                             "the `recall` step)")
    parser.add_argument("--cold", choices=["no", "data", "all"], default="no",
                        help="drop files from the page cache before each `similar` (see above)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    root = args.dir.absolute()
    library, home = root / "library", root / "home"
    figures: dict[str, object] = {"photos": args.photos, "cpus": os.cpu_count()}
    make_library(library, FILES)
    synthetic = SyntheticFeatures(real_features(args.seed_home))
    texts = caption_texts(data_dir(None))
    figures["build_catalog_s"] = round(build_catalog(home, library, args.photos, FILES, texts, synthetic.blobs), 1)
    plant_hashes(home, args.photos)

    steps = set(args.steps.split(","))
    build = ("from pathlib import Path; from photocap.catalog.store import Catalog; "
             "from photocap.similar.vector_index import keep_in_step; "
             f"home = Path({str(home)!r}); catalog = Catalog.open(home); print(len(keep_in_step(catalog, home)))")
    if "index" in steps or load_if_usable(home / "vectors.bin") is None:
        (home / "vectors.bin").unlink(missing_ok=True)
        seconds, _cpu, peak, _read, result = launched([sys.executable, "-c", build])
        if result.returncode:
            raise SystemExit(result.stderr)
        figures.update(index_build_s=round(seconds, 1), index_build_peak_mb=round(peak),
                       index_photos=int(result.stdout),
                       index_file_mb=round((home / "vectors.bin").stat().st_size / 1e6))
        print(f"  vector index: {seconds:.1f} s, {peak:.0f} MB", file=sys.stderr, flush=True)
    figures.update(cell_figures(home))

    rng = random.Random(3)
    paths = sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True)
    ids = rng.sample(range(1, args.photos + 1), args.queries)
    times, cpu, peaks, read_mb = [], [], [], []
    evicted = files_to_evict(home, args.cold) if args.cold != "no" else []
    for photo_id in ids if "similar" in steps else []:
        path = paths.execute("SELECT path FROM photos WHERE id = ?", (photo_id,)).fetchone()[0]
        command = ["--home", str(home), "similar", path, "--limit", "10", "--json"]
        if args.cold == "no":  # warm: what the query reads is in the page cache (a query reads a fifth of the file)
            photocap_measured(command)
        evict(evicted)
        took, used, peak, read, run = photocap_measured(command)
        if run.returncode:
            raise SystemExit(f"similar failed: {run.stderr}")
        read_mb.append(read)
        times.append(took)
        cpu.append(used)
        peaks.append(peak)
    if times:
        times.sort()
        figures.update(similar_median_s=round(statistics.median(times), 3),
                       similar_p95_s=round(times[int(0.95 * (len(times) - 1))], 3),
                       similar_cpu_median_s=round(statistics.median(cpu), 3), similar_peak_mb=round(max(peaks)),
                       similar_cold=args.cold, similar_disk_read_mb_median=round(statistics.median(read_mb), 1),
                       load_average=round(os.getloadavg()[0], 1))
        print(f"  similar: median {statistics.median(times):.3f} s, peak {max(peaks):.0f} MB", file=sys.stderr)

    from photocap.catalog.store import Catalog
    from photocap.similar.neighbours import similar_to_id

    queries = rng.sample(range(1, args.photos + 1), args.recall_queries)
    if "recall" in steps:
        exact = exact_top10_kept(home, queries)
        with Catalog.open(home) as catalog:
            found = {q: {item["id"] for item in similar_to_id(catalog, home, q, 10)} for q in queries}
        figures["recall_at_10"] = round(statistics.mean(len(found[q] & exact[q]) / 10 for q in queries), 3)
        print(f"  recall@10 {figures['recall_at_10']}", file=sys.stderr, flush=True)
    if "probes" in steps:
        figures.update(recall_by_probe(home, queries, exact_top10_kept(home, queries),
                                       [int(probe) for probe in args.probes.split(",")]))
    if "fold" in steps:
        measure_fold(home, args.photos, build, figures)
    if "duplicates" in steps:
        measure_duplicates(home, args.photos, figures)
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=1))
    for key, value in figures.items():
        print(f"{key:22} {value}")
    print("targets                similar < 0.3 s whole process and < 1000 MB; duplicates in minutes")


def exact_top10_kept(home: Path, queries: list[int]) -> dict[int, set[int]]:
    """exact_top10, kept in `home`'s parent folder (reading every feature of a million photos takes minutes)."""
    kept = home.parent / "exact-top10.json"
    known = json.loads(kept.read_text()) if kept.is_file() else {}
    if known.get("queries") != queries:
        found = exact_top10(home, queries)
        known = {"queries": queries, "top10": {str(q): sorted(found[q]) for q in queries}}
        kept.write_text(json.dumps(known))
    return {int(q): set(found) for q, found in known["top10"].items()}


def cell_figures(home: Path) -> dict[str, object]:
    """The vector file's cells: how many, how many a query reads, the smallest and largest."""
    index = load(home / "vectors.bin")
    sizes = np.diff(index.bounds)
    return {"index_cells": index.cells, "index_probe": index.probe, "index_cell_photos_min": int(sizes.min()),
            "index_cell_photos_max": int(sizes.max())}


def recall_by_probe(home: Path, queries: list[int], exact: dict[int, set[int]],
                    probes: list[int]) -> dict[str, object]:
    """Recall@10 against exact search, and the photos scored a query, when a query reads `probe` cells (the
    command line's path: quick's sqlite3 reads, the catalog's change log left out)."""
    from photocap.similar import quick
    from photocap.similar.neighbours import ranked

    index = load(home / "vectors.bin")
    conn = quick.connect(home)
    figures: dict[str, object] = {}
    for probe in probes:
        index.probe = probe
        found = {q: {i for i, _score in ranked(index, set(), q, 10, lambda ids: quick.features_of(
            conn, ids, index.encoder))} for q in queries}
        recall = round(statistics.mean(len(found[q] & exact[q]) / 10 for q in queries), 3)
        rows = [sum(int(index.bounds[c + 1] - index.bounds[c]) for c in index.probed(index.reduce(
            quick.features_of(conn, [q], index.encoder).vectors[0]))) for q in queries]
        figures[f"recall_at_10_probe_{probe}"] = f"{recall} ({round(statistics.mean(rows))} photos scored)"
        print(f"  probe {probe}: recall@10 {figures[f'recall_at_10_probe_{probe}']}", file=sys.stderr, flush=True)
    conn.close()
    return figures


def measure_fold(home: Path, photos: int, keep_in_step: str, figures: dict[str, object]) -> None:
    """Time `keep_in_step` (as `index`, `watch` and `prune` end) folding PENDING_MAX changed photos into the file: the
    features of photos spread over the library written again (the same values; the catalog's triggers log them)."""
    from photocap.similar.vector_index import PENDING_MAX

    db = sqlite3.connect(home / "catalog.db")
    db.executemany("UPDATE photo_features SET vector = vector WHERE photo_id = ?",
                   [(i,) for i in random.Random(5).sample(range(1, photos + 1), PENDING_MAX)])
    db.commit()
    db.close()
    seconds, _cpu, peak, _read, run = launched([sys.executable, "-c", keep_in_step])
    if run.returncode:
        raise SystemExit(run.stderr)
    figures.update(fold_changes=PENDING_MAX, fold_s=round(seconds, 1), fold_peak_mb=round(peak))
    print(f"  {PENDING_MAX} changes folded in: {seconds:.1f} s, {peak:.0f} MB", file=sys.stderr, flush=True)


def measure_duplicates(home: Path, photos: int, figures: dict[str, object]) -> None:
    seconds, _cpu, peak, _read, run = photocap_measured(["--home", str(home), "duplicates", "--json"])
    if run.returncode:
        raise SystemExit(f"duplicates failed: {run.stderr}")
    groups = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    id_of = {member["path"]: member["id"] for group in groups for member in group["photos"]}
    together = set()
    for group in groups:
        if group["kind"] != "burst":
            members = sorted(id_of[m["path"]] for m in group["photos"])
            together |= {(a, b) for a in members for b in members if a < b}
    planted = [(i - 1, i) for i in range(PLANT_EVERY, photos + 1, PLANT_EVERY)]
    figures.update(duplicates_s=round(seconds, 1), duplicates_peak_mb=round(peak), duplicate_groups=len(groups),
                   bursts=sum(group["kind"] == "burst" for group in groups),
                   planted_pairs=len(planted), planted_found=sum(pair in together for pair in planted))


if __name__ == "__main__":
    main()

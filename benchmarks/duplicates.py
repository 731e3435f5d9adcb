"""Issue 21's duplicates benchmark: pair precision and recall of `photocap duplicates` on the test library of
benchmarks/duplicate_library.py (1,080 photos, seven altered copies of 300 of them), the pairs of different
pictures it groups, and how the rules compare (features alone, the perceptual hash alone, both).

    python -m benchmarks.duplicate_library --dir /tmp/dup-bench           # the library and its truth
    photocap --home /tmp/dup-bench/home index /tmp/dup-bench/library --no-detect
    python -m benchmarks.duplicates --dir /tmp/dup-bench

    # a home indexed before indexing kept perceptual hashes: a copy with the hashes `index` now makes
    cp -a /tmp/dup-bench/home /tmp/dup-bench-home2
    python -m benchmarks.duplicates --dir /tmp/dup-bench --home /tmp/dup-bench-home2 --hashes-as-index-makes-them

A pair is two files of one group (exact or near copies; bursts are not counted); a true pair, two files of the
same picture (an original and its copies, or two copies). Targets: precision >= 0.98, recall >= 0.95.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np

from benchmarks.scale import measured
from photocap.similar import duplicates as rules
from photocap.similar.phash import hamming


def pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    return {tuple(sorted(pair)) for group in groups for pair in itertools.combinations(group, 2)}  # type: ignore[misc]


def scored(found: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & true)
    return (hits / len(found) if found else 1.0), hits / len(true)


def rule_comparison(home: Path, truth_pairs: set[tuple[str, str]]) -> dict[str, tuple[float, float, int]]:
    """Every pair of the library judged by each rule alone, with the full features and the kept hashes."""
    db = sqlite3.connect(f"file:{home / 'catalog.db'}?mode=ro", uri=True)
    rows = db.execute("SELECT p.path, f.vector, h.phash FROM photos p JOIN photo_features f ON f.photo_id = p.id "
                      "LEFT JOIN perceptual_hashes h ON h.content_hash = p.content_hash "
                      "WHERE p.status = 'ok'").fetchall()
    paths = [row[0] for row in rows]
    x = np.frombuffer(b"".join(row[1] for row in rows), np.float16).reshape(len(rows), -1).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cosine = x @ x.T
    hashes = np.array([row[2] if row[2] is not None else 0 for row in rows], np.int64)
    bits = hamming(hashes[:, None], hashes[None, :])
    upper = np.triu(np.ones_like(cosine, dtype=bool), 1)
    judged = {
        f"features alone, cosine >= {rules.NEAR_COPY_COSINE}": cosine >= rules.NEAR_COPY_COSINE,
        f"hash alone, <= {rules.PHASH_BITS} bits": bits <= rules.PHASH_BITS,
        "both (photocap's rule)": (cosine >= rules.NEAR_COPY_COSINE)
        | ((bits <= rules.PHASH_BITS) & (cosine >= rules.PHASH_MIN_COSINE)),
    }
    result = {}
    for name, same in judged.items():
        i, j = np.nonzero(same & upper)
        found = {tuple(sorted((paths[a], paths[b]))) for a, b in zip(i.tolist(), j.tolist(), strict=True)}
        precision, recall = scored(found, truth_pairs)  # type: ignore[arg-type]
        result[name] = (round(precision, 4), round(recall, 4), len(found - truth_pairs))  # type: ignore[operator]
    return result


def _index_hash(path: str) -> int | None:
    from photocap.indexing.worker import decode_for_index

    decoded = decode_for_index(path)
    return None if isinstance(decoded, str) else decoded.phash


def hashes_as_index_makes_them(home: Path) -> int:
    """Replace the kept perceptual hashes of `home` by those `photocap index` makes as it decodes each photo for the
    captioner (photocap.indexing.worker.decode_for_index; the features are untouched): as if the library had been
    indexed by this photocap, without captioning it again. Returns how many were kept."""
    from concurrent.futures import ProcessPoolExecutor

    db = sqlite3.connect(home / "catalog.db")
    files = dict(db.execute("SELECT content_hash, min(path) FROM photos WHERE status = 'ok' AND content_hash IS NOT "
                            "NULL GROUP BY content_hash"))
    with ProcessPoolExecutor(2) as pool:
        hashes = list(pool.map(_index_hash, files.values(), chunksize=16))
    db.execute("DELETE FROM perceptual_hashes")
    db.executemany("INSERT INTO perceptual_hashes (content_hash, phash) VALUES (?, ?)",
                   [(key, value) for key, value in zip(files, hashes, strict=True) if value is not None])
    db.commit()
    db.close()
    return sum(value is not None for value in hashes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/dup-bench"))
    parser.add_argument("--home", type=Path, default=None, help="the indexed home (default DIR/home)")
    parser.add_argument("--hashes-as-index-makes-them", action="store_true",
                        help="first replace the home's kept perceptual hashes by those indexing makes (changes it)")
    args = parser.parse_args()
    root = args.dir.absolute()
    truth = json.loads((root / "truth.json").read_text())
    home, library = (args.home or root / "home").absolute(), root / "library"
    if args.hashes_as_index_makes_them:
        print(f"  {hashes_as_index_makes_them(home)} perceptual hashes made as indexing makes them", file=sys.stderr)
    picture_of = {path: group[0] for group in truth["groups"] for path in group}
    true_pairs = pairs_of(truth["groups"])

    figures: dict[str, object] = {}
    for run_name in ("first run (hashes missing computed)", "second run"):
        seconds, peak, run = measured(["--home", str(home), "duplicates", str(library), "--json"])
        if run.returncode:
            raise SystemExit(run.stderr)
        figures[run_name] = f"{seconds:.1f} s, {peak:.0f} MB"
        print(f"  duplicates, {run_name}: {seconds:.1f} s, {peak:.0f} MB", file=sys.stderr, flush=True)
    groups = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    copies = [[member["path"] for member in group["photos"]] for group in groups if group["kind"] != "burst"]
    found = pairs_of(copies)
    precision, recall = scored(found, true_pairs)
    figures.update(groups=len(copies), bursts=len(groups) - len(copies), predicted_pairs=len(found),
                   true_pairs=len(true_pairs), pair_precision=round(precision, 4), pair_recall=round(recall, 4))
    for kind in truth["alterations"]:
        wanted = {tuple(sorted((group[0], path))) for group in truth["groups"] for path in group[1:]
                  if f"/altered/{kind}/" in path}
        figures[f"recall original-{kind}"] = round(len(wanted & found) / len(wanted), 3)
    wrong = found - true_pairs
    pictures = sorted({tuple(sorted((picture_of.get(a, a), picture_of.get(b, b)))) for a, b in wrong})
    figures["wrong pairs"] = len(wrong)
    figures["different pictures wrongly grouped"] = [list(pair) for pair in pictures]
    print(json.dumps(figures, indent=1))
    print("rules over all pairs (precision, recall, wrong pairs), before grouping:")
    for name, value in rule_comparison(home, true_pairs).items():
        print(f"  {name:38} {value}")


if __name__ == "__main__":
    main()

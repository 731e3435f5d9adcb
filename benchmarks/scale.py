"""A million-photo catalog: how `status`, a re-scan, `search` and `rebuild-index` fare, in time and memory.

    python -m benchmarks.scale                                   # 1,000,000 photos, 100,000 of them real files
    python -m benchmarks.scale --photos 100000 --files 10000 --dir /tmp/scale-small
    python -m benchmarks.scale --dir /tmp/photocap-scale --json-out scale.json   # a kept DIR is reused

Builds, in DIR (kept, so a second run skips what is done):
- `library/`: FILES tiny real PNG files (100 per folder), the part of the library a re-scan walks;
- `home/catalog.db`: PHOTOS catalogued photos. The first FILES are those files; the others are rows for an
  archive that is not on this disk (their root is never scanned). Every photo has a caption drawn from the
  Flickr8k and COCO caption texts, six model tags (three confident), a date, a camera and the kept 1,280-value
  fp16 feature a captioning run stores, all written straight into the tables Alembic made; PLACE_SHARE of them
  (default 0.6) a GPS place, named by photocap's geocoder at points around 40 cities (issue 22);
- `home/index/`: the Whoosh index, built by `photocap rebuild-index`.

Then times each command as a user runs it (a new process each, start-up included) and reads its peak
memory (the child's maximum resident set size): `status`, `index library/` on the unchanged files (twice:
the second is the figure), and `search` for natural-language queries (COCO captions) and one-word queries, and
queries that name a place or a time (issue 22).
Targets (issue 12): search median under 0.5 s and every command under 1 GB at 1,000,000 photos.
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
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.launcher import photocap_measured
from benchmarks.rescan import make_library
from photocap.catalog.store import Catalog
from photocap.model.installed import current_tagger
from photocap.model.tag_vocabulary import tag_map
from train.data import data_dir

DEFAULT_DIR = Path("/tmp/photocap-scale")
COCO_TEXT = (Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-captions-text"
             / "captions_val2017_text.json")
ROWS_PER_COMMIT = 20_000
FEATURE = bytes(2 * 1280)
CAMERAS = [("Apple", "iPhone 13"), ("Apple", "iPhone 15 Pro"), ("samsung", "SM-S918B"), ("Canon", "EOS R6"),
           ("NIKON CORPORATION", "NIKON Z 6"), ("SONY", "ILCE-7M3"), ("Google", "Pixel 8"), (None, None)]
CITIES = [(38.72, -9.14), (48.86, 2.35), (-33.87, 151.21), (40.71, -74.01), (51.51, -0.13), (41.90, 12.50),
          (52.52, 13.40), (35.68, 139.69), (37.77, -122.42), (34.05, -118.24), (-22.91, -43.17), (19.43, -99.13),
          (55.76, 37.62), (39.90, 116.40), (28.61, 77.21), (-26.20, 28.05), (30.04, 31.24), (1.35, 103.82),
          (-37.81, 144.96), (43.65, -79.38), (45.50, -73.57), (59.33, 18.07), (60.17, 24.94), (52.37, 4.90),
          (50.85, 4.35), (47.37, 8.54), (48.21, 16.37), (50.08, 14.44), (41.39, 2.17), (40.42, -3.70),
          (37.98, 23.73), (41.01, 28.98), (25.20, 55.27), (13.76, 100.50), (-34.60, -58.38), (-12.05, -77.04),
          (4.71, -74.07), (64.15, -21.94), (-41.29, 174.78), (21.31, -157.86)]
PLACE_TIME_QUERIES = [["dog paris"], ["beach 2019"], ["snow last winter"], ["sunset"], ["people in tokyo"],
                      ["a man riding a bike", "--place", "portugal"], ["summer 2015"], ["christmas"],
                      ["dog", "--near", "38.72,-9.14", "--within", "30"], ["may 2021"]]
ONE_WORD_QUERIES = ["dog", "beach", "pizza", "car", "bicycle", "snow", "cat", "horse", "kitchen", "train",
                    "elephant", "boat", "bathroom", "laptop", "giraffe", "sheep", "bird", "umbrella", "clock", "bus"]


def caption_texts(flickr: Path) -> list[str]:
    texts = []
    with open(flickr / "captions.txt", encoding="utf-8") as file:
        next(file)  # header: image,caption
        texts += [line.split(",", 1)[1].strip() for line in file if "," in line]
    if COCO_TEXT.is_file():
        data = json.loads(COCO_TEXT.read_text(encoding="utf-8"))
        texts += [str(item["caption"] if isinstance(item, dict) else item).strip()
                  for item in (data["annotations"] if isinstance(data, dict) and "annotations" in data else data)]
    return [text for text in texts if text]


def synthetic_places(rng: random.Random, count: int = 2000) -> list[tuple]:
    """Rows of table places (without photo_id) for `count` GPS points scattered around CITIES, as the shipped
    geocoder names them (points it cannot name are left out)."""
    from photocap.metadata.places import geocoder

    points = [(min(max(lat + rng.gauss(0, 0.3), -89.9), 89.9), (lon + rng.gauss(0, 0.3) + 180) % 360 - 180)
              for lat, lon in (rng.choice(CITIES) for _ in range(count))]
    named = geocoder().places_at([lat for lat, _ in points], [lon for _, lon in points])
    return [(p.lat, p.lon, p.city, p.county, p.region, p.country, p.country_code, None, "gps")
            for p in named if p is not None]


def build_catalog(home: Path, library: Path, photos: int, files: int, texts: list[str],
                  features: Callable[[int, int], list[bytes]] | None = None, place_share: float = 0.0) -> float:
    """The synthetic catalog; returns the seconds it took (0 if it was there already). `features(first, count)`
    gives the kept features of photos first..first+count-1 (default: all zeros, as search does not read them);
    `place_share` of the photos get a GPS place."""
    if (home / "catalog.db").exists():
        return 0.0
    started = time.perf_counter()
    with Catalog.open(home):
        pass  # Alembic creates the tables
    tagger_id, feature_encoder = current_tagger() or ("none", "none")
    words = [word for word in tag_map().words() if tag_map().kind(word) not in (None, "other")]
    rng = random.Random(0)
    real = sorted(str(path) for path in library.rglob("*.png"))[:files]
    place_rows = synthetic_places(random.Random(2)) if place_share > 0 else []
    base = datetime(2005, 1, 1)
    db = sqlite3.connect(home / "catalog.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = datetime.utcnow().isoformat(sep=" ")
    for start in range(0, photos, ROWS_PER_COMMIT):
        photo_rows, caption_rows, tag_rows, feature_rows, photo_places = [], [], [], [], []
        end = min(photos, start + ROWS_PER_COMMIT)
        vectors = features(start + 1, end - start) if features else [FEATURE] * (end - start)
        for photo_id in range(start + 1, end + 1):
            if photo_id <= len(real):
                path = real[photo_id - 1]
                st = os.stat(path)
                size, mtime_ns = st.st_size, st.st_mtime_ns
            else:
                path = f"/archive/{photo_id // 1000:04}/{photo_id % 1000:03}/IMG_{photo_id:07}.jpg"
                size, mtime_ns = 2_000_000 + photo_id, 1_600_000_000_000_000_000 + photo_id
            make, model = rng.choice(CAMERAS)
            taken = base + timedelta(seconds=rng.randrange(20 * 365 * 86400))
            photo_rows.append((photo_id, path, os.path.dirname(path), size, mtime_ns, f"{photo_id:032x}", 4032,
                               3024, taken.isoformat(sep=" "), "exif", make, model, "ok", 1, 1, now, now))
            caption_rows.append((photo_id, "model", rng.choice(texts).lower().rstrip("."), -2.0, "synthetic",
                                 "synthetic", "[]", 0.5, "beam", now))
            for word in rng.sample(words, 6):
                probability = rng.uniform(0.3, 0.95) if len(tag_rows) % 6 < 3 else rng.uniform(0.01, 0.3)
                tag_rows.append((photo_id, "model", word, round(probability, 4), tagger_id, 0, now))
            feature_rows.append((photo_id, feature_encoder, vectors[photo_id - start - 1], tagger_id))
            if place_rows and rng.random() < place_share:
                photo_places.append((photo_id, *rng.choice(place_rows)))
        db.executemany("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, width, height, taken_at,"
                       " date_source, camera_make, camera_model, status, seen, search_synced, created_at, updated_at,"
                       " metadata_stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                       photo_rows)  # metadata_stamp '': read, no sidecar (what indexing leaves)
        db.executemany("INSERT INTO captions (photo_id, source, text, score, model_id, model_checksum, words,"
                       " confidence, method, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", caption_rows)
        db.executemany("INSERT INTO tags (photo_id, source, word, probability, tagger_id, removed, created_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", tag_rows)
        db.executemany("INSERT INTO photo_features (photo_id, encoder, vector, tagger_id) VALUES (?, ?, ?, ?)",
                       feature_rows)
        db.executemany("INSERT INTO places (photo_id, lat, lon, city, county, region, country, country_code,"
                       " sublocation, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", photo_places)
        db.commit()
        print(f"  catalog: {min(photos, start + ROWS_PER_COMMIT):,} photos", file=sys.stderr, flush=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def measured(arguments: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """(seconds, peak resident MB, result) of `photocap ARGUMENTS`, in a process of its own (its peak memory its
    own, not this benchmark's: benchmarks.launcher)."""
    run = photocap_measured(arguments)
    return run.seconds, run.peak_mb, run.run


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--queries", type=int, default=20, help="natural-language queries (and as many one-word)")
    parser.add_argument("--flickr8k", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--place-share", type=float, default=0.6,
                        help="share of the photos with a GPS place (0: none, as before issue 22)")
    args = parser.parse_args()

    root = args.dir.absolute()
    library, home = root / "library", root / "home"
    figures: dict[str, object] = {"photos": args.photos, "files": args.files, "cpus": os.cpu_count(),
                                  "place_share": args.place_share}
    started = time.perf_counter()
    make_library(library, args.files)
    figures["make_files_s"] = round(time.perf_counter() - started, 1)
    texts = caption_texts(data_dir(args.flickr8k))
    figures["build_catalog_s"] = round(build_catalog(home, library, args.photos, args.files, texts,
                                                          place_share=args.place_share), 1)

    def check(name: str, run: tuple[float, float, subprocess.CompletedProcess], ok: tuple[int, ...] = (0,)):
        seconds, peak, result = run
        if result.returncode not in ok:
            raise SystemExit(f"photocap {name} failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        figures[f"{name}_s"], figures[f"{name}_peak_mb"] = round(seconds, 2), round(peak)
        print(f"  {name}: {seconds:.2f} s, {peak:.0f} MB", file=sys.stderr, flush=True)
        return result

    if not (home / "index").exists():
        check("rebuild_index", measured(["--home", str(home), "rebuild-index"]))
    check("status", measured(["--home", str(home), "status", "--json"]), ok=(0, 3))
    for name in ("index_first", "index_unchanged"):  # the first may read what an older catalog lacks
        summary = check(name, measured(["--home", str(home), "index", str(library), "--json"]), ok=(0, 3))
    figures["index_unchanged_summary"] = json.loads(summary.stdout.strip().splitlines()[-1])

    rng = random.Random(1)
    sentences = rng.sample(texts, args.queries)
    kinds = (("sentence", [[s] for s in sentences]), ("word", [[w] for w in ONE_WORD_QUERIES[: args.queries]]),
             ("place_time", PLACE_TIME_QUERIES[: args.queries]))
    for kind, queries in kinds:
        seconds, peaks = [], []
        for query in queries:
            took, peak, result = measured(["--home", str(home), "search", *query, "--limit", "20", "--json"])
            if result.returncode not in (0, 1):
                raise SystemExit(f"photocap search {query!r} failed: {result.stderr.strip()}")
            seconds.append(took)
            peaks.append(peak)
        seconds.sort()
        figures[f"search_{kind}_median_s"] = round(statistics.median(seconds), 3)
        figures[f"search_{kind}_p95_s"] = round(seconds[int(0.95 * (len(seconds) - 1))], 3)
        figures[f"search_{kind}_peak_mb"] = round(max(peaks))
    figures["catalog_mb"] = round((home / "catalog.db").stat().st_size / 1e6)
    figures["index_mb"] = round(folder_mb(home / "index"))

    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=1))
    for key, value in figures.items():
        if key != "index_unchanged_summary":
            print(f"{key:28} {value}")
    print("targets                      search median < 0.5 s; every command's peak < 1000 MB")


if __name__ == "__main__":
    main()

"""Issue 21's "more like this" benchmark: for Flickr8k test photos whose human references name an object (dog,
bicycle, boat, horse, ...), the share of their 5 most similar photos whose references name it too; against a
random pick and against tag overlap alone, and with tag overlap mixed into the feature cosine.

    python -m benchmarks.similar_share --home /tmp/dup-bench/home     # a home where the 1,000 test photos are indexed

Neighbours are looked for among the 1,000 test photos only (the home may hold other photos and copies). "Features"
is what `photocap similar` ranks by: the cosine of the kept features. "Tags" is the Jaccard overlap of the photos'
confident tags (ties in random order). "Mixed" adds TAG_WEIGHT x that overlap to the cosine.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import numpy as np

from photocap.catalog.store import Catalog
from photocap.catalog.tags import confident
from train.data import data_dir

OBJECTS = {
    "dog": r"dogs?|pupp(y|ies)", "bicycle": r"bicycles?|bikes?|bicyclists?|cyclists?",
    "boat": r"boats?|canoes?|kayaks?",
    "horse": r"horses?", "ball": r"balls?", "car": r"cars?", "bird": r"birds?", "skateboard": r"skateboard(er|ers|s)?",
    "motorcycle": r"motorcycles?|motorbikes?", "surfboard": r"surfboards?|surfers?", "cat": r"cats?|kittens?",
    "frisbee": r"frisbees?", "guitar": r"guitars?", "sheep": r"sheep", "camel": r"camels?",
}
TOP = 5
TAG_WEIGHT = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=Path("/tmp/dup-bench/home"))
    parser.add_argument("--flickr8k", type=Path, default=None)
    args = parser.parse_args()
    data = json.loads((data_dir(args.flickr8k) / "dataset_flickr8k.json").read_text())
    refs = {image["filename"]: " ".join(s["raw"].lower() for s in image["sentences"])
            for image in data["images"] if image["split"] == "test"}
    with Catalog.open(args.home) as catalog, catalog.reading() as conn:
        rows = conn.exec_driver_sql("SELECT p.id, p.path, f.vector FROM photos p JOIN photo_features f ON "
                                    "f.photo_id = p.id WHERE p.status = 'ok'").all()
        rows = [row for row in rows if "/altered/" not in row.path and Path(row.path).name in refs]
        tag_rows = {row["id"]: {t["word"] for t in confident(row["tags"])}
                    for row in catalog.photos_by_ids([row.id for row in rows])}
    names = [Path(row.path).name for row in rows]
    x = np.frombuffer(b"".join(row.vector for row in rows), np.float16).reshape(len(rows), -1).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cosine = x @ x.T
    tag_sets = [tag_rows.get(row.id, set()) for row in rows]
    overlap = np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in tag_sets] for a in tag_sets])
    names_object = {o: np.array([bool(re.search(rf"\b({pattern})\b", refs[name])) for name in names])
                    for o, pattern in OBJECTS.items()}
    rng = np.random.default_rng(0)
    jitter = rng.random(cosine.shape) * 1e-6  # random order among equal tag overlaps
    rankings = {"features (photocap similar)": cosine, "tags overlap alone": overlap + jitter,
                f"mixed: cosine + {TAG_WEIGHT} x tag overlap": cosine + TAG_WEIGHT * overlap}
    shares: dict[str, list[float]] = {name: [] for name in [*rankings, "random"]}
    per_object: dict[str, dict[str, float]] = {}
    for o, named in names_object.items():
        queries = np.flatnonzero(named)
        if len(queries) < 3:
            continue
        per_object[o] = {"photos": int(len(queries))}
        for name, scores in rankings.items():
            found = []
            for q in queries:
                row = scores[q].copy()
                row[q] = -np.inf
                top = np.argsort(-row)[:TOP]
                found.append(named[top].mean())
            shares[name] += found
            per_object[o][name] = round(float(np.mean(found)), 3)
        random_share = (len(queries) - 1) / (len(names) - 1)
        shares["random"] += [random_share] * len(queries)
        per_object[o]["random"] = round(random_share, 3)
    print(f"{len(names)} Flickr8k test photos; {len(shares['random'])} (photo, object) queries over "
          f"{len(per_object)} objects")
    for name, values in shares.items():
        by_object = statistics.mean(figures[name] for figures in per_object.values())
        print(f"  {name:36} top-{TOP} share {statistics.mean(values):.3f} (mean over objects {by_object:.3f})")
    for o, figures in per_object.items():
        print(f"  {o:11}", json.dumps(figures))


if __name__ == "__main__":
    main()

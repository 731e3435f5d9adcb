"""How much a place's name should count in search (Ranking.place_boost), measured on the Flickr8k test images.

    python -m benchmarks.retrieval --model default --save-captions /tmp/test_captions.json
    python -m benchmarks.place_boost --captions /tmp/test_captions.json [--one-in 5]

Each of the 1,000 test images is given a place, as if taken there: one of 24 towns (drawn with the same seed every
time), six of whose names are also words of everyday captions ("Nice", "Bath", "Reading", "Split", "Orange",
"Mobile"), named by the shipped geocoder from a point near each town. Two query sets, over the model's captions:
- place queries: a human caption of an image followed by its town's name ("a dog runs through the grass Lisbon"):
  the place should help find it;
- plain queries: the human captions alone: a place that shares a word with them ("a baby in a bath") must not
  push the right image down.
For each boost the R@1, R@5, R@10 of both sets are printed. The boost chosen (photocap.search.schema.Ranking) is the
largest whose plain-query R@5 and R@10 stay within 0.3 points of those at boost 0: the place helps as much as it
can without costing the queries that do not name one. Measured (2026-12-03): 3.0, place-query R@10 86.1 (57.9 at
boost 0, 72.4 at 1.0), plain R@5/R@10 36.8/50.6 (37.0/50.5 at 0; 36.4/50.4 at 4.0, 36.0/49.7 at 8.0).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from dataclasses import replace
from pathlib import Path

from benchmarks.retrieval import (
    documents,
    load_model_output,
    load_test_images,
    queries_for,
    recall_at_k,
    sample,
    split_file,
)
from photocap.metadata.places import geocoder
from photocap.search.index import SearchIndex
from photocap.search.schema import DEFAULT_RANKING

TOWNS = [(38.7223, -9.1393), (48.8566, 2.3522), (-33.8688, 151.2093), (40.4168, -3.7038), (52.5200, 13.4050),
         (41.9028, 12.4964), (35.6762, 139.6503), (40.7128, -74.0060), (51.5074, -0.1278), (59.3293, 18.0686),
         (-22.9068, -43.1729), (19.4326, -99.1332), (37.9838, 23.7275), (55.6761, 12.5683), (45.4642, 9.1900),
         (64.1466, -21.9426), (39.6012, -9.0700), (50.0755, 14.4378),
         (43.7034, 7.2663), (51.3811, -2.3590), (51.4543, -0.9781), (43.5081, 16.4402), (44.1381, 4.8075),
         (30.6954, -88.0399)]  # the last six: Nice, Bath, Reading, Split, Orange, Mobile
BOOSTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=Path, required=True, help="the model's output for the test images")
    parser.add_argument("--data", type=Path, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--one-in", type=int, default=5, help="use one query in N (seeded)")
    args = parser.parse_args()

    images = load_test_images(split_file(args.data))
    output = load_model_output(args.captions, images)
    rng = random.Random(0)
    places = geocoder()
    named = [places.place_at(lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.02, 0.02)) for lat, lon in TOWNS]
    assert all(named), named
    where = [rng.randrange(len(named)) for _ in images]
    docs = [replace_doc(doc, named[where[i]]) for i, doc in enumerate(documents(images, output))]
    plain = sample(queries_for(images, skip_first=False), args.one_in)
    with_place = [(f"{text} {named[where[photo_id]].city}", photo_id) for text, photo_id in plain]
    print("towns: " + ", ".join(place.label() for place in named))
    with (tempfile.TemporaryDirectory(prefix="photocap-place-boost-") as folder,
          SearchIndex.rebuild_at(Path(folder) / "index", docs) as index):
        for boost in BOOSTS:
            ranking = replace(DEFAULT_RANKING, place_boost=boost)
            a = recall_at_k(index, with_place, ranking=ranking)
            b = recall_at_k(index, plain, ranking=ranking)
            print(f"place_boost {boost:4.2f}  place queries R@1 {a['R@1']:5.1f} R@5 {a['R@5']:5.1f} "
                  f"R@10 {a['R@10']:5.1f}   plain queries R@1 {b['R@1']:5.1f} R@5 {b['R@5']:5.1f} "
                  f"R@10 {b['R@10']:5.1f}  ({len(plain)} queries each)")


def replace_doc(doc: dict, place: object) -> dict:
    return {**doc, "place_text": place.search_text(), "country_code": place.country_code,
            "position": (place.lat, place.lon)}


if __name__ == "__main__":
    main()

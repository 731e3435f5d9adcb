"""Reverse geocoding offline: how long the shipped places take to load, and how many photos' positions a second
are named, many at a time (a batch) and one at a time (as indexing asks, a photo at a time in each worker).

    python -m benchmarks.geocode [--photos 10000] [--repeat 3]

The positions are a library's: photos taken around 300 places drawn from the asset (jittered by up to ~20 km,
so many fall in the same cells, as a real library's do), a tenth of them at random points of the globe (mostly
sea). The load is timed in a fresh process (interpreter start not counted; numpy's import counted, and said apart:
indexing has imported numpy already). Each figure is given in wall time and in this process's CPU time (the
machine is shared: CPU time is what the work costs). Targets (issue 22): a load under 0.5 s, then at least
10,000 photos/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from photocap.metadata.places import Geocoder

LOAD_SCRIPT = """
import time
began, cpu = time.perf_counter(), time.process_time()
import numpy
numpy_s, numpy_cpu = time.perf_counter() - began, time.process_time() - cpu
from photocap.metadata.places import geocoder
geocoder()
print(time.perf_counter() - began, time.process_time() - cpu, numpy_s, numpy_cpu)
"""


def library_positions(places: Geocoder, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.choice(len(places), size=300, replace=False)
    lat0, lon0 = places._lat[centres], places._lon[centres]
    pick = rng.integers(0, len(centres), size=count)
    lat = np.clip(lat0[pick] + rng.normal(0, 0.08, count), -89.9, 89.9)
    lon = (lon0[pick] + rng.normal(0, 0.08, count) + 180.0) % 360.0 - 180.0
    anywhere = rng.random(count) < 0.1
    lat[anywhere] = np.degrees(np.arcsin(rng.uniform(-1, 1, anywhere.sum())))
    lon[anywhere] = rng.uniform(-180, 180, anywhere.sum())
    return lat, lon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    loads = [[float(value) for value in subprocess.run([sys.executable, "-c", LOAD_SCRIPT], capture_output=True,
                                                       text=True, check=True).stdout.split()]
             for _ in range(args.repeat)]
    places = Geocoder.load()
    lat, lon = library_positions(places, args.photos)
    batch, single = [], []
    for _ in range(args.repeat):
        fresh = Geocoder.load()  # no cell cached yet
        began, cpu = time.perf_counter(), time.process_time()
        found = fresh.places_at(lat, lon)
        batch.append((time.perf_counter() - began, time.process_time() - cpu))
        fresh = Geocoder.load()
        began, cpu = time.perf_counter(), time.process_time()
        for a, b in zip(lat.tolist(), lon.tolist(), strict=True):
            fresh.place_at(a, b)
        single.append((time.perf_counter() - began, time.process_time() - cpu))
    named = sum(place is not None for place in found)
    median = sorted(loads)[len(loads) // 2]
    print(json.dumps({
        "places": len(places), "photos": args.photos, "named": named,
        "load_s": round(median[0], 3), "load_cpu_s": round(median[1], 3),
        "of_which_numpy_import_s": round(median[2], 3), "numpy_import_cpu_s": round(median[3], 3),
        "batch_photos_per_s": round(args.photos / min(w for w, _ in batch)),
        "batch_photos_per_cpu_s": round(args.photos / min(c for _, c in batch)),
        "one_at_a_time_photos_per_s": round(args.photos / min(w for w, _ in single)),
        "one_at_a_time_photos_per_cpu_s": round(args.photos / min(c for _, c in single)),
        "load_average": round(os.getloadavg()[0], 1),
    }, indent=1))


if __name__ == "__main__":
    main()

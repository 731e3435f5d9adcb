"""The Ray engine against the built-in one, and what one driver can feed (issue 12, part 2).

    python -m benchmarks.ray_engine                       # 1,000 Flickr8k test images, local Ray, batch 32
    python -m benchmarks.ray_engine --photos 200 --json
    python -m benchmarks.ray_engine --ray-address HEAD:6379 --ship-bytes   # a real cluster (photocap on every node)

In one run, on the same photos and batch size (steps 1 and 2 alternate, --repeats times each, and the best of
each is kept: the machine may be shared with other work):
1. built-in engine: `photocap index` (decoding processes, encoder, beam search, writes) on a fresh home; its
   results are kept for step 3.
2. Ray engine: the same on another fresh home with `--engine ray` (a local Ray started for each run unless
   --ray-address names a cluster). photos/s end to end (the engine's start included: for Ray, starting Ray,
   the actors and their model), and steady (from the first batch written to the last), and the ratio of each
   to the built-in engine's.
3. driver write rate: the results of step 1, pickled as they arrive from the actors, unpickled and written by
   the driver alone (a catalog transaction per batch, the search index every 5 s and at the end) into a
   fresh home: the photos/s one driver can write, whatever the cluster.
4. one captioning actor's throughput: the actor class itself, in this process, on photos decoded beforehand
   (here a CPU actor; on a machine with a GPU, a GPU actor's: run it there for the GPU estimate).
5. decoding: CPU ms per photo of the decoding task, to size the CPU nodes.
Then the scaling estimate: with N actors, photos/s ~ min(N x actor rate, driver write rate, decode cores /
decode cost); the driver saturates at N = write rate / actor rate.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.throughput import link_library
from photocap.catalog.store import Catalog, PhotoResult
from photocap.config import Settings
from photocap.indexing import ray_tasks
from photocap.indexing.pipeline import IndexReport, LazyCaptioner, index_roots
from photocap.indexing.result_writer import ResultWriter
from photocap.indexing.scan import scan_folders
from photocap.lock import exclusive_writer
from photocap.search.sync import open_for_writing
from train.data import data_dir, load_split


def timed_index(settings: Settings, library: Path) -> tuple[IndexReport, list[PhotoResult], list[float]]:
    """`photocap index` as run_index runs it, keeping the results and when each batch was written."""
    results: list[PhotoResult] = []
    written_at: list[float] = []

    def progress(_stage: str, _total: int):
        return lambda n: written_at.append(time.perf_counter())

    began = time.perf_counter()
    with ExitStack() as stack:
        stack.enter_context(exclusive_writer(settings.home))
        catalog = stack.enter_context(Catalog.open(settings.home))
        search_index = stack.enter_context(open_for_writing(catalog, settings.home / "index"))
        report = index_roots(catalog, search_index, settings, [library], LazyCaptioner(settings),
                             progress=progress, on_results=results.extend)
    report.seconds = time.perf_counter() - began
    return report, results, written_at


def steady_photos_per_s(written_at: list[float], photos: int, batch_size: int) -> float:
    """photos/s from the first batch written to the last: the pipeline full, its start left out."""
    if len(written_at) < 2:
        return float("nan")
    return (photos - batch_size) / (written_at[-1] - written_at[0])


def driver_write_rate(results: list[PhotoResult], source_home: Path, library: Path, home: Path,
                      batch_size: int) -> float:
    """photos/s the driver alone writes: unpickling each result as it arrives, a catalog transaction a batch,
    the search index every 5 s and at the end. The scan that makes the photos' rows is not timed."""
    with Catalog.open(source_home) as source:  # the run that made `results`: its ids to paths
        path_of = {photo["id"]: photo["path"] for photo in source.photos_by_ids([r.photo_id for r in results])}
    with Catalog.open(home) as catalog, open_for_writing(catalog, home / "index") as search_index:
        scan_folders(catalog, [library], follow_symlinks=True)
        ids = {photo.path: photo.id for photo in catalog.pending_photos([library])}
        remapped = [replace(r, photo_id=ids[path_of[r.photo_id]]) for r in results]
        batches = [[pickle.dumps(r) for r in remapped[i : i + batch_size]]
                   for i in range(0, len(remapped), batch_size)]
        began = time.perf_counter()
        writer = ResultWriter(catalog, search_index)
        for batch in batches:
            writer.write([pickle.loads(r) for r in batch])
        writer.sync(merge=True)
        return len(remapped) / (time.perf_counter() - began)


def actor_photos_per_s(settings: Settings, paths: list[Path], threads: int) -> tuple[float, float]:
    """One captioning actor's photos/s on decoded batches, and the decoding task's CPU ms per photo."""
    rows = {"photo_id": np.arange(len(paths)), "path": np.array([os.fsencode(p) for p in paths], dtype=object)}
    cpu_before = time.process_time()
    decoded = ray_tasks.decode(rows)
    decode_ms = 1000 * (time.process_time() - cpu_before) / len(paths)
    # On a GPU machine, a GPU actor's rate (device auto); threads as an actor on a CPU node sets them.
    actor = ray_tasks.Captioning(settings.model, settings.device, None, settings.precision, settings.beam_size, threads)
    size = settings.batch_size
    batches = [{key: column[i : i + size] for key, column in decoded.items()} for i in range(0, len(paths), size)]
    actor(batches[0])  # warm-up: first-call allocations
    began = time.perf_counter()
    for batch in batches:
        actor(batch)
    return len(paths) / (time.perf_counter() - began), decode_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    parser.add_argument("--workers", type=int, default=Settings().workers, help="the built-in engine's decoders")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs of each engine, alternating (the best is kept: the machine may be shared)")
    parser.add_argument("--ray-address", default=None, help="a Ray cluster (default: a local Ray for each run)")
    parser.add_argument("--ship-bytes", action="store_true", help="the Ray runs ship the photos as bytes")
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--actors", type=int, nargs="*", default=[1, 2, 4, 8, 16, 32, 64],
                        help="actor (GPU) counts of the scaling estimate")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    root = data_dir(args.data)
    paths = [root / "Images" / p.filename for p in load_split(root) if p.split == "test"][: args.photos]
    threads = len(os.sched_getaffinity(0))
    runs: dict[str, list[tuple[float, float]]] = {"builtin": [], "ray": []}  # (end to end, steady) photos/s
    with tempfile.TemporaryDirectory(prefix="photocap-ray-bench-") as scratch:
        library = Path(scratch) / "library"
        link_library(paths, library)
        base = replace(Settings(), batch_size=args.batch_size, workers=args.workers, follow_symlinks=True,
                       ray_address=args.ray_address, ship_bytes=args.ship_bytes)
        kept: tuple[Path, list[PhotoResult]] | None = None
        for repeat in range(args.repeats):
            for engine in ("builtin", "ray"):
                home = Path(scratch) / f"{engine}-{repeat}"
                report, results, written_at = timed_index(replace(base, home=home, engine=engine), library)
                assert report.captioned == len(paths), report.summary_line()
                runs[engine].append((report.photos_per_s,
                                     steady_photos_per_s(written_at, len(paths), args.batch_size)))
                if engine == "ray" and args.ray_address is None:
                    import ray

                    ray.shutdown()  # each run starts its own local Ray, as `photocap index --engine ray` does
                kept = kept or (home, results)
        assert kept is not None
        write_rate = driver_write_rate(kept[1], kept[0], library, Path(scratch) / "writes", args.batch_size)
        measured = [actor_photos_per_s(base, paths, threads) for _ in range(args.repeats)]
        actor_rate, decode_ms = max(rate for rate, _ in measured), min(ms for _, ms in measured)

    best = {engine: (max(e for e, _ in values), max(s for _, s in values)) for engine, values in runs.items()}
    figures = {
        "photos": len(paths), "batch_size": args.batch_size, "cpus": threads, "repeats": args.repeats,
        "ray_address": args.ray_address or "local", "ship_bytes": args.ship_bytes,
        "builtin_photos_per_s": best["builtin"][0], "ray_photos_per_s": best["ray"][0],
        "ratio": round(best["ray"][0] / best["builtin"][0], 3),
        "builtin_steady_photos_per_s": best["builtin"][1], "ray_steady_photos_per_s": best["ray"][1],
        "steady_ratio": round(best["ray"][1] / best["builtin"][1], 3),
        "runs": {engine: [[round(e, 2), round(s, 2)] for e, s in values] for engine, values in runs.items()},
        "driver_write_photos_per_s": round(write_rate, 1),
        "actor_photos_per_s": round(actor_rate, 2), "decode_cpu_ms_per_photo": round(decode_ms, 2),
        "driver_saturates_at_actors": round(write_rate / actor_rate, 1),
        "estimate_photos_per_s": {n: round(min(n * actor_rate, write_rate), 1) for n in args.actors},
    }
    for key in ("builtin_photos_per_s", "ray_photos_per_s", "builtin_steady_photos_per_s", "ray_steady_photos_per_s"):
        figures[key] = round(figures[key], 2)
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:30} {value}")
    print("estimate: photos/s with N actors ~ min(N x actor_photos_per_s, driver_write_photos_per_s), given "
          "decode_cpu_ms_per_photo x photos/s / 1000 CPU cores of decoding across the nodes")


if __name__ == "__main__":
    main()

"""The object detector's own figures: speed by input size, precision and batch; quality against human captions.

    nice -n 10 python -m benchmarks.detector                   # everything (about 40 minutes on 2 busy cores)
    python -m benchmarks.detector --part speed --seconds 5
    python -m benchmarks.detector --part quality --sets coco-dev --sizes 512 --precisions fp32 --cache /tmp/dets

Speed: the detector alone (network, decoding, NMS; not decoding JPEGs) on 2 threads, photos/s, at input 320,
384, 416 and 512, fp32 and bf16, batch 1 and 8; the median of `--repeats` timed runs of about `--seconds`
each (other work on the machine slows every figure alike, so read them as ratios first). Also the cost of
`prepare_image` (stretching a decoded photo to the input size).

Quality, on coco-dev (80 COCO train2017 photos: very likely in the detector's training set, so they flatter it)
and on the Flickr8k Karpathy test split (1,000 photos, not COCO: the honest figure). Ground truth is text: a
COCO category is in a photo when a reference caption names it (benchmarks/coco_objects.py's words).
- precision: of the (photo, class) pairs detected at a score threshold, the share that some reference names;
- recall: of the categories that >= 2 of the 5 references name, the share detected;
- top-1 / top-2 absent: of photos with a detection, the share whose best (or two best) classes no reference
  names (what a caption naming only those objects would get wrong);
- people: of the photos that >= 2 references say hold a person, the share with a person detected; false alarms:
  photos with a person detected that no reference says holds one;
- per class, on Flickr8k test: the precision of the 20 most often detected classes.
A caption that does not mention a present object makes a true detection count as a false one: precision here is
a lower bound, most of all for small background objects (cars, chairs, bottles, handbags).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from benchmarks.coco_objects import objects_in_any, objects_named_by_at_least
from benchmarks.everyday import DEFAULT_COCO_DEV, SURELY_IN_VOTES, PhotoSet, load_coco_dev, load_flickr8k_test
from photocap.model.detector import Detection, load_detector, prepare_image, prepare_images

SIZES = (320, 384, 416, 512)
THRESHOLDS = (0.3, 0.4, 0.5)
BATCHES = (1, 8)
PRECISIONS = ("fp32", "bf16")
THREADS = 2
PER_CLASS_TOP = 20


# ---------------------------------------------------------------------------------------------------
# Speed


def photos_per_s(size: int, precision: str, batch: int, seconds: float, repeats: int,
                 threads: int = THREADS) -> tuple[float, float]:
    """Photos/s (wall clock) and CPU ms per photo (all threads; on one thread, little changed by other work on the
    machine, where two threads that wait for each other spin and burn CPU time)."""
    torch.set_num_threads(threads)
    detector = load_detector(torch.device("cpu"), precision, size)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (batch, 3, size, size), dtype=np.uint8))
    detector.detect(images)  # warm-up: oneDNN picks its kernels on the first run
    rates, cpu_ms = [], []
    for _ in range(repeats):
        done, start, cpu_start = 0, time.perf_counter(), time.process_time()
        while done == 0 or time.perf_counter() - start < seconds:
            detector.detect(images)
            done += batch
        rates.append(done / (time.perf_counter() - start))
        cpu_ms.append((time.process_time() - cpu_start) * 1000 / done)
    return statistics.median(rates), statistics.median(cpu_ms)


def speed(sizes: Sequence[int], precisions: Sequence[str], seconds: float, repeats: int) -> None:
    print(f"Speed: the detector alone on {THREADS} threads, photos/s (CPU ms per photo), median of {repeats} runs; "
          f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    columns = [(p, b) for p in precisions for b in BATCHES]
    print("| input | " + " | ".join(f"{p} batch {b}" for p, b in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for size in sizes:
        figures = [photos_per_s(size, p, b, seconds, repeats) for p, b in columns]
        print(f"| {size} | " + " | ".join(f"{rate:.1f} ({cpu:.0f})" for rate, cpu in figures) + " |", flush=True)
    print(f"\nCPU ms per photo on 1 thread, batch {BATCHES[-1]} (2 threads on a quiet machine: about twice the rate)")
    print("| input | " + " | ".join(precisions) + " |")
    print("|---|" + "---|" * len(precisions))
    for size in sizes:
        cells = [f"{photos_per_s(size, p, BATCHES[-1], seconds, repeats, threads=1)[1]:.0f}" for p in precisions]
        print(f"| {size} | " + " | ".join(cells) + " |", flush=True)
    torch.set_num_threads(THREADS)
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    for size in (320, 512):
        start = time.perf_counter()
        for _ in range(20):
            prepare_image(photo, size)
        print(f"prepare_image, a 640x480 photo to {size}: {(time.perf_counter() - start) / 20 * 1000:.1f} ms")
    print()


# ---------------------------------------------------------------------------------------------------
# Quality


@dataclass(frozen=True)
class Truth:
    named: frozenset[str]  # named by any reference
    surely: frozenset[str]  # named by >= 2 references


def truths(photo_set: PhotoSet) -> list[Truth]:
    return [Truth(frozenset(objects_in_any(p.references)),
                  frozenset(objects_named_by_at_least(p.references, SURELY_IN_VOTES))) for p in photo_set.photos]


def detect_set(photo_set: PhotoSet, size: int, precision: str, cache: Path | None = None,
               batch: int = 8) -> list[list[Detection]]:
    """Every photo's detections (down to the detector's floor), read from `cache` when it holds them."""
    saved = cache / f"{photo_set.name}-{size}-{precision}.json" if cache else None
    if saved is not None and saved.is_file():
        rows = json.loads(saved.read_text())
        return [[Detection(label, score, tuple(box)) for label, score, box in photo] for photo in rows]
    detector = load_detector(torch.device("cpu"), precision, size)
    found: list[list[Detection]] = []
    photos = photo_set.photos
    for start in range(0, len(photos), batch):
        images = []
        for photo in photos[start:start + batch]:
            with Image.open(photo.source) as image:
                images.append(ImageOps.exif_transpose(image).convert("RGB"))
        found += detector.detect(prepare_images(images, size))
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps([[[d.label, d.score, d.box] for d in photo] for photo in found]))
    return found


def best_scores(found: list[Detection]) -> dict[str, float]:
    """Each detected class's best score in one photo."""
    best: dict[str, float] = {}
    for detection in found:
        best[detection.label] = max(best.get(detection.label, 0.0), detection.score)
    return best


def quality_row(found: list[list[Detection]], truth: list[Truth], threshold: float) -> dict[str, float]:
    pairs = correct = surely = recalled = photos_with = top1_absent = top2_absent = 0
    people = people_found = person_alarms = 0
    for detections, known in zip(found, truth, strict=True):
        best = {label: score for label, score in best_scores(detections).items() if score >= threshold}
        pairs += len(best)
        correct += len(best.keys() & known.named)
        surely += len(known.surely)
        recalled += len(known.surely & best.keys())
        ranked = sorted(best, key=best.__getitem__, reverse=True)
        if ranked:
            photos_with += 1
            top1_absent += ranked[0] not in known.named
            top2_absent += any(label not in known.named for label in ranked[:2])
        if "person" in known.surely:
            people += 1
            people_found += "person" in best
        elif "person" in best and "person" not in known.named:
            person_alarms += 1
    return {"pairs": pairs, "precision": correct / max(pairs, 1), "recall": recalled / max(surely, 1),
            "top1": top1_absent / max(photos_with, 1), "top2": top2_absent / max(photos_with, 1),
            "people": people, "people_found": people_found, "alarms": person_alarms}


def per_class(found: list[list[Detection]], truth: list[Truth], thresholds: Sequence[float]) -> None:
    counts = {t: Counter() for t in thresholds}
    right = {t: Counter() for t in thresholds}
    for detections, known in zip(found, truth, strict=True):
        for label, score in best_scores(detections).items():
            for t in thresholds:
                if score >= t:
                    counts[t][label] += 1
                    right[t][label] += label in known.named
    low = thresholds[0]
    print("| class | " + " | ".join(f"photos at {t} | precision at {t}" for t in thresholds) + " |")
    print("|---|" + "---|---|" * len(thresholds))
    for label, _ in counts[low].most_common(PER_CLASS_TOP):
        cells = [f"{counts[t][label]} | {100 * right[t][label] / counts[t][label]:.0f}%"
                 if counts[t][label] else "0 | -" for t in thresholds]
        print(f"| {label} | " + " | ".join(cells) + " |")


def quality(sets: Sequence[str], configs: Sequence[tuple[int, str]], thresholds: Sequence[float],
            per_class_config: tuple[int, str], args: argparse.Namespace) -> None:
    for name in sets:
        photo_set = load_coco_dev(args.coco_dev) if name == "coco-dev" else load_flickr8k_test(args.flickr8k)
        truth = truths(photo_set)
        surely_people = sum("person" in t.surely for t in truth)
        print(f"Quality on {name} ({len(truth)} photos; {surely_people} with a person named by >= 2 references; "
              f"{sum(len(t.surely) for t in truth)} (photo, class) pairs named by >= 2)")
        print("| input | precision | threshold | pairs detected | precision | recall | top-1 absent | top-2 absent "
              "| people found | person false alarms | s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        kept: dict[tuple[int, str], list[list[Detection]]] = {}
        for size, precision in configs:
            start = time.perf_counter()
            found = kept[(size, precision)] = detect_set(photo_set, size, precision, args.cache)
            seconds = time.perf_counter() - start
            for t in thresholds:
                row = quality_row(found, truth, t)
                print(f"| {size} | {precision} | {t} | {row['pairs']} | {100 * row['precision']:.1f}% | "
                      f"{100 * row['recall']:.1f}% | {100 * row['top1']:.1f}% | {100 * row['top2']:.1f}% | "
                      f"{row['people_found']}/{row['people']} | {row['alarms']} | {seconds:.0f} |", flush=True)
        if name == "flickr8k-test" and per_class_config in kept:
            size, precision = per_class_config
            print(f"\nPer class on {name}, input {size}, {precision}: the {PER_CLASS_TOP} classes most often detected")
            per_class(kept[per_class_config], truth, thresholds)
        print()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("speed", "quality", "all"), default="all")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=("fp32", "bf16", "auto"),
                        help="speed: each; quality: each at every size")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    parser.add_argument("--sets", nargs="+", default=["coco-dev", "flickr8k-test"],
                        choices=("coco-dev", "flickr8k-test"))
    parser.add_argument("--per-class", default="512:bf16", help="SIZE:PRECISION of the per-class table")
    parser.add_argument("--seconds", type=float, default=4.0, help="speed: length of one timed run")
    parser.add_argument("--repeats", type=int, default=3, help="speed: timed runs per figure")
    parser.add_argument("--coco-dev", type=Path, default=DEFAULT_COCO_DEV, help="the coco-dev folder")
    parser.add_argument("--flickr8k", type=Path, default=None,
                        help="the Flickr8k folder (default: $PHOTOCAP_DATA or shared/)")
    parser.add_argument("--cache", type=Path, help="keep each run's detections here as JSON, and reuse them")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    if args.part in ("speed", "all"):
        speed(args.sizes, args.precisions, args.seconds, args.repeats)
    if args.part in ("quality", "all"):
        size, precision = args.per_class.split(":")
        configs = [(s, p) for p in args.precisions for s in args.sizes]
        quality(args.sets, configs, args.thresholds, (int(size), precision), args)


if __name__ == "__main__":
    main()

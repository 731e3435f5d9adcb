"""Indexing speed: `photocap index` photos/s against the encoder's own photos/s, on the same images.

    python -m benchmarks.throughput                       # 1,000 Flickr8k test images, batch 32
    python -m benchmarks.throughput --photos 200 --batch-size 16 --workers 1 --model runs/lite0/best.pt

Measurements in one run, on the same photos and batch size:
1. encoder only: the photos are decoded beforehand; only the encoder's forward pass is timed. This is the
   ceiling for any pipeline on this machine (DESIGN.md section 5).
2. detector only (with detection on): the same, for the object detector at its input size; the two models
   together can do at most 1 / (1/encoder + 1/detector) photos/s.
3. the indexing job: `run_index` on a fresh home over a folder of links to the same photos: decoding in
   worker processes, encoder, detector, beam search, catalog and search-index writes. Its photos/s counts the
   captioning stage (model loaded, folder scanned), as `photocap index --json` reports it.
4. with --compare-off, the indexing job again with detection off, on another fresh home.
The ratio of the job to its models is the pipeline's efficiency (issue 3: at least 0.85 of the encoder, before
the detector); issue 18: the whole job at least 25 photos/s with detection, at least 0.40 of the rate without.
Peak memory is the largest resident set of this process and of any decoding process (getrusage).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from photocap.config import Settings
from photocap.indexing.pipeline import run_index
from photocap.media.decode import decode_photo
from photocap.model.captioner import Captioner
from photocap.model.precision import cpu_has_native_bf16
from train.data import data_dir, load_split


def encoder_photos_per_s(captioner: Captioner, paths: list[Path], batch_size: int) -> float:
    pixels = [decode_photo(path).pixels for path in paths]
    captioner.encode(np.stack(pixels[:batch_size]))  # warm-up: first-call allocations
    began = time.perf_counter()
    for start in range(0, len(pixels), batch_size):
        captioner.encode(np.stack(pixels[start : start + batch_size]))
    return len(pixels) / (time.perf_counter() - began)


def detector_photos_per_s(captioner: Captioner, paths: list[Path], batch_size: int) -> float:
    size = captioner.detector_size
    assert size is not None
    pixels = [decode_photo(path, detector_size=size).detector_pixels for path in paths]
    captioner.detect(np.stack(pixels[:batch_size]))  # warm-up
    began = time.perf_counter()
    for start in range(0, len(pixels), batch_size):
        captioner.detect(np.stack(pixels[start : start + batch_size]))
    return len(pixels) / (time.perf_counter() - began)


def peak_rss_mb() -> tuple[float, float]:
    """The largest resident set so far of this process, and of its largest finished child, in MB."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_maxrss / 1024, children.ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the decoding workers): unlike photos/s, it
    hardly moves when other programs share the machine, so it compares two settings on a busy machine."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def link_library(paths: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True)
    for path in paths:
        (folder / path.name).symlink_to(path.resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=Settings().batch_size)
    parser.add_argument("--workers", type=int, default=Settings().workers)
    parser.add_argument("--beam-size", type=int, default=Settings().beam_size)
    parser.add_argument("--model", default=None, help="shipped model name or checkpoint path (default: the default)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="the encoder's number format (default auto, as photocap index runs it)")
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--thumbnails", action="store_true",
                        help="make serve's thumbnails while indexing (the index_thumbnails setting)")
    parser.add_argument("--detector-size", type=int, default=Settings().detector_size,
                        help="the detector's input size (default: photocap's)")
    parser.add_argument("--no-detect", action="store_true", help="index with detection off")
    parser.add_argument("--compare-off", action="store_true",
                        help="also index with detection off, after the run with it on")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    detect = not args.no_detect

    root = data_dir(args.data)
    photos = [p for p in load_split(root) if p.split == "test"][: args.photos]
    paths = [root / "Images" / p.filename for p in photos]

    captioner = Captioner.load(args.model, device="auto", precision=args.precision,
                               detector_size=args.detector_size if detect else None)
    precision = captioner.precision
    encoder_speed = encoder_photos_per_s(captioner, paths, args.batch_size)
    detector_speed = detector_photos_per_s(captioner, paths, args.batch_size) if detect else None
    models_speed = 1 / (1 / encoder_speed + 1 / detector_speed) if detector_speed else encoder_speed
    del captioner

    with tempfile.TemporaryDirectory(prefix="photocap-throughput-") as scratch:
        library = Path(scratch) / "library"
        link_library(paths, library)
        settings = replace(Settings(), home=Path(scratch) / "home", batch_size=args.batch_size,
                           workers=args.workers, beam_size=args.beam_size, model=args.model, follow_symlinks=True,
                           precision=args.precision, index_thumbnails=args.thumbnails, detect=detect,
                           detector_size=args.detector_size)
        cpu_before = cpu_seconds()
        report = run_index(settings, [library])
        index_cpu = cpu_seconds() - cpu_before
        own_mb, child_mb = peak_rss_mb()
        off = None
        if args.compare_off and detect:
            off = run_index(replace(settings, home=Path(scratch) / "home-off", detect=False), [library])
    extra: dict[str, object] = {}
    if detect:
        extra = {"detector_size": args.detector_size, "detector_photos_per_s": round(detector_speed or 0, 2),
                 "models_photos_per_s": round(models_speed, 2),
                 "ratio_to_models": round(report.photos_per_s / models_speed, 3)}
    if off is not None:
        extra |= {"index_off_photos_per_s": round(off.photos_per_s, 2),
                  "on_off_ratio": round(report.photos_per_s / off.photos_per_s, 3)}
    figures = {
        "photos": len(paths), "batch_size": args.batch_size, "workers": args.workers, "beam_size": args.beam_size,
        "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "model": report.model,
        "precision": precision, "cpu_native_bf16": cpu_has_native_bf16(),
        "encoder_photos_per_s": round(encoder_speed, 2), "index_photos_per_s": round(report.photos_per_s, 2),
        "ratio": round(report.photos_per_s / encoder_speed, 3), "index_seconds": round(report.seconds, 2),
        "captioned": report.captioned, "errors": report.errors, "thumbnails": args.thumbnails,
        "index_cpu_ms_per_photo": round(1000 * index_cpu / max(1, len(paths)), 1), "detect": detect,
        **extra, "peak_rss_mb": round(own_mb), "peak_decoder_rss_mb": round(child_mb),
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:22} {value}")
    print("target                 ratio >= 0.85 on CPU")


if __name__ == "__main__":
    main()

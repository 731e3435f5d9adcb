"""What a thumbnail made during indexing costs, per photo, in CPU milliseconds.

    python -m benchmarks.thumbnail_cost                            # 300 Flickr8k test images and coco-dev
    python -m benchmarks.thumbnail_cost --folder ~/Pictures/2024   # any folder of photos

For each set of photos it times, in this one process (CPU time, which other programs on the machine hardly
move; best of --rounds):
- decode: a decoding worker's job for one photo without a thumbnail (photocap.indexing.worker._DecodeJob), the work
  every photo costs anyway;
- with thumbnail: the same job told to write the photo's thumbnail into an empty cache; the difference is
  what the thumbnail costs the indexing run;
- its steps: fitting the decoded image into LONG_SIDE px, the WebP encoding, the file written;
- the driver's share: choosing the photos whose content has no thumbnail yet
  (photocap.indexing.worker.thumbnails_to_make).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PIL import Image

from photocap.catalog.store import Catalog
from photocap.config import Settings
from photocap.indexing.scan import scan_folders
from photocap.indexing.worker import _DecodeJob, thumbnails_to_make
from photocap.media import thumbnails
from photocap.media.decode import decode_photo
from train.data import data_dir, load_split

COCO_DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "coco-dev" / "images"


def cpu_ms_per_item(items: list, job: Callable[[object], object], rounds: int,
                    before_each: Callable[[], None] = lambda: None) -> float:
    best = float("inf")
    for _ in range(rounds):
        before_each()
        began = time.process_time()
        for item in items:
            job(item)
        best = min(best, (time.process_time() - began) / len(items))
    return round(1000 * best, 3)


def costs(paths: list[Path], rounds: int, scratch: Path) -> dict:
    library, home = scratch / "library", scratch / "home"
    library.mkdir()
    for i, path in enumerate(paths):
        (library / f"{i:05d}{path.suffix}").symlink_to(path.resolve())
    settings = replace(Settings(), home=home, follow_symlinks=True)
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [library], follow_symlinks=True)
        work = [(photo.id, photo.path) for photo in catalog.pending_photos([library])]
        driver = cpu_ms_per_item([work], lambda w: thumbnails_to_make(settings, catalog, w), rounds) / len(work)
        places = thumbnails_to_make(settings, catalog, work)
    cache = home / thumbnails.FOLDER
    plain, writing = _DecodeJob(work), _DecodeJob(work, places)
    indices = list(range(len(work)))

    uprights: list[Image.Image] = []
    for path in paths:
        decode_photo(path, preview=lambda image: uprights.append(image.copy()))
    fitted = [thumbnails.fitted(image) for image in uprights]
    encoded = [thumbnails.webp_bytes(image) for image in fitted]
    written = scratch / "written"

    def write(i: int) -> None:
        thumbnails.save_thumbnail_at(written / f"{i % 256:02x}" / f"{i:064x}.webp", encoded[i])

    return {
        "photos": len(paths),
        "decoded_size_example": list(uprights[0].size),
        "thumbnail_size_example": list(fitted[0].size),
        "thumbnail_bytes_mean": round(sum(map(len, encoded)) / len(encoded)),
        "decode_ms": cpu_ms_per_item(indices, plain.__getitem__, rounds),
        "decode_with_thumbnail_ms": cpu_ms_per_item(indices, writing.__getitem__, rounds,
                                                    lambda: shutil.rmtree(cache, ignore_errors=True)),
        "fit_ms": cpu_ms_per_item(uprights, thumbnails.fitted, rounds),
        "webp_ms": cpu_ms_per_item(fitted, thumbnails.webp_bytes, rounds),
        "write_ms": cpu_ms_per_item(indices, write, rounds, lambda: shutil.rmtree(written, ignore_errors=True)),
        "driver_ms": round(driver, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=300, help="Flickr8k test images to use (default 300)")
    parser.add_argument("--folder", type=Path, action="append", default=None,
                        help="a folder of photos to measure instead (repeatable)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    if args.folder:
        sets = {str(folder): sorted(p for p in folder.iterdir() if p.is_file()) for folder in args.folder}
    else:
        root = data_dir(None)
        flickr = [root / "Images" / p.filename for p in load_split(root) if p.split == "test"][: args.photos]
        sets = {"flickr8k": flickr, "coco-dev": sorted(COCO_DEV.glob("*.jpg"))}
    figures = {}
    for name, paths in sets.items():
        with tempfile.TemporaryDirectory(prefix="photocap-thumbnail-cost-") as scratch:
            figures[name] = costs(paths, args.rounds, Path(scratch))
            figures[name]["thumbnail_ms"] = round(
                figures[name]["decode_with_thumbnail_ms"] - figures[name]["decode_ms"], 3)
    if args.json:
        print(json.dumps(figures))
        return
    for name, row in figures.items():
        print(name)
        for key, value in row.items():
            print(f"  {key:26} {value}")


if __name__ == "__main__":
    main()

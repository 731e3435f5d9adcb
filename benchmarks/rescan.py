"""Re-scan of an unchanged library: how long `photocap index` spends finding that nothing changed.

    python benchmarks/rescan.py [--files 10000] [--dir DIR] [--sidecars]

Creates FILES tiny distinct PNG files (8x8, 100 per folder) in DIR (a temporary folder by default; an
existing DIR with the files already there is reused), scans it once into a fresh catalog, then times a
re-scan of the unchanged library twice: the scanner alone, in this process, and the whole `photocap index`
command in a new process (interpreter start, imports, scan, search-index check), run twice: the first also builds
the vector index of similar photos, which the placeholder captioning does not, so the second is the figure. Before
the command runs, the photos are given a placeholder caption, standing in for the captioning run a real library
would have had (minutes of CPU that this benchmark is not about). Targets: re-scan of 10,000 files under 5 s (issue 3),
under 1 s (issue 10).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from photocap.catalog.store import Catalog, PhotoResult
from photocap.indexing.scan import scan_folders
from photocap.metadata.read import WrittenMetadata, read_sidecars
from photocap.model.installed import current_tagger
from photocap.search.index import SearchIndex
from photocap.search.sync import sync_search_index

SIDECAR = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
           "<rdf:li>photo {i}</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>")


def make_library(root: Path, count: int, sidecars: bool = False) -> None:
    for i in range(count):
        path = root / f"folder{i // 100:03}" / f"photo{i:05}.png"
        if sidecars and not path.with_suffix(".png.xmp").exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".png.xmp").write_text(SIDECAR.format(i=i))
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (8, 8), (i % 256, (i // 256) % 256, (i // 65536) % 256))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="library folder (default: a temporary folder)")
    parser.add_argument("--sidecars", action="store_true", help="give every photo an XMP sidecar (photo.png.xmp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="photocap-rescan-") as scratch:
        root = (args.dir or Path(scratch) / "library").absolute()
        started = time.perf_counter()
        make_library(root, args.files, args.sidecars)
        made = time.perf_counter() - started
        home = Path(scratch) / "home"
        with Catalog.open(home) as catalog:
            started = time.perf_counter()
            first = scan_folders(catalog, [root])
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = scan_folders(catalog, [root])
            rescan_s = time.perf_counter() - started
            tagger_id, feature_encoder = current_tagger() or (None, None)
            placeholder_feature = bytes(2 * 1280)  # what a captioning run keeps: the tagger's fp16 feature
            catalog.save_batch_results(PhotoResult(photo_id=photo.id, caption="placeholder caption", score=0.0,
                                                   tagger_id=tagger_id, feature=placeholder_feature,
                                                   feature_encoder=feature_encoder,
                                                   # as a captioning run records what the files say
                                                   written=WrittenMetadata(sidecar_stamp=read_sidecars(photo.path)[1]))
                                       for photo in catalog.pending_photos())
            with SearchIndex.open(home / "index") as index:
                sync_search_index(catalog, index)
        assert again.unchanged == first.new == args.files, (first, again)
        command = [sys.executable, "-m", "photocap.cli", "--home", str(home), "index", str(root), "--json"]
        times, cpu_times = [], []
        for _ in range(2):  # the first also builds what the catalog lacks (the vector index of similar photos)
            started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            run = subprocess.run(command, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_times.append(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
            summary = json.loads(run.stdout)
            assert (summary["unchanged"], summary["captioned"]) == (args.files, 0), summary
        first_command_s, command_s = times
        print(f"files            {args.files}")
        print(f"create files s   {made:.2f}")
        print(f"first scan s     {first_s:.2f}  ({args.files / first_s:.0f} files/s: stat, sniff, hash, insert)")
        print(f"rescan s         {rescan_s:.2f}  ({args.files / rescan_s:.0f} files/s: stat only, the scanner alone)")
        print(f"photocap index s {command_s:.2f}  (the whole command, process start included; {cpu_times[1]:.2f} s CPU)"
              "  target < 5 s")
        print(f"  first command  {first_command_s:.2f}  (the first `index` also builds the vector index)")
        print(f"cpus             {os.cpu_count()}")


if __name__ == "__main__":
    main()

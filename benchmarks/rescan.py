"""Re-scan of an unchanged library: how long `photocap index` spends finding that nothing changed.

    python benchmarks/rescan.py [--files 10000] [--dir DIR]

Creates FILES tiny distinct PNG files (8x8, 100 per folder) in DIR (a temporary folder by default; an
existing DIR with the files already there is reused), scans it once into a fresh catalog, then times a
re-scan of the unchanged library. Target (issue 3): re-scan of 10,000 files under 5 s.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from photocap.catalog import Catalog
from photocap.scan import scan_folders


def make_library(root: Path, count: int) -> None:
    for i in range(count):
        path = root / f"folder{i // 100:03}" / f"photo{i:05}.png"
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="photocap-rescan-") as scratch:
        root = (args.dir or Path(scratch) / "library").absolute()
        started = time.perf_counter()
        make_library(root, args.files)
        made = time.perf_counter() - started
        with Catalog(Path(scratch) / "home" / "catalog.db") as catalog:
            started = time.perf_counter()
            first = scan_folders(catalog, [root])
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            again = scan_folders(catalog, [root])
            rescan_s = time.perf_counter() - started
        assert again.unchanged == first.new == args.files, (first, again)
        print(f"files            {args.files}")
        print(f"create files s   {made:.2f}")
        print(f"first scan s     {first_s:.2f}  ({args.files / first_s:.0f} files/s: stat, sniff, hash, insert)")
        print(f"rescan s         {rescan_s:.2f}  ({args.files / rescan_s:.0f} files/s: stat only)  target < 5 s")
        print(f"cpus             {os.cpu_count()}")


if __name__ == "__main__":
    main()

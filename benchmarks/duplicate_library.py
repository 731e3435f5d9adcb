"""The test library of issue 21's duplicates benchmark: 1,000 Flickr8k test photos and the 80 coco-dev photos, plus
seven altered copies of 300 of them, with the truth (which files are the same picture) in truth.json.

    python -m benchmarks.duplicate_library --dir /tmp/dup-bench        # builds DIR/library and DIR/truth.json

Altered copies (one folder each, same file stem as the original): resized to 50% and re-encoded (JPEG quality
85); JPEG quality 40; cropped 8% on each side; brightness +15%; HEIC; PNG; EXIF stripped (the APP1/APP13
segments cut out of the JPEG's bytes, pixels untouched). Used by benchmarks/duplicates.py, which indexes it.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance

from train.data import data_dir

COCO_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "coco-dev" / "images"
ALTERED = 300
SEED = 21


def flickr_test_names(flickr: Path) -> list[str]:
    data = json.loads((flickr / "dataset_flickr8k.json").read_text())
    return sorted(image["filename"] for image in data["images"] if image["split"] == "test")


def strip_metadata_segments(jpeg: bytes) -> bytes:
    """The JPEG without its APP1 (EXIF, XMP) and APP13 (IPTC) segments; the compressed pixels are untouched."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out, position = bytearray(jpeg[:2]), 2
    while position + 4 <= len(jpeg) and jpeg[position] == 0xFF:
        marker = jpeg[position + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        (length,) = struct.unpack(">H", jpeg[position + 2:position + 4])
        if marker not in (0xE1, 0xED):
            out += jpeg[position:position + 2 + length]
        position += 2 + length
    return bytes(out + jpeg[position:])


def _saved(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def _crop(image: Image.Image) -> Image.Image:
    dx, dy = round(image.width * 0.08), round(image.height * 0.08)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


ALTERATIONS: dict[str, tuple[str, Callable[[Image.Image, bytes], bytes]]] = {
    "half": (".jpg", lambda im, raw: _saved(im.resize((im.width // 2, im.height // 2), Image.LANCZOS), format="JPEG",
                                            quality=85)),
    "q40": (".jpg", lambda im, raw: _saved(im, format="JPEG", quality=40)),
    "crop8": (".jpg", lambda im, raw: _saved(_crop(im), format="JPEG", quality=90)),
    "bright15": (".jpg", lambda im, raw: _saved(ImageEnhance.Brightness(im).enhance(1.15), format="JPEG", quality=90)),
    "heic": (".heic", lambda im, raw: _saved(im, format="HEIF", quality=80)),
    "png": (".png", lambda im, raw: _saved(im, format="PNG")),
    "noexif": (".jpg", lambda im, raw: strip_metadata_segments(raw)),
}


def build(root: Path, flickr: Path) -> dict:
    """DIR/library and DIR/truth.json: {"groups": [[original, copy, ...], ...], "originals": [...]} (paths)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    library = root / "library"
    if (root / "truth.json").is_file():
        return json.loads((root / "truth.json").read_text())
    originals: list[Path] = []
    for folder, names, source in (("flickr8k", flickr_test_names(flickr), flickr / "Images"),
                                  ("coco", sorted(p.name for p in COCO_DEV.glob("*.jpg")), COCO_DEV)):
        (library / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy2(source / name, library / folder / name)
            originals.append(library / folder / name)
    chosen = random.Random(SEED).sample(originals, ALTERED)
    groups = []
    for original in chosen:
        raw = original.read_bytes()
        with Image.open(original) as opened:
            image = opened.convert("RGB")
        group = [str(original)]
        for kind, (suffix, alter) in ALTERATIONS.items():
            target = library / "altered" / kind / f"{original.parent.name}-{original.stem}{suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(alter(image, raw))
            group.append(str(target))
        groups.append(group)
    truth = {"originals": [str(path) for path in originals], "groups": groups, "alterations": list(ALTERATIONS)}
    (root / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/dup-bench"))
    parser.add_argument("--flickr8k", type=Path, default=None)
    args = parser.parse_args()
    truth = build(args.dir.absolute(), data_dir(args.flickr8k))
    print(f"{len(truth['originals'])} originals, {len(truth['groups'])} altered x {len(truth['alterations'])}")


if __name__ == "__main__":
    main()

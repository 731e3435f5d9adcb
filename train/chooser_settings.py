"""Choose the caption chooser's settings with the detector: caption quality and invented objects per setting.

    python -m train.chooser_settings                                     # Flickr8k val, the shipped settings
    python -m train.chooser_settings --vary object_absent_below=0.1,0.2,0.3 --vary count_above=0.4,0.5
    python -m train.chooser_settings --set coco-dev --vary tagger_weight_on_objects=0.3,0.45
    python -m train.chooser_settings --model runs/grounded/best.pt                # another decoder, same cache

Each photo is decoded once as `photocap index` decodes it (the encoder's 224 px and the detector's size), and its
feature grid, the tagger's pooled feature and the detector's findings are cached (PHOTOCAP_CACHE/chooser/); each
setting then re-runs only the beam searches and the chooser. For every combination of the --vary values (the
other settings as shipped, photocap.model.chooser.ChooserSettings) it prints BLEU-4 and CIDEr-D against the
references, CHAIR_s (captions naming a COCO object no reference names) and object recall (objects >= 2 references
name that the caption names), as benchmarks.everyday counts them, and how the captions were chosen.
Tune on Flickr8k val; coco-dev (80 photos) is a check, too small to tune on.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from benchmarks.everyday import caption_quality, chair_and_recall
from photocap.config import Settings
from photocap.media.decode import decode_photo
from photocap.model.captioner import Captioner
from photocap.model.chooser import CaptionChooser, ChooserSettings
from photocap.model.detector import Detection
from train.data import data_dir
from train.features import DEFAULT_CACHE
from train.tag_thresholds import DEFAULT_COCO, Photos, coco_dev, flickr_val

BATCH = 50


def evidence_of(photos: Photos, captioner: Captioner, cache: Path) -> tuple[torch.Tensor, list[list[Detection]]]:
    """Feature grids (N, cells, C) and the detector's findings of `photos`, cached per set, models and size."""
    assert captioner.detector is not None
    key = f"{photos.name}-{captioner.checkpoint.encoder_sha256[:12]}-{captioner.detector_id}-{captioner.detector_size}"
    grid_path, found_path = cache / "chooser" / f"{key}-grid.npy", cache / "chooser" / f"{key}-detections.json"
    if grid_path.exists() and found_path.exists():
        found = [[Detection(label, score, tuple(box)) for label, score, box in photo]
                 for photo in json.loads(found_path.read_text())]
        return torch.from_numpy(np.load(grid_path)).float(), found
    grids, found = [], []
    for start in range(0, len(photos.paths), BATCH):
        files = photos.paths[start:start + BATCH]
        decoded = [decode_photo(file, detector_size=captioner.detector_size) for file in files]
        grids.append(captioner.encode(np.stack([d.pixels for d in decoded])).half())
        found += captioner.detect(np.stack([d.detector_pixels for d in decoded]))
        print(f"\r{photos.name}: {start + len(decoded)}/{len(photos.paths)} photos encoded", end="", file=sys.stderr)
    print(file=sys.stderr)
    grid_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(grid_path, torch.cat(grids).numpy())
    found_path.write_text(json.dumps([[(d.label, d.score, d.box) for d in photo] for photo in found]))
    return torch.cat(grids).float(), found


def measure(captioner: Captioner, settings: ChooserSettings, photos: Photos, grid: torch.Tensor,
            found: list[list[Detection]], beam_size: int) -> dict[str, float]:
    captioner.chooser = CaptionChooser(settings=settings)
    captions, methods = [], Counter[str]()
    for start in range(0, len(photos.paths), BATCH):
        for caption in captioner.describe(grid[start:start + BATCH], beam_size, None, found[start:start + BATCH]):
            captions.append(caption.text)
            methods[caption.method] += 1
    names = [str(index) for index in range(len(captions))]
    figures = caption_quality(dict(zip(names, captions, strict=True)),
                              dict(zip(names, photos.references, strict=True)))
    figures |= chair_and_recall(captions, photos.references).figures
    figures |= {f"{method} %": 100 * count / len(captions) for method, count in methods.items()}
    return figures


def variations(vary: list[str]) -> list[dict[str, float]]:
    names, values = [], []
    for item in vary:
        name, _, listed = item.partition("=")
        if name not in {f.name for f in dataclasses.fields(ChooserSettings)}:
            raise SystemExit(f"no chooser setting {name!r}")
        names.append(name)
        values.append([float(value) for value in listed.split(",")])
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*values)] or [{}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("flickr8k-val", "coco-dev"), default="flickr8k-val")
    parser.add_argument("--vary", action="append", default=[], metavar="SETTING=V1,V2,...")
    parser.add_argument("--model", default=None, help="a checkpoint file or shipped model (default: the shipped one)")
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--detector-size", type=int, default=Settings().detector_size)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    photos = flickr_val(data_dir(None)) if args.set == "flickr8k-val" else coco_dev(DEFAULT_COCO)
    captioner = Captioner.load(args.model, detector_size=args.detector_size)
    grid, found = evidence_of(photos, captioner, args.cache)
    columns = ("BLEU-4", "CIDEr-D", "CHAIR_s", "object_recall", "beam %", "grounded %", "guided %", "replaced %",
               "tags %")
    print(f"{photos.name}, {len(photos.paths)} photos, detector at {args.detector_size} px, beam {args.beam_size}")
    print(" | ".join(("setting", *columns)))
    for changed in variations(args.vary):
        figures = measure(captioner, dataclasses.replace(ChooserSettings(), **changed), photos, grid, found,
                          args.beam_size)
        label = ", ".join(f"{name}={value:g}" for name, value in changed.items()) or "shipped"
        print(" | ".join((label, *(f"{figures.get(column, 0.0):.3f}" if column == "CIDEr-D"
                                  else f"{figures.get(column, 0.0):.1f}" for column in columns))), flush=True)


if __name__ == "__main__":
    main()

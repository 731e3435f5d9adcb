"""How well the caption chooser's evidence for people tells photos with people from photos without, with the
detector: figures for choosing ChooserSettings.tagger_weight_on_people (photocap.model.chooser.with_detections).

    python -m train.person_evidence                      # Flickr8k val split and ../shared/data/coco-dev

People's evidence is max(the detector's best person score, weight x the tagger's chance of people); a caption
may name people when it reaches person_absent_below. A photo *has people* when at least two of its reference
captions name a person, and *has none* when none does (benchmarks.coco_objects reads them). For each weight:
the share of photos with people that may be said to have them (kept), and of photos without that may (invented).
Pooled features are cached as train.tag_thresholds caches them; the detector's scores beside them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks.coco_objects import objects_in
from photocap.config import Settings
from photocap.media.decode import decode_photo
from photocap.model.captioner import Captioner
from photocap.model.chooser import PERSON, ChooserSettings
from train.data import data_dir
from train.features import DEFAULT_CACHE
from train.tag_thresholds import DEFAULT_COCO, Photos, coco_dev, flickr_val, pooled_features

WEIGHTS = (0.0, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 1.0)


def person_scores(photos: Photos, captioner: Captioner, cache: Path, batch_size: int) -> np.ndarray:
    """Each photo's best person score from the detector, cached per data set, detector and input size."""
    assert captioner.detector is not None and captioner.detector_size is not None
    path = cache / "tags" / f"{photos.name}-{captioner.detector_id}-{captioner.detector_size}-person.npy"
    if path.exists():
        return np.load(path)
    scores = []
    for start in range(0, len(photos.paths), batch_size):
        batch = [decode_photo(file, detector_size=captioner.detector_size).detector_pixels
                 for file in photos.paths[start : start + batch_size]]
        for found in captioner.detect(np.stack(batch)):
            scores.append(max((d.score for d in found if d.label == PERSON), default=0.0))
        print(f"\r{photos.name}: {start + len(batch)}/{len(photos.paths)} photos detected", end="", file=sys.stderr)
    print(file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array(scores))
    return np.array(scores)


def report(photos: Photos, detector: np.ndarray, tagger: np.ndarray, floor: float) -> None:
    votes = np.array([sum(PERSON in objects_in(caption) for caption in references)
                      for references in photos.references])
    with_people, without = votes >= 2, votes == 0
    print(f"\n{photos.name}: {with_people.sum()} photos with people, {without.sum()} without "
          f"(a caption may name people from {floor})")
    print("  evidence                         kept (with people)   invented (without)")
    rows = [("tagger alone", tagger)] + [(f"detector, tagger x {w:g}", np.maximum(detector, w * tagger))
                                         for w in WEIGHTS]
    for name, evidence in rows:
        allowed = evidence >= floor
        kept = allowed[with_people].mean() * 100
        invented = allowed[without].mean() * 100 if without.any() else float("nan")
        print(f"  {name:32} {kept:16.1f}%   {invented:16.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--coco-dev", type=Path, default=DEFAULT_COCO)
    parser.add_argument("--detector-size", type=int, default=Settings().detector_size)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    captioner = Captioner.load(detector_size=args.detector_size)
    assert captioner.tagger is not None
    floor = ChooserSettings().person_absent_below
    for photos in (flickr_val(data_dir(args.data)), coco_dev(args.coco_dev)):
        pooled = pooled_features(photos, captioner, args.cache, args.batch_size)
        _tags, evidence = captioner.tagger.tags_and_evidence(pooled)
        tagger = np.array([e.person for e in evidence])
        detector = person_scores(photos, captioner, args.cache, args.batch_size)
        with torch.inference_mode():
            report(photos, detector, tagger, floor)


if __name__ == "__main__":
    main()

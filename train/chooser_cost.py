"""What the caption chooser costs and buys, by how it chose: the figures if the beam's first caption were kept
for the photos of one method, the others as chosen.

    python -m train.chooser_cost                                   # Flickr8k val
    python -m train.chooser_cost --set coco-dev --model efficientnet_lite0
    python -m train.chooser_cost --describer-min-score 0.4,0.5,0.6  # the describer told only surer objects

Uses train.chooser_settings' cache (the feature grids and detections of each photo, as `photocap index` decodes
it). For each method ("beam" here means a beam candidate other than the first may have been kept) it prints how
many photos it chose, how often their first beam caption and their chosen caption name an object no reference
names (CHAIR_s of those photos), and BLEU-4, CIDEr-D, CHAIR_s and object recall of the whole set with those photos'
first beam captions put back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import photocap.model.describer as describer_module
from benchmarks.everyday import caption_quality, chair_and_recall
from photocap.config import Settings
from photocap.model.captioner import Captioner
from train.chooser_settings import BATCH, evidence_of
from train.data import data_dir
from train.features import DEFAULT_CACHE
from train.tag_thresholds import DEFAULT_COCO, Photos, coco_dev, flickr_val


def figures(captions: list[str], photos: Photos) -> str:
    names = [str(index) for index in range(len(captions))]
    quality = caption_quality(dict(zip(names, captions, strict=True)), dict(zip(names, photos.references,
                                                                               strict=True)))
    chair = chair_and_recall(captions, photos.references).figures
    return (f"BLEU-4 {quality['BLEU-4']:.1f}, CIDEr-D {quality['CIDEr-D']:.3f}, CHAIR_s {chair['CHAIR_s']:.1f}, "
            f"object recall {chair['object_recall']:.1f}")


def chair_of(captions: list[str], references: list[tuple[str, ...]]) -> float:
    return chair_and_recall(captions, references).figures["CHAIR_s"] if captions else 0.0


def report(captioner: Captioner, photos: Photos, cache: Path, beam_size: int) -> None:
    grid, found = evidence_of(photos, captioner, cache)
    chosen: list[str] = []
    first: list[str] = []
    methods: list[str] = []
    for start in range(0, len(photos.paths), BATCH):
        drafts = captioner.draft(grid[start:start + BATCH], beam_size, None, found[start:start + BATCH])
        first += [draft.candidates[0][0] for draft in drafts]
        for caption in captioner.finish(drafts, beam_size):
            chosen.append(caption.text)
            methods.append(caption.method)
    print(f"  as chosen: {figures(chosen, photos)}")
    print(f"  the first beam caption everywhere: {figures(first, photos)}")
    for method in sorted(set(methods)):
        rows = [index for index, used in enumerate(methods) if used == method]
        references = [photos.references[index] for index in rows]
        put_back = [first[index] if used == method else text
                    for index, (text, used) in enumerate(zip(chosen, methods, strict=True))]
        print(f"  {method}: {len(rows)} photos; CHAIR_s of their first beam captions "
              f"{chair_of([first[i] for i in rows], references):.1f}, of the chosen "
              f"{chair_of([chosen[i] for i in rows], references):.1f}; first beam caption put back: "
              f"{figures(put_back, photos)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("flickr8k-val", "coco-dev"), default="flickr8k-val")
    parser.add_argument("--model", default=None, help="a checkpoint file or shipped model (default: the shipped one)")
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--describer-min-score", default=str(describer_module.OBJECT_TAG_MIN_SCORE),
                        help="comma-separated: the detection score from which the describer is told an object")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    photos = flickr_val(data_dir(None)) if args.set == "flickr8k-val" else coco_dev(DEFAULT_COCO)
    captioner = Captioner.load(args.model, detector_size=Settings().detector_size)
    for floor in (float(value) for value in args.describer_min_score.split(",")):
        describer_module.OBJECT_TAG_MIN_SCORE = floor  # read at each call of Describer.candidates
        print(f"{photos.name}, {len(photos.paths)} photos, beam {args.beam_size}, describer from {floor:g}")
        report(captioner, photos, args.cache, args.beam_size)


if __name__ == "__main__":
    main()

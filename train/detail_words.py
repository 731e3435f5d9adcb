"""How often the colours and clothes captions name are right, by what the likely-words head gives them.

    python -m train.detail_words                   # Flickr8k val (choose the threshold here)
    python -m train.detail_words --set coco-dev    # a check on everyday photos

For every colour or garment word (photocap.model.details) in the captioner's plain beam captions, the word's
probability under the likely-words head (photocap's evidence for it) and whether a reference caption of the
photo uses the word too. Prints, per probability band, how many such words there are and the share a reference
confirms, and for each threshold the share of right and of wrong details it would drop. Grids come from
train.chooser_settings' cache.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from photocap.config import Settings
from photocap.model.beam import beam_search
from photocap.model.captioner import Captioner
from photocap.model.details import detail_words
from photocap.model.vocab import tokenize
from train.chooser_settings import evidence_of
from train.data import data_dir
from train.features import DEFAULT_CACHE
from train.tag_thresholds import DEFAULT_COCO, coco_dev, flickr_val

BANDS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 1.01)
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("flickr8k-val", "coco-dev"), default="flickr8k-val")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    photos = flickr_val(data_dir(None)) if args.set == "flickr8k-val" else coco_dev(DEFAULT_COCO)
    captioner = Captioner.load(detector_size=Settings().detector_size, device="cpu")
    grid, _found = evidence_of(photos, captioner, args.cache)
    vocab, decoder, concepts = captioner.checkpoint.vocab, captioner.decoder, captioner.checkpoint.concepts
    column = {word: index for index, word in enumerate(concepts)}
    details: list[tuple[float, bool]] = []
    for start in range(0, len(photos.paths), 50):
        chunk = grid[start:start + 50]
        with torch.inference_mode():
            probabilities = decoder.concept_probabilities(chunk)
            captions = [vocab.decode(h.tokens) for h in beam_search(decoder, chunk, vocab, 3)]
        for row, caption in enumerate(captions):
            referenced = {word for reference in photos.references[start + row] for word in tokenize(reference)}
            for word in detail_words(caption):
                p = float(probabilities[row, column[word]]) if word in column else 0.0
                details.append((p, word in referenced))
    print(f"{photos.name}: {len(details)} colour and garment words in {len(photos.paths)} plain beam captions, "
          f"{sum(right for _, right in details) / max(1, len(details)):.1%} confirmed by a reference")
    print("band | words | confirmed")
    for low, high in zip(BANDS, BANDS[1:], strict=False):
        inside = [right for p, right in details if low <= p < high]
        print(f"{low:.2f}-{min(high, 1):.2f} | {len(inside)} | {sum(inside) / max(1, len(inside)):.1%}")
    right_total = sum(right for _, right in details)
    wrong_total = len(details) - right_total
    print("threshold | right details dropped | wrong details dropped")
    for threshold in THRESHOLDS:
        right = sum(1 for p, ok in details if ok and p < threshold)
        wrong = sum(1 for p, ok in details if not ok and p < threshold)
        print(f"{threshold:.2f} | {right}/{right_total} ({right / max(1, right_total):.0%}) | "
              f"{wrong}/{wrong_total} ({wrong / max(1, wrong_total):.0%})")


if __name__ == "__main__":
    main()

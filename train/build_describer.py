"""Build the consensus describer (photocap/assets/describer.json) from 24,619 everyday COCO captions.

    python -m train.build_describer

Each caption's objects and counts (train.text_objects: "two giraffes next to a tree" -> giraffe x2) are its
signature. For every signature that at least MIN_CAPTIONS captions share, the describer keeps the KEPT captions
that agree most with the others of their signature (consensus re-ranking, Devlin et al. 2015: the mean
similarity of a caption's word unigrams and bigrams to the others'), shortest first among equals. A photo's
detections then select a signature (photocap.model.describer), and its captions are the describer's candidates,
which the caption chooser checks like any other.

The captions are COCO's (CC BY 4.0, COCO Consortium); no Flickr8k caption is kept (research use only).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from benchmarks.coco_objects import COCO_TEXT_CAPTIONS
from photocap.model.describer import DESCRIBER_FILE, signature_key
from photocap.model.details import COLOURS, GARMENTS
from photocap.model.object_input import COUNT_CAP
from photocap.model.vocab import tokenize
from train.text_objects import counts_in

GUESSED = frozenset({
    "man", "men", "woman", "women", "boy", "boys", "girl", "girls", "lady", "guy", "young", "old", "little", "baby",
    "child", "children", "kid", "kids", "his", "her", "he", "she", "mother", "father", "elderly", "teenage",
})
GUESS_PENALTY = 0.05
MIN_CAPTIONS = 3
KEPT = 5
MAX_WORDS = 14
ASSETS = Path(__file__).resolve().parents[1] / "photocap" / "assets"


def grams(words: list[str]) -> set[tuple[str, ...]]:
    return {(w,) for w in words} | set(zip(words, words[1:], strict=False))


def similarity(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / max(1, len(a | b))


def guesses(words: list[str]) -> int:
    """Details a caption could only guess without the photo: who the people are, colours and clothes."""
    return sum(word in GUESSED or word in COLOURS or word in GARMENTS for word in words)


def consensus(captions: list[str]) -> list[str]:
    """`captions` best first by their mean similarity to the others, less GUESS_PENALTY for each detail it
    guesses (ties: the shorter first)."""
    grams_of = [grams(tokenize(c)) for c in captions]
    scored = []
    for i, caption in enumerate(captions):
        others = [similarity(grams_of[i], g) for j, g in enumerate(grams_of) if j != i]
        merit = sum(others) / max(1, len(others)) - GUESS_PENALTY * guesses(caption.split())
        scored.append((-merit, len(caption.split()), caption))
    return [caption for *_, caption in sorted(scored)]


def build(path: Path = COCO_TEXT_CAPTIONS) -> dict[str, list[str]]:
    document = json.loads(path.read_text())
    by_signature: dict[str, list[str]] = defaultdict(list)
    for annotation in document["annotations"]:
        caption = " ".join(tokenize(annotation["caption"]))
        if not caption or len(caption.split()) > MAX_WORDS:
            continue
        counts = counts_in(caption)
        if not counts:
            continue
        by_signature[signature_key({label: min(count, COUNT_CAP) for label, count in counts.items()})].append(caption)
    return {key: consensus(sorted(set(captions)))[:KEPT] for key, captions in sorted(by_signature.items())
            if len(captions) >= MIN_CAPTIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ASSETS / DESCRIBER_FILE)
    args = parser.parse_args()
    table = build()
    args.out.write_text(json.dumps({"source": "COCO 2017 val captions (CC BY 4.0, COCO Consortium), text only",
                                    "signatures": table}, indent=0, sort_keys=True) + "\n")
    print(f"{len(table)} signatures, {sum(len(v) for v in table.values())} captions -> {args.out}")


if __name__ == "__main__":
    main()

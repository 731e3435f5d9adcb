"""How many tags, and how right, at each tag-probability threshold: figures for choosing TAG_MIN_PROBABILITY.

    python -m train.tag_thresholds                       # Flickr8k val split and ../shared/data/coco-dev
    python -m train.tag_thresholds --fp-threshold 0.2    # list false positives and misses at another threshold

Photos are read as indexing reads them (photocap.media.decode.decode_photo, Captioner.encode, the mean of the grid);
the pooled features are cached in $PHOTOCAP_CACHE (default ~/.cache/photocap)/tags/, so reruns take seconds.

A tag counts as correct when one of the photo's reference captions contains its word or one of its synonyms
(lower-cased word tokens, plurals forgiven). Recall is over the tags the references mention. Hypernyms (animal,
food, vehicle) are rarely in a caption, so the figures are given over all tags, over leaf-ish tags (the tag of
an ImageNet class, such as "golden retriever" or "pizza", possibly merged with its hypernym, such as "horse"),
and, as "hier.", counting a tag as correct when the references mention it, a tag below it (animal: "a dog") or
a tag above it (Indian elephant: "an elephant"). Recall counts a mentioned tag when it is predicted itself.
At most TAGS_KEPT tags a photo are counted, as indexing keeps. A few tag words are not looked for in the
references (IGNORED_IN_REFERENCES: "orange", the colour). Then the most frequent false positives and misses at
--fp-threshold (default TAG_MIN_PROBABILITY) are listed, with an example caption.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from photocap.media.decode import PhotoDecodeError, decode_photo
from photocap.model.captioner import Captioner
from photocap.model.tag_vocabulary import TAG_MIN_PROBABILITY, TAGS_KEPT, singular_forms
from photocap.model.tags import Tagger
from photocap.model.vocab import tokenize
from train.data import data_dir, load_split
from train.features import DEFAULT_CACHE

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
# Tag words whose usual sense in a caption is another: "an orange shirt", "a dog flies through the air",
# "people watch", "fans cheer", "light blue".
IGNORED_IN_REFERENCES = frozenset({"orange", "fly", "light", "watch", "drink", "fan"})
DEFAULT_COCO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "coco-dev"


@dataclass
class Photos:
    name: str
    paths: list[Path]
    references: list[list[str]]  # raw reference captions per photo


def flickr_split(root: Path, split: str) -> Photos:
    """The photos of one Karpathy split ("val", "test") with their references."""
    photos = [p for p in load_split(root) if p.split == split]
    return Photos(f"flickr8k-{split}", [root / "Images" / p.filename for p in photos], [list(p.raw) for p in photos])


def flickr_val(root: Path) -> Photos:
    return flickr_split(root, "val")


def coco_dev(root: Path) -> Photos:
    document = json.loads((root / "captions.json").read_text())
    captions: dict[int, list[str]] = defaultdict(list)
    for annotation in document["annotations"]:
        captions[annotation["image_id"]].append(annotation["caption"])
    images = sorted(document["images"], key=lambda image: image["file_name"])
    return Photos("coco-dev", [root / "images" / image["file_name"] for image in images],
                  [captions[image["id"]] for image in images])


def pooled_features(photos: Photos, captioner: Captioner, cache: Path, batch_size: int) -> torch.Tensor:
    """(photos, 1280) mean feature of each photo's grid, cached per data set and encoder weights."""
    path = cache / "tags" / f"{photos.name}-{captioner.encoder.weights_sha256[:12]}.npz"
    names = np.array([str(p) for p in photos.paths])
    if path.exists():
        stored = np.load(path)
        if np.array_equal(stored["paths"], names):
            return torch.from_numpy(stored["pooled"])
    rows = []
    for start in range(0, len(photos.paths), batch_size):
        batch = []
        for file in photos.paths[start : start + batch_size]:
            try:
                batch.append(decode_photo(file).pixels)
            except PhotoDecodeError as error:
                raise SystemExit(f"{file}: {error}") from None
        rows.append(captioner.encode(np.stack(batch)).mean(dim=1).cpu())
        print(f"\r{photos.name}: {start + len(batch)}/{len(photos.paths)} photos encoded", end="", file=sys.stderr)
    print(file=sys.stderr)
    pooled = torch.cat(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, pooled=pooled.numpy(), paths=names)
    return pooled


class Mentions:
    """Finds the tags whose word or a synonym a caption contains (lower-cased word tokens, plurals forgiven)."""

    def __init__(self, tagger: Tagger, ignored: frozenset[str] = frozenset()):
        self.phrases: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for index, entry in enumerate(tagger.map.entries):
            for word in (entry.word, *entry.synonyms):
                if word.casefold() not in ignored and (tokens := tuple(tokenize(word))):
                    self.phrases[tokens].add(index)
        self.longest = max(map(len, self.phrases))

    def __call__(self, captions: list[str]) -> set[int]:
        found: set[int] = set()
        for caption in captions:
            # a token that is a tag word itself is not also read as a plural ("glasses" is not two "glass")
            forms = [[token] if (token,) in self.phrases else singular_forms(token) for token in tokenize(caption)]
            for start in range(len(forms)):
                grams: list[tuple[str, ...]] = [()]
                for token_forms in forms[start : start + self.longest]:
                    grams = [(*gram, form) for gram in grams for form in token_forms]
                    for gram in grams:
                        found |= self.phrases.get(gram, set())
        return found


def related(tagger: Tagger) -> list[set[int]]:
    """For each tag: itself, every tag below it and every tag above it."""
    entries = tagger.map.entries
    children: dict[int, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        for parent in entry.parents:
            children[parent].append(index)

    def walk(index: int, step: Callable[[int], Iterable[int]]) -> set[int]:
        seen, todo = {index}, [index]
        while todo:
            for other in step(todo.pop()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    return [walk(i, children.__getitem__) | walk(i, lambda j: entries[j].parents) for i in range(len(entries))]


def report(photos: Photos, probabilities: torch.Tensor, tagger: Tagger, fp_threshold: float, top: int) -> None:
    leafish = set(tagger.map.class_tags)
    near = related(tagger)
    mentions = Mentions(tagger, IGNORED_IN_REFERENCES)
    mentioned = [mentions(refs) for refs in photos.references]
    per_photo = sum(map(len, mentioned)) / len(mentioned)
    per_photo_leaf = sum(len(m & leafish) for m in mentioned) / len(mentioned)
    print(f"\n{photos.name}: {len(photos.paths)} photos; their references mention {per_photo:.2f} tags a photo "
          f"({per_photo_leaf:.2f} leaf-ish)")
    print(f"{'threshold':>9} {'tags/photo':>10} {'>=1 tag':>8} | {'all: prec':>9} {'recall':>6} {'hier.':>6} | "
          f"{'leaf-ish: prec':>14} {'recall':>6} {'hier.':>6}")
    order = probabilities.argsort(dim=1, descending=True)[:, :TAGS_KEPT].tolist()
    for threshold in THRESHOLDS:
        counts = Counter()
        for row, (ranked, refs) in enumerate(zip(order, mentioned, strict=True)):
            predicted = {i for i in ranked if probabilities[row, i] >= threshold}
            counts["predicted"] += len(predicted)
            counts["any"] += bool(predicted)
            counts["hit"] += len(predicted & refs)
            counts["ref"] += len(refs)
            counts["leaf predicted"] += len(predicted & leafish)
            counts["leaf hit"] += len(predicted & refs & leafish)
            counts["leaf ref"] += len(refs & leafish)
            counts["hier hit"] += sum(1 for i in predicted if near[i] & refs)
            counts["leaf hier hit"] += sum(1 for i in predicted & leafish if near[i] & refs)
        n = len(order)
        print(f"{threshold:>9.2f} {counts['predicted'] / n:>10.2f} {counts['any'] / n:>8.0%} | "
              f"{_ratio(counts['hit'], counts['predicted']):>9} {_ratio(counts['hit'], counts['ref']):>6} "
              f"{_ratio(counts['hier hit'], counts['predicted']):>6} | "
              f"{_ratio(counts['leaf hit'], counts['leaf predicted']):>14} "
              f"{_ratio(counts['leaf hit'], counts['leaf ref']):>6} "
              f"{_ratio(counts['leaf hier hit'], counts['leaf predicted']):>6}")

    false_positives: Counter[int] = Counter()
    any_level: Counter[int] = Counter()
    misses: Counter[int] = Counter()
    example: dict[int, str] = {}
    for row, (ranked, refs) in enumerate(zip(order, mentioned, strict=True)):
        predicted = {i for i in ranked if probabilities[row, i] >= fp_threshold}
        for i in predicted:
            if not near[i] & refs:
                any_level[i] += 1
                false_positives[i] += i in leafish
                example.setdefault(i, f"{photos.paths[row].name}: {photos.references[row][0].strip()}")
        for i in refs & leafish:
            if i not in predicted:
                misses[i] += 1
    entries = tagger.map.entries
    print(f"top leaf-ish false positives at {fp_threshold} (no reference names the tag, a tag below or above it):")
    for i, count in (+false_positives).most_common(top):
        print(f"  {count:>4}  {entries[i].word:<22} e.g. {example[i][:90]}")
    print(f"top false positives among all tags at {fp_threshold}:")
    print("  " + ", ".join(f"{entries[i].word} {count}" for i, count in any_level.most_common(top)))
    print(f"top leaf-ish misses at {fp_threshold} (named by a reference, not predicted):")
    print("  " + ", ".join(f"{entries[i].word} {count}" for i, count in misses.most_common(top)))


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.1%}" if denominator else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--coco", type=Path, default=DEFAULT_COCO, help="coco-dev folder (captions.json, images/)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--fp-threshold", type=float, default=TAG_MIN_PROBABILITY,
                        help="threshold at which false positives and misses are listed")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    captioner = Captioner.load(device="cpu")
    tagger = Tagger.load()
    print(f"tagger {tagger.tagger_id}: {len(tagger.words)} tags; at most {TAGS_KEPT} a photo")
    sets = [flickr_val(data_dir(args.data))]
    if (args.coco / "captions.json").is_file():
        sets.append(coco_dev(args.coco))
    else:
        print(f"coco-dev not found at {args.coco}; Flickr8k only", file=sys.stderr)
    for photos in sets:
        pooled = pooled_features(photos, captioner, args.cache, args.batch_size)
        report(photos, tagger.tag_probabilities(pooled), tagger, args.fp_threshold, args.top)


if __name__ == "__main__":
    main()

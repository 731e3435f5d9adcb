"""Build photocap/assets/everyday_words.json: what everyday captions say about the tag map's words.

    python -m train.everyday_words          # --coco-text FILE --data FLICKR8K_DIR --out FILE

Two facts the caption chooser (photocap.model.chooser) needs and no model knows, counted once in human
captions (24,619 everyday COCO captions, text only, and the Flickr8k *training* captions) and shipped:

- `counts`: how often people name each tag (its word or a synonym, singular or plural). A caption may name a
  tag only if people do ("a sheep", not "a ram"; "a train", not "a passenger car").
- `person_given_class`: for each of the 1,000 ImageNet classes, how often an everyday caption that names the
  class's object (or, when people rarely name it, its nearest named ancestor) also names a person. Clothing,
  sports gear and person classes count as 0.9: they come with people. The tagger turns this into the chance
  that a photo shows people: the sum over classes of P(class) times this share (see photocap.model.tags).
  Only COCO captions count here: Flickr8k photos were chosen to show people and would say "always".

Nothing here is read at run time except the JSON it writes.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from photocap.model.chooser import PERSON_WORDS, plural_of
from photocap.model.tag_vocabulary import default_map_path
from train.data import data_dir

OUT = Path(__file__).resolve().parent.parent / "photocap" / "assets" / "everyday_words.json"
COCO_TEXT = Path(__file__).resolve().parents[2] / "shared/data/coco-captions-text/captions_val2017_text.json"
FORMAT = "photocap.everyday-words/1"
MIN_CAPTIONS_FOR_SHARE = 10  # a share of people from fewer captions than this is noise; use the parent's
WITH_PEOPLE_KINDS = {"clothing": 0.9, "sports": 0.9, "person": 0.9}
_WORD = re.compile(r"[a-z]+")


def caption_ngrams(words: list[str], longest: int = 3) -> set[str]:
    return {" ".join(words[i : i + n]) for n in range(1, longest + 1) for i in range(len(words) - n + 1)}


def names_of(tag: dict) -> set[str]:
    names = {tag["word"].lower(), *(s.lower() for s in tag["synonyms"])}
    return names | {plural_of(name) for name in names}


def build(coco_text: Path, flickr_dir: Path, tag_map: Path) -> dict:
    coco = [_WORD.findall(a["caption"].lower()) for a in json.loads(coco_text.read_text())["annotations"]]
    split = json.loads((flickr_dir / "dataset_flickr8k.json").read_text())
    flickr = [_WORD.findall(s["raw"].lower()) for image in split["images"] if image["split"] == "train"
              for s in image["sentences"]]
    tags = json.loads(tag_map.read_text())
    ngram_counts: Counter[str] = Counter()
    for words in coco + flickr:
        ngram_counts.update(caption_ngrams(words))
    counts = {tag["word"]: sum(ngram_counts[name] for name in names_of(tag)) for tag in tags["tags"]}

    coco_grams = [caption_ngrams(words) for words in coco]
    with_people = [bool(set(words) & PERSON_WORDS) for words in coco]
    share: dict[str, float] = {}
    for tag in tags["tags"]:
        names = names_of(tag)
        hits = [people for grams, people in zip(coco_grams, with_people, strict=True) if grams & names]
        if len(hits) >= MIN_CAPTIONS_FOR_SHARE:
            share[tag["word"]] = sum(hits) / len(hits)
    overall = sum(with_people) / len(with_people)
    person_given_class = []
    for cls in tags["classes"]:
        tag = tags["tags"][cls["tag"]]
        if tag["kind"] in WITH_PEOPLE_KINDS:
            person_given_class.append(WITH_PEOPLE_KINDS[tag["kind"]])
            continue
        named = [share[word] for word in reversed(tag["path"].split("|")) if word in share]
        person_given_class.append(round(named[0] if named else overall, 4))
    return {
        "format": FORMAT,
        "sources": {"coco_captions": f"{coco_text.name}: {len(coco)} captions",
                    "flickr8k_train_captions": len(flickr), "tag_map": tag_map.name},
        "people_in_coco_captions": round(overall, 4),
        "counts": counts,
        "person_given_class": person_given_class,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco-text", type=Path, default=COCO_TEXT)
    parser.add_argument("--data", type=Path, default=None, help="the Flickr8k folder (default: PHOTOCAP_DATA)")
    parser.add_argument("--tag-map", type=Path, default=default_map_path())
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    result = build(args.coco_text, data_dir(args.data), args.tag_map)
    args.out.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    named = sum(count >= 15 for count in result["counts"].values())
    print(f"{args.out}: {len(result['counts'])} tags, {named} named at least 15 times; "
          f"{result['people_in_coco_captions']:.0%} of COCO captions name a person")


if __name__ == "__main__":
    main()

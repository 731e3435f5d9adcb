"""The objects a photo's captions say are there, with counts: the object input of a photo known only by its
captions (the everyday COCO captions without their photos), shaped like what the detector would report.

    objects_said(["two giraffes standing by a tree", "a pair of giraffes in a zoo", ...])
    -> [("giraffe", 2)]

A category is in when one of the captions names it (benchmarks.coco_objects' phrases); its count is the
median of what the captions naming it say: a number word or "pair", "group of", "herd" ... in the three words
before it, else 2 for a plural, else 1 (capped as the decoder's input is, photocap.model.object_input).
Categories are ordered by how many captions name them, as a detector's best scores would put the main subject
first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import median_low

from benchmarks.coco_objects import SYNONYMS, phrases_in, spellings, tokens
from photocap.model.object_input import COUNT_CAP, MAX_OBJECTS

NUMBER_WORDS = {
    "one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2, "both": 2, "twin": 2, "three": 3,
    "few": 3, "four": 4, "five": 4, "six": 4, "seven": 4, "eight": 4, "several": 4, "many": 4, "group": 4,
    "herd": 4, "flock": 4, "bunch": 4, "lots": 4, "crowd": 4, "row": 4, "line": 4, "team": 4, "numerous": 4,
}
GROUP_WORDS = frozenset({"people", "crowd", "family", "team", "persons"})  # plural for a person without a number
LOOK_BACK = 3


def _singular_spellings() -> dict[str, set[tuple[str, ...]]]:
    return {category: {spellings(synonym)[0] for synonym in synonyms} for category, synonyms in SYNONYMS.items()}


_SINGULAR = _singular_spellings()


def count_in(words: Sequence[str], position: int, phrase: tuple[str, ...], category: str) -> int:
    """How many of `category` the phrase at `position` of `words` speaks of."""
    for word in reversed(words[max(0, position - LOOK_BACK):position]):
        if word in NUMBER_WORDS:
            return min(NUMBER_WORDS[word], COUNT_CAP)
        if word in ("a", "an", "the", "this", "that"):
            break
    if phrase[-1] in GROUP_WORDS or phrase not in _SINGULAR.get(category, set()):
        return 2
    return 1


def counts_in(caption: str) -> dict[str, int]:
    """Category -> count for one caption (a category named twice keeps its larger count)."""
    words = tokens(caption)
    found: dict[str, int] = {}
    for position, phrase, category in phrases_in(words):
        found[category] = max(found.get(category, 0), count_in(words, position, phrase, category))
    return found


def objects_said(captions: Sequence[str]) -> list[tuple[str, int]]:
    """(category, count) of the objects `captions` name, most often named first."""
    named: Counter[str] = Counter()
    counts: dict[str, list[int]] = defaultdict(list)
    for caption in captions:
        for category, count in counts_in(caption).items():
            named[category] += 1
            counts[category].append(count)
    ranked = sorted(named, key=lambda category: (-named[category], category))[:MAX_OBJECTS]
    return [(category, median_low(counts[category])) for category in ranked]

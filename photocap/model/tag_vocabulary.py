"""The shipped tag map (`assets/imagenet_tags.json`, made by `train/tag_map.py` from WordNet), read without torch.

What needs no model (the synonyms search indexes beside a tag, its place in the hierarchy for keywords, its
kind for the caption chooser) reads it here, so `photocap search`, `tag` and `export` start fast;
photocap.model.tags adds the classifier head that gives the tags' probabilities.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

from photocap.model.object_words import COCO_LABELS, MAP_WORDS, MORE_SYNONYMS, NEW_WORDS

MAP_FORMAT = "photocap.imagenet-tags/1"
# A tag is shown, exported and filtered on (--tag) from this probability on (the user's always):
# train/tag_thresholds.py, vs 0.2, precision +8-12 points, recall -3.
TAG_MIN_PROBABILITY = 0.3
# Search looks further down: the catalog keeps each photo's TAGS_KEPT most probable tags down to this
# probability, indexed by probability, so that "pizza" finds a photo the head calls 0.08 pizza before it finds
# none (benchmarks.everyday: coco-dev object queries P@5 36 -> 57, no result 19 -> 8 of 62).
SEARCH_TAG_MIN_PROBABILITY = 0.01
TAGS_KEPT = 40
# The detector's findings (photocap.model.detector): the catalog keeps each photo's detections from
# DETECTIONS_KEPT_FROM, so thresholds can be changed without decoding again; an object is a tag shown,
# exported and filtered on (and counted: "2 dogs") from OBJECT_TAG_MIN_SCORE; below, it only ranks search results.
DETECTIONS_KEPT_FROM = 0.15
OBJECT_TAG_MIN_SCORE = 0.4
# On a photo the detector looked at, the tagger's probability for a word the detector speaks for
# (covered_by_objects) counts for this share of itself: a hint that ranks search results, shown (from
# OBJECT_TAG_MIN_SCORE) only where the tagger is very sure (0.89) of what the detector missed (two Dobermans
# it calls horses), never where it is as unsure as on bears, giraffes and cows it calls dogs.
TAGGER_WEIGHT_ON_OBJECTS = 0.45


class TagMapError(RuntimeError):
    """The tag map cannot be read; the message says why."""


@dataclass(frozen=True)
class TagInfo:
    word: str
    synonyms: tuple[str, ...]
    path: str  # from a root down to this tag, "|"-separated (Lightroom's lr:hierarchicalSubject)
    kind: str
    classes: tuple[int, ...]  # ImageNet class indices summed into this tag
    parents: tuple[int, ...]  # indices into TagMap.entries


@dataclass(frozen=True, eq=False)
class TagMap:
    entries: tuple[TagInfo, ...]
    class_names: tuple[str, ...]
    class_tags: tuple[int, ...]  # each class's own tag (its name as people say it), an index into entries
    kinds: tuple[str, ...]
    sha256: str
    _by_word: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _by_synonym: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for index, entry in enumerate(self.entries):
            self._by_word.setdefault(entry.word.casefold(), []).append(index)
            for synonym in entry.synonyms:
                self._by_synonym.setdefault(synonym.casefold(), []).append(index)

    def words(self) -> list[str]:
        return [entry.word for entry in self.entries]

    def lookup(self, word: str) -> list[TagInfo]:
        """The tags a word names: tags called `word` if any, else tags with `word` as a synonym; plurals and
        case are forgiven ("Dogs" finds dog). Several tags when the word is ambiguous (crane: bird, machine)."""
        for form in singular_forms(word.strip().casefold()):
            for table in (self._by_word, self._by_synonym):
                if form in table:
                    return [self.entries[i] for i in table[form]]
        return []

    def synonyms(self, word: str) -> list[str]:
        """Every word of the tags `word` names (their display words first), or [] for an unknown word."""
        found: dict[str, str] = {}
        for entry in self.lookup(word):
            for w in (entry.word, *entry.synonyms):
                found.setdefault(w.casefold(), w)
        return list(found.values())

    def kind(self, word: str) -> str | None:
        """The kind of thing `word` names (animal, food, vehicle, ...); None if unknown or ambiguous."""
        kinds = {entry.kind for entry in self.lookup(word)}
        return kinds.pop() if len(kinds) == 1 else None

    def path(self, word: str) -> str | None:
        """The hierarchical path of the tag `word` names; None if unknown or ambiguous."""
        paths = {entry.path for entry in self.lookup(word)}
        return paths.pop() if len(paths) == 1 else None

    def ancestry(self, word: str) -> list[str]:
        """The words from the root down to `word` (just [word] for a word the map does not know)."""
        path = self.path(word)
        return path.split("|") if path else [word]


def normalize_tag(word: str) -> str:
    """A tag as the catalog stores it and --tag matches it: lower case, single spaces."""
    return " ".join(word.lower().split())


def singular_forms(word: str) -> list[str]:
    """`word` and the singulars it may be a plural of: dogs -> dog, boxes -> box, ponies -> pony, men -> man."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("ves") and len(word) > 4:
        forms += [word[:-3] + "f", word[:-3] + "fe"]
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        forms.append(word[:-1])
    if word.endswith("men"):
        forms.append(word[:-3] + "man")
    return forms


def default_map_path() -> Path:
    return Path(str(resources.files("photocap") / "assets" / "imagenet_tags.json"))


@lru_cache(maxsize=4)
def read_tag_map(path: Path) -> TagMap:
    """The class-to-tag map (cached: every reader shares one copy)."""
    try:
        data = path.read_bytes()
        document = json.loads(data)
    except (OSError, ValueError) as error:
        raise TagMapError(f"cannot read the tag map {path}: {error}") from None
    if document.get("format") != MAP_FORMAT:
        raise TagMapError(f"{path} is not a {MAP_FORMAT} file (format {document.get('format')!r})")
    entries = tuple(TagInfo(t["word"], tuple(t["synonyms"]), t["path"], t["kind"], tuple(t["classes"]),
                            tuple(t["parents"])) for t in document["tags"])
    classes = document["classes"]
    return TagMap(entries, tuple(c["name"] for c in classes), tuple(c["tag"] for c in classes),
                  tuple(document["kinds"]), hashlib.sha256(data).hexdigest())


def tag_map() -> TagMap:
    """The shipped tag map."""
    return read_tag_map(default_map_path())


@lru_cache(maxsize=1)
def vocabulary() -> TagMap:
    """Every tag word photocap knows: the tag map's, and those of the COCO objects the detector finds that the
    map lacks (photocap.model.object_words), appended after the map's own entries. What the caption chooser
    judges, search expands to synonyms and exports place in a hierarchy; the tagger reads the map alone."""
    base = tag_map()
    extra = tuple(TagInfo(w.word, w.synonyms, w.path, w.kind, (), ()) for w in NEW_WORDS.values())
    unknown = {w.kind for w in NEW_WORDS.values()} - set(base.kinds)
    if unknown:
        raise TagMapError(f"object words of unknown kinds: {', '.join(sorted(unknown))}")
    entries = with_more_synonyms(base.entries + extra, MORE_SYNONYMS)
    digest = hashlib.sha256(base.sha256.encode() + repr(extra).encode() + repr(MORE_SYNONYMS).encode()).hexdigest()
    return TagMap(entries, base.class_names, base.class_tags, base.kinds, digest)


def with_more_synonyms(entries: tuple[TagInfo, ...], more: dict[str, tuple[str, ...]]) -> tuple[TagInfo, ...]:
    """`entries` with the synonyms `more` adds to the tags it names; a word that is already some tag's word or
    synonym is refused (it would make a word ambiguous, or say nothing new)."""
    known = {w.casefold() for entry in entries for w in (entry.word, *entry.synonyms)}
    taken = [synonym for synonyms in more.values() for synonym in synonyms if synonym.casefold() in known]
    missing = set(more) - {entry.word for entry in entries}
    if taken or missing:
        raise TagMapError(f"more synonyms: {', '.join(taken)} already known; {', '.join(sorted(missing))} no tag")
    return tuple(replace(entry, synonyms=entry.synonyms + more[entry.word]) if entry.word in more else entry
                 for entry in entries)


def object_tag(label: str) -> str:
    """The tag word of a COCO label the detector gives: "tv" -> television, "giraffe" -> giraffe."""
    if label in NEW_WORDS:
        return NEW_WORDS[label].word
    return MAP_WORDS.get(label, label)


@lru_cache(maxsize=1)
def object_tags() -> frozenset[str]:
    """The tag words of the detector's 80 labels."""
    return frozenset(object_tag(label) for label in COCO_LABELS)


def best_and_counts(found: Iterable[tuple[str, float, float]], count_from: float, subject_area: float = 0.0
                    ) -> tuple[dict[str, float], dict[str, int]]:
    """Of detections (tag word, score, share of the photo its box covers): each word's best score, and how many
    of it scored at least `count_from` with a box of at least `subject_area` ("2 dogs")."""
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for word, score, area in found:
        best[word] = max(best.get(word, 0.0), score)
        if score >= count_from and area >= subject_area:
            counts[word] = counts.get(word, 0) + 1
    return best, counts


@lru_cache(maxsize=4096)
def covered_by_objects(word: str) -> bool:
    """Whether the detector speaks for `word`: one of its objects, or a word below one (a golden retriever is
    a dog). For such words its detections are the evidence, and the ImageNet tagger's only a hint."""
    return any(step in object_tags() for step in vocabulary().ancestry(word))


def tagger_id(weights_sha256: str, tags: TagMap) -> str:
    """Names what a photo's model tags depend on (the head's weights, the map, how many are kept): tags
    written under another id are made again."""
    return f"imagenet-lite0@{weights_sha256[:12]}/map@{tags.sha256[:12]}/p{SEARCH_TAG_MIN_PROBABILITY:g}x{TAGS_KEPT}"


def feature_encoder_id(weights_sha256: str) -> str:
    """Names the encoder whose pooled features the tagger reads: kept features must come from it."""
    return f"efficientnet_lite0@{weights_sha256[:12]}"


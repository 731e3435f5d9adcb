"""The caption chooser: keep captions true on photos the captioner never learned (Flickr8k is people and dogs).

The captioner proposes its beam's finished captions; the ImageNet tagger (photocap.model.tags) says what is in
the photo. Each object a caption names (people included) is checked against that evidence, and the caption
kept is the first of these that names nothing the evidence does not support:

1. **beam**: the most probable beam candidate.
2. **grounded**: with a detector, a caption people wrote for everyday photos of the objects it found
   (photocap.model.describer: "two giraffes standing next to each other in a field").
3. **guided**: a second beam search in which unsupported words are forbidden and the words of confident
   tags draw a bonus (a soft form of constrained beam search, Anderson et al. 2017); once more if it invents
   another object.
4. **replaced**: the best candidate with each contradicted object replaced by the confidently tagged object
   of the same kind ("a dog runs through the grass" on a photo tagged sheep: "a sheep runs through ...").
5. **tags**: a short description built from the confident tags ("a zebra", "a toilet in a bathroom"): a
   wrong alt text is worse than a short true one.
6. **nothing sure**: "a photo", when the tagger is sure of nothing a caption may name.

A caption is kept only if it names nothing unsupported and, when the tagger is sure of an object, names it
(or a word above or below it): "two men are sitting on a rock" on a photo tagged elephant at 0.9 describes
another photo, even if people are possible there.

Whatever is kept, a vaguer word the tags can make precise is made precise ("an animal" -> "a zebra").

An object is *unsupported* when the tagger gives it (and everything below it) little probability, or a small
share of what it gives a sure object of the same kind (a "dog" at 0.06 on a photo tagged panda at 0.68), and
*contradicted* (what replacement needs) when the tagger is, moreover, sure of another object; people are
both when the photo's chance of showing people is low (the tagger's classes weighed by how often everyday
captions of them name a person; photocap.model.tags).
Objects of kinds the ImageNet classes cover thinly (clothing, places, ...) are never judged. The thresholds
are measured (Flickr8k val and coco-dev, docs/MODEL.md), not guessed.

Every kept caption gets a confidence in [0, 1]: the weakest evidence for what it names (for a caption that
names nothing judged, how unsure the tagger is of every object: such a caption is safe only if there is
nothing sure to name).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

from photocap.model.details import COLOURS, without_unsure_details
from photocap.model.tag_vocabulary import TagMap, best_and_counts, covered_by_objects, object_tags
from photocap.model.tag_vocabulary import vocabulary as tag_vocabulary
from photocap.wording import article

PERSON = "person"
# Raised when the rules change which captions are kept, so that `photocap index --recaption-older` (which compares
# the captioner's checksum, photocap.model.captioner) captions a library again. 2: captions cut short are refused;
# 3: a guided caption whose subject is a noun that cannot be one ("a jeans is", "a group of food") is refused;
# 4: so is one that dropping an unsure detail leaves without its subject ("a blue jeans is" -> "a jeans is");
# 5: "two women" for "a woman and a woman"; 6: the describer drops the least salient objects first, not the least
# sure (photocap.model.describer).
CHOOSER_RULES = 6
EVERYDAY_WORDS_FILE = "everyday_words.json"
# Caption words for people, singular and plural (the decoders' vocabularies come from Flickr8k's captions, and COCO's).
_PEOPLE = (
    ("man", "men"), ("woman", "women"), ("boy", "boys"), ("girl", "girls"), ("child", "children"),
    ("kid", "kids"), ("baby", "babies"), ("toddler", "toddlers"), ("person", "people"), ("guy", "guys"),
    ("lady", "ladies"), ("player", "players"), ("skier", "skiers"), ("surfer", "surfers"),
    ("snowboarder", "snowboarders"), ("skateboarder", "skateboarders"), ("biker", "bikers"),
    ("cyclist", "cyclists"), ("rider", "riders"), ("climber", "climbers"), ("swimmer", "swimmers"),
    ("runner", "runners"), ("teenager", "teenagers"), ("adult", "adults"), ("worker", "workers"),
    ("dancer", "dancers"), ("musician", "musicians"), ("soldier", "soldiers"), ("officer", "officers"),
    ("crowd", "crowds"), ("family", "families"), ("couple", "couples"), ("someone", "persons"),
)
PEOPLE_SINGULAR = frozenset(singular for singular, _ in _PEOPLE)
PERSON_WORDS = frozenset(word for pair in _PEOPLE for word in pair)
# Words that describe people, which a search forbidden to name them still reaches for ("young asian ...").
PERSON_DESCRIPTIONS = frozenset({
    "young", "old", "older", "elderly", "little", "asian", "blond", "blonde", "bald", "shirtless", "smiling",
    "wearing", "dressed", "teenage", "his", "her", "he", "she", "they", "their", "hair", "shirt", "jacket",
})
# The kinds whose objects the tagger can vouch for or contradict; the ImageNet classes cover the others
# (clothing, places, structures, plants, sports gear, ...) too thinly to say that an object is absent.
JUDGED_KINDS = frozenset({"animal", "vehicle", "food", "furniture", "electronics", "household", "instrument"})
# Kinds of tags that may make a caption on their own ("a bathroom", "a street sign") when no judged object can.
NAMED_ALONE_KINDS = frozenset({"place", "structure", "other"})
# Tag names that captions mostly use as verbs or for something else ("a bird flies", "on a swing").
NOT_OBJECT_WORDS = frozenset({"fly", "flies", "swing", "swings", "iron", "bow", "pop", "top", "tops", "file"})
METHODS = ("beam", "grounded", "guided", "replaced", "tags", "nothing sure")
# What a photo is called when nothing can be said of it surely: true, if not much use.
NOTHING_SURE = "a photo"


@dataclass(frozen=True)
class ChooserSettings:
    """The thresholds, measured on Flickr8k val and coco-dev (see the module docstring)."""

    absent_below: float = 0.03  # an object (with all below it) less probable than this is not vouched for ...
    sure_above: float = 0.5  # ... and contradicted if the tagger is this sure of another object
    outweighed_below: float = 0.2  # an object under this share of a sure object of its kind is not vouched for
    must_name_above: float = 0.8  # a caption naming none of the objects the tagger is this sure of is not kept
    person_absent_below: float = 0.25  # people are contradicted under this chance of people
    boost_above: float = 0.3  # words of tags this probable draw a bonus in the guided search ...
    boost: float = 2.0  # ... of boost x probability (log-probability units)
    replace_above: float = 0.4  # a tag this probable may replace a contradicted object of its kind
    describe_above: float = 0.3  # a tag this probable may describe the photo on its own
    refine_above: float = 0.5  # a vaguer word gives way to a tag below it this probable
    named_at_least: int = 15  # a tag may appear in a caption if people name it this often (everyday_words)
    # With a detector (with_detections): what the tagger alone still counts for, on the words the detector
    # speaks for and on people; and the score from which a detection is counted ("two giraffes").
    tagger_weight_on_objects: float = 0.3
    tagger_weight_on_people: float = 0.4  # train.person_evidence: Flickr8k val 92.4% kept, 7.8% invented
    object_absent_below: float = 0.2  # an object the detector speaks for, less probable than this, is absent
    count_above: float = 0.4
    subject_area: float = 0.02  # a detection this share of the photo or larger may be a short caption's subject
    detail_above: float = 0.3  # a colour or garment the likely-words head gives less is dropped (train.detail_words)


@dataclass(frozen=True)
class Evidence:
    """What the tagger (and, where it looked, the detector) says of one photo: its tags' probabilities (summed
    up the hierarchy) and the chance that it shows people; with a detector, how many of each object it found
    (`counts`, at ChooserSettings.count_above) and `detected` True (see with_detections)."""

    tags: dict[str, float]
    person: float
    counts: dict[str, int] = field(default_factory=dict)
    detected: bool = False
    # The captioner's likely words (word -> probability), the evidence for colours and clothes (None: not known).
    words: dict[str, float] | None = None


@dataclass(frozen=True)
class ChosenCaption:
    text: str
    confidence: float
    method: str  # one of METHODS


@dataclass(frozen=True)
class Mention:
    start: int  # token positions [start, end) in the caption
    end: int
    tag: str  # the tag the words name, or PERSON
    plural: bool


@dataclass(frozen=True)
class Guidance:
    """What the guided search must avoid (tags, PERSON among them) and draw towards (tag -> probability)."""

    forbid: frozenset[str]
    boost: dict[str, float] = field(default_factory=dict)


class CaptionChooser:
    def __init__(self, vocabulary: TagMap | None = None, settings: ChooserSettings | None = None,
                 named_counts: dict[str, int] | None = None) -> None:
        self.vocabulary = vocabulary or tag_vocabulary()
        self.settings = settings or ChooserSettings()
        self._phrases = _phrase_table(self.vocabulary)
        self._longest = max((len(p) for p in self._phrases), default=1)
        counts = named_counts if named_counts is not None else everyday_words()["counts"]
        self._nameable = frozenset(word for word, count in counts.items() if count >= self.settings.named_at_least
                                   ) | object_tags()  # the detector's objects are words people use
        self._vocabulary_words: tuple[Sequence[str], list[tuple[int, str, frozenset[str]]]] | None = None
        self._above: frozenset[str] | None = None

    # ------------------------------------------------------------------------------------ reading captions

    def mentions(self, caption: str, detected: bool = False) -> list[Mention]:
        """The judged objects a caption names, the longest phrase winning at each position. With a detector's
        evidence (`detected`), the objects it speaks for are judged whatever their kind (a surfboard, a tie)."""
        words = caption.lower().split()
        found, position = [], 0
        while position < len(words):
            if words[position] in PERSON_WORDS:
                found.append(Mention(position, position + 1, PERSON, words[position] not in PEOPLE_SINGULAR))
                position += 1
                continue
            for length in range(min(self._longest, len(words) - position), 0, -1):
                match = self._phrases.get(tuple(words[position : position + length]))
                if match is not None:
                    tag, plural = match
                    if self.vocabulary.kind(tag) in JUDGED_KINDS or (detected and covered_by_objects(tag)):
                        found.append(Mention(position, position + length, tag, plural))
                    position += length
                    break
            else:
                position += 1
        return found

    def tags_named_by(self, word: str) -> tuple[str, bool] | None:
        """The tag a single caption word names (and whether it is plural), if any."""
        if word in PERSON_WORDS:
            return PERSON, word not in PEOPLE_SINGULAR
        return self._phrases.get((word,))

    # ----------------------------------------------------------------------------------------- judging

    def support(self, mention: Mention, evidence: Evidence) -> float:
        return evidence.person if mention.tag == PERSON else evidence.tags.get(mention.tag, 0.0)

    def contradicted(self, mention: Mention, evidence: Evidence) -> bool:
        s = self.settings
        if mention.tag == PERSON:
            return evidence.person < s.person_absent_below
        if evidence.tags.get(mention.tag, 0.0) >= self._absent_below(mention.tag, evidence):
            return self._outweighed(mention.tag, evidence)
        return self._best_object(evidence, exclude=mention.tag)[1] >= s.sure_above

    def unsupported(self, mention: Mention, evidence: Evidence) -> bool:
        """Not vouched for: people the photo probably lacks, an object the tagger gives (with all below it)
        little probability, or one it gives a small share of what it gives another object of the same kind
        that it is sure of (a "dog" at 0.06 on a photo tagged panda at 0.68). No kept caption names one."""
        if mention.tag == PERSON:
            return self.contradicted(mention, evidence)
        if evidence.tags.get(mention.tag, 0.0) < self._absent_below(mention.tag, evidence):
            return True
        return self._outweighed(mention.tag, evidence)

    def _absent_below(self, tag: str, evidence: Evidence) -> float:
        """Under what probability an object is not vouched for: a detector's objects need a detection (or a
        tagger sure enough to make up for the detector's miss), the tagger's others a trace of probability."""
        if evidence.detected and covered_by_objects(tag):
            return self.settings.object_absent_below
        return self.settings.absent_below

    def _outweighed(self, tag: str, evidence: Evidence) -> bool:
        s = self.settings
        _rival, probability = self._best_of_kinds(frozenset({self.vocabulary.kind(tag) or ""}), evidence, tag, None)
        return probability >= s.sure_above and evidence.tags.get(tag, 0.0) < s.outweighed_below * probability

    def confidence(self, caption: str, evidence: Evidence) -> float:
        mentions = self.mentions(caption, evidence.detected)
        if mentions:
            return min(self.support(m, evidence) for m in mentions)
        # Naming nothing the tagger knows is safe only if there is nothing it is sure of to name.
        return 1.0 - self._best_object(evidence)[1]

    # ---------------------------------------------------------------------------------------- choosing

    def judge(self, candidates: Sequence[tuple[str, float]], evidence: Evidence) -> ChosenCaption | Guidance:
        """Keep the first beam candidate ((text, score), best first) that nothing contradicts, or say what a
        guided search must avoid and look for."""
        forbid: set[str] = set()
        for text, _score in candidates:
            unsupported, omits = self._faults(text, evidence)
            if not unsupported and not omits and (finished := self._whole_sentence(text, evidence)) is not None:
                return self._kept(finished, evidence, "beam")
            forbid |= unsupported
        boost = {tag: p for tag, p in evidence.tags.items()
                 if p >= self.settings.boost_above and tag in self._nameable
                 and self.vocabulary.kind(tag) in JUDGED_KINDS | {"place"}}
        if evidence.person < self.settings.person_absent_below:
            forbid.add(PERSON)
        return Guidance(frozenset(forbid), boost)

    def accept(self, candidates: Sequence[tuple[str, float]], evidence: Evidence,
               method: str) -> ChosenCaption | None:
        """The first of another generator's candidates that names nothing unsupported, leaves out nothing sure
        and reads as a sentence, or None."""
        for text, _score in candidates:
            if not text or _garbled(text) or (finished := self._whole_sentence(text, evidence)) is None:
                continue
            unsupported, omits = self._faults(text, evidence)
            if not unsupported and not omits:
                return self._kept(finished, evidence, method)
        return None

    def _faults(self, text: str, evidence: Evidence) -> tuple[set[str], bool]:
        """What keeps a caption from being kept: the unsupported objects it names, and whether it leaves out every
        object the tagger is sure of."""
        mentions = self.mentions(text, evidence.detected)
        return {m.tag for m in mentions if self.unsupported(m, evidence)}, self._omits_sure_object(mentions, evidence)

    def guidance_weights(self, guidance: Guidance, words: Sequence[str]) -> dict[int, float]:
        """The guided search's word weights over a decoder vocabulary `words`: -inf for a forbidden word (a
        forbidden tag, anything below it, or people), a bonus for the words of boosted tags."""
        weights: dict[int, float] = {}
        for index, tag, above in self._object_words(words):
            if above & guidance.forbid:
                weights[index] = float("-inf")
            elif tag in guidance.boost:
                weights[index] = self.settings.boost * guidance.boost[tag]
        if PERSON in guidance.forbid:  # without its people, a caption must not describe them either
            for index, word in enumerate(words):
                if word in PERSON_DESCRIPTIONS:
                    weights[index] = float("-inf")
        return weights

    def _object_words(self, words: Sequence[str]) -> list[tuple[int, str, frozenset[str]]]:
        """The words of a decoder vocabulary that name an object or people: (index, tag, the tag and those
        above it). Worked out once per vocabulary."""
        if self._vocabulary_words is None or self._vocabulary_words[0] is not words:
            named = []
            for index, word in enumerate(words):
                found = self.tags_named_by(word)
                if found is not None:
                    tag = found[0]
                    above = frozenset(self.vocabulary.ancestry(tag)) if tag != PERSON else frozenset({PERSON})
                    named.append((index, tag, above))
            self._vocabulary_words = (words, named)
        return self._vocabulary_words[1]

    def settle(self, candidates: Sequence[tuple[str, float]], guided: Sequence[tuple[str, float]],
               evidence: Evidence, guidance: Guidance | None = None) -> ChosenCaption | Guidance:
        """The caption of a photo whose beam candidates were all turned down, given the captions of a search
        guided by `guidance`; or, if those name other unsupported objects, a stricter guidance to try (pass
        guidance=None for the last try)."""
        unsupported: set[str] = set()
        for text, _score in guided:
            if _garbled(text) or (finished := self._whole_sentence(text, evidence)) is None:
                continue
            bad, omits = self._faults(text, evidence)
            if not bad and not omits:
                return self._kept(finished, evidence, "guided")
            unsupported |= bad
        if guidance is not None and not unsupported <= guidance.forbid:
            return Guidance(guidance.forbid | unsupported, guidance.boost)
        for text, _score in (*guided, *candidates[:1]):
            if _garbled(text):
                continue
            replaced = self._replace_contradicted(text, evidence)
            if replaced is not None and (finished := self._whole_sentence(replaced, evidence)) is not None:
                return self._kept(finished, evidence, "replaced")
        described = self.describe(evidence)
        if described is not None:
            return described
        thing, probability = self._best_of_kinds(NAMED_ALONE_KINDS, evidence, "", self.settings.describe_above)
        if probability >= self.settings.describe_above:
            return ChosenCaption(with_article(thing), probability, "tags")
        return ChosenCaption(NOTHING_SURE, 0.0, "nothing sure")

    def describe(self, evidence: Evidence) -> ChosenCaption | None:
        """A short caption of the photo's most confident object, counted where a detector counted it ("two
        giraffes"), with the people it found ("a person with a dog") and the place; or None if the evidence
        is sure of nothing a caption may name."""
        floor = self.settings.describe_above
        counted_objects = [(word, evidence.tags.get(word, 0.0)) for word in evidence.counts if word != PERSON]
        if counted_objects:  # what the detector counted, by the word it counted it as ("two airplanes")
            tag, probability = max(counted_objects, key=lambda item: item[1])
        else:
            tag, probability = self._best_object(evidence, floor=floor, kinds=self._described_kinds(evidence),
                                                 exclude_above_objects=evidence.detected)
        people = evidence.counts.get(PERSON, 0) if evidence.person >= floor else 0
        if probability < floor and not people:
            return None
        parts, confidence = [], 1.0
        if people:
            parts.append(counted(PERSON, people))
            confidence = evidence.person
        if probability >= floor and not (people and tag == PERSON):  # not "two people with two people"
            parts.append(counted(tag, evidence.counts.get(tag, 1)))
            confidence = min(confidence, probability)
        text = " with ".join(parts)
        place, place_probability = self._best_of_kinds(frozenset({"place"}), evidence, "", floor)
        if place_probability >= floor and place != tag:
            text += f" in {with_article(place)}"
        return ChosenCaption(text, confidence, "tags")

    def _described_kinds(self, evidence: Evidence) -> frozenset[str]:
        """The kinds of object a short caption may name: the judged kinds, and with a detector every kind of
        object it speaks for (a surfboard, a stop sign)."""
        if not evidence.detected:
            return JUDGED_KINDS
        return JUDGED_KINDS | {self.vocabulary.kind(word) or "" for word in object_tags()}

    def _kept(self, finished: str, evidence: Evidence, method: str) -> ChosenCaption:
        """A caption already finished (see _whole_sentence), with its confidence."""
        return ChosenCaption(finished, self.confidence(finished, evidence), method)

    def _whole_sentence(self, text: str, evidence: Evidence) -> str | None:
        """The caption as it would be kept (_finished), or None when that is broken (dropping an unsure "blue"
        from "a blue jeans is ..." leaves "a jeans is ..."). A word refined twice ("a basketball player is playing
        with a basketball") is not a stutter."""
        finished = self._finished(text, evidence)
        return None if _broken(finished) else finished

    def _finished(self, text: str, evidence: Evidence) -> str:
        """The caption as kept: vague words refined, unsure colours and clothes dropped (which can leave "a man
        is" of "a man is wearing a pink hat": the chooser then takes another candidate)."""
        text = self._refine(text, evidence)
        if evidence.words is not None:
            text = without_unsure_details(text, evidence.words, self.settings.detail_above)
        return _pair_counted(text)

    def _replace_contradicted(self, caption: str, evidence: Evidence) -> str | None:
        words = caption.split()
        for mention in reversed(self.mentions(caption, evidence.detected)):  # right to left: positions stay valid
            if not self.contradicted(mention, evidence):
                continue
            if mention.tag == PERSON:
                return None
            tag, probability = self._best_of_kinds(frozenset({self.vocabulary.kind(mention.tag) or ""}), evidence,
                                                   mention.tag, self.settings.replace_above)
            if probability < self.settings.replace_above:
                return None
            _put(words, mention, tag)
        replaced = " ".join(words)
        unsupported, omits = self._faults(replaced, evidence)
        return None if unsupported or omits else replaced

    def _omits_sure_object(self, mentions: Sequence[Mention], evidence: Evidence) -> bool:
        """Whether a caption names none of the objects the tagger is sure of (nor a word above or below
        one): "two men are sitting on a rock" on a photo tagged elephant at 0.9 describes another photo."""
        sure = [tag for tag, p in evidence.tags.items() if p >= self.settings.must_name_above
                and tag in self._nameable and self.vocabulary.kind(tag) in JUDGED_KINDS]
        if not sure:
            return False
        named = [m.tag for m in mentions if m.tag != PERSON]
        ancestry = self.vocabulary.ancestry
        return not any(tag in ancestry(other) or other in ancestry(tag) for tag in sure for other in named)

    def _refine(self, caption: str, evidence: Evidence) -> str:
        """Broad object words made precise where the tags are sure: "an animal" -> "a zebra". Only the
        broadest words (the roots of the tag hierarchy): a "dog" stays a dog, as people say."""
        words = caption.split()
        for mention in reversed(self.mentions(caption, evidence.detected)):
            if mention.tag == PERSON or len(self.vocabulary.ancestry(mention.tag)) > 1:
                continue
            below = [(tag, p) for tag, p in evidence.tags.items()
                     if p >= self.settings.refine_above and tag != mention.tag and tag in self._nameable
                     and mention.tag in self.vocabulary.ancestry(tag)]
            if below:
                deepest = max(below, key=lambda item: (len(self.vocabulary.ancestry(item[0])), item[1]))[0]
                _put(words, mention, deepest)
        return " ".join(words)

    # -------------------------------------------------------------------------------- reading the tags

    def _best_object(self, evidence: Evidence, exclude: str = "", floor: float | None = None,
                     kinds: frozenset[str] = JUDGED_KINDS, exclude_above_objects: bool = False) -> tuple[str, float]:
        """The object a caption would name (see _best_of_kinds). With `exclude_above_objects`, not a broad word
        above the detector's objects (animal, vehicle): the tagger sums it from classes the detector denied."""
        if exclude_above_objects:
            above = self._above_objects()
            evidence = replace(evidence, tags={tag: p for tag, p in evidence.tags.items() if tag not in above})
        return self._best_of_kinds(kinds, evidence, exclude, floor)

    def _above_objects(self) -> frozenset[str]:
        if self._above is None:
            self._above = frozenset(step for word in object_tags() for step in self.vocabulary.ancestry(word)[:-1])
        return self._above

    def _best_of_kinds(self, kinds: frozenset[str], evidence: Evidence, exclude: str,
                       floor: float | None) -> tuple[str, float]:
        """The object a caption would name, among nameable tags of `kinds` other than `exclude` and the tags
        above or below it: with `floor`, the most specific of those at least that probable; otherwise (or if
        none is) the most probable."""
        related = set(self.vocabulary.ancestry(exclude)) if exclude else set()
        candidates = [(tag, p) for tag, p in evidence.tags.items()
                      if self.vocabulary.kind(tag) in kinds and tag in self._nameable and tag not in related
                      and not (exclude and exclude in self.vocabulary.ancestry(tag))]
        if not candidates:
            return "", 0.0
        sure = [(tag, p) for tag, p in candidates if floor is not None and p >= floor]
        if sure:
            return max(sure, key=lambda item: (len(self.vocabulary.ancestry(item[0])), item[1]))
        return max(candidates, key=lambda item: item[1])


# Words that cannot be a sentence's subject on their own: "two small black and white are playing in a park".
_NOT_A_SUBJECT = frozenset({
    "a", "an", "the", "of", "two", "three", "four", "five", "several", "many", "small", "large", "big", "little",
    "young", "old", "red", "blue", "green", "yellow", "purple", "pink", "black", "white", "brown", "grey", "gray",
})


# Nouns with no singular ("a jeans") and groups that are counted ("a group of food"): what a search forbidden the
# subject it wanted puts in its place.
_ONLY_PLURAL = frozenset({"jeans", "pants", "shorts", "trunks", "glasses", "sunglasses", "goggles", "clothes",
                          "overalls", "scissors"})
_COUNTED_GROUPS = frozenset({"group", "crowd", "herd", "flock", "team"})


def _garbled(caption: str) -> bool:
    """A word said twice in a row or three times, or two words said twice: what a search pushed away from the
    words it wants writes ("a group of young asian young asian ..."); or a sentence cut short or without its
    subject (_broken)."""
    if _broken(caption):
        return True
    words = caption.lower().split()
    repeated = any(a == b for a, b in zip(words, words[1:], strict=False))
    # Pairs of short words ("in a", "on the", "a man") come back in any long sentence.
    pairs = [(a, b) for a, b in zip(words, words[1:], strict=False) if len(a) > 3 or len(b) > 3]
    return (repeated or len(set(pairs)) < len(pairs)
            or any(words.count(w) >= 3 for w in set(words) if len(w) > 3))


def _broken(caption: str) -> bool:
    """Cut short (_cut_short), a verb without its noun ("a group of a small are jumping"), or a noun that cannot
    be its subject ("a jeans is playing", "a group of food are"): what a search forbidden the noun writes, and
    what dropping an unsure detail can leave ("a blue jeans is" -> "a jeans is")."""
    words = caption.lower().split()
    return _cut_short(caption) or any(
        a in _NOT_A_SUBJECT and b in ("is", "are") for a, b in zip(words, words[1:], strict=False)) or any(
        a in ("a", "an") and b in _ONLY_PLURAL for a, b in zip(words, words[1:], strict=False)) or any(
        a in _COUNTED_GROUPS and b == "of" and c in MASS_NOUNS
        for a, b, c in zip(words, words[1:], words[2:], strict=False))


_PAIRED_PLURALS = {"man": "men", "woman": "women", "boy": "boys", "girl": "girls", "child": "children",
                   "person": "people", "dog": "dogs", "cat": "cats"}
# "a woman and a woman", "a young boy and a young boy" (the same words twice; "a black dog and a dog" is two dogs
# that differ, and stays).
_SAME_TWICE = re.compile(r"\ba (?:(young|little|small|old|black|white|brown) )?(" + "|".join(_PAIRED_PLURALS)
                         + r") and an? (?(1)\1 )\2\b")


def _pair_counted(caption: str) -> str:
    """"two women" for "a woman and a woman", which the decoders write of two people alike."""
    return _SAME_TWICE.sub(lambda found: " ".join(
        ("two", *(found.group(1),) * bool(found.group(1)), _PAIRED_PLURALS[found.group(2)])), caption)


def _cut_short(caption: str) -> bool:
    """A sentence that stops before its end ("a man is standing next to a woman and a", "... wearing a red": a
    beam search that ran out of steps; "a man is" when an unsure garment went) or a pronoun without its verb
    ("a person they sitting down in a chair", a typo in the describer's everyday captions)."""
    words = caption.lower().split()
    return bool(words) and (words[-1] in _CANNOT_END or (words[-2:-1] == ["a"] and words[-1] in COLOURS) or any(
        a in ("he", "she", "they") and b.endswith("ing") and len(b) > 5  # "they sing", "they bring" are verbs
        for a, b in zip(words, words[1:], strict=False)))


_CANNOT_END = frozenset(("a", "an", "the", "and", "or", "of", "with", "in", "on", "at", "to", "his", "her", "their",
                         "its", "is", "are"))
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def counted(word: str, count: int) -> str:
    """"a giraffe", "two giraffes", "several giraffes"; people: "a person", "two people", "a group of people"."""
    if word == PERSON:
        if count <= 1:
            return "a person"
        return f"{NUMBER_WORDS[count]} people" if count in NUMBER_WORDS else "a group of people"
    if count <= 1 or word in MASS_NOUNS:
        return with_article(word)
    return f"{NUMBER_WORDS.get(count, 'several')} {plural_of(word)}"


def with_detections(evidence: Evidence, found: Sequence[tuple[str, float, float]], vocabulary: TagMap,
                    settings: ChooserSettings | None = None) -> Evidence:
    """The tagger's evidence with the detector's findings (tag word, score) for what the detector speaks for:
    an object it covers (photocap.model.tag_vocabulary.covered_by_objects) is as probable as its best detection,
    the tagger's probability counting only for tagger_weight_on_objects of itself (a word below an object, a
    golden retriever, no more probable than its dog); people are the detector's too; a word above a detected
    object (animal) is at least as probable as the object. `found` is (tag word, score, share of the photo its
    box covers); objects are counted ("two giraffes") from count_above, if large enough to be a subject."""
    s = settings or ChooserSettings()
    best, counts = best_and_counts(found, s.count_above, s.subject_area)
    objects = object_tags()
    tags = dict(evidence.tags)
    for word in best.keys() | {w for w in tags if covered_by_objects(w)}:
        covering = [step for step in vocabulary.ancestry(word) if step in objects]
        if word in objects:
            tags[word] = max(best.get(word, 0.0), s.tagger_weight_on_objects * evidence.tags.get(word, 0.0))
        elif covering:
            above = covering[-1]
            ceiling = max(best.get(above, 0.0), s.tagger_weight_on_objects * evidence.tags.get(above, 0.0))
            tags[word] = min(evidence.tags.get(word, 0.0), ceiling)
    for word, score in best.items():
        for step in vocabulary.ancestry(word)[:-1]:
            if step not in objects:
                tags[step] = max(tags.get(step, 0.0), score)
    person = max(best.get(PERSON, 0.0), s.tagger_weight_on_people * evidence.person)
    return replace(evidence, tags=tags, person=person, counts=counts, detected=True)


def with_article(word: str) -> str:
    """"a zebra", "an airplane", "food"."""
    return word if word in MASS_NOUNS else f"{article(word)} {word}"


def plural_of(phrase: str) -> str:
    head, _, last = phrase.rpartition(" ")
    if last in _SAME_IN_PLURAL:
        plural = last
    elif re.search(r"(s|x|z|ch|sh)$", last):
        plural = last + "es"
    elif re.search(r"[^aeiou]y$", last):
        plural = last[:-1] + "ies"
    elif last.endswith("fe") and not last.endswith("ffe"):  # knives, not giraves
        plural = last[:-2] + "ves"
    else:
        plural = last + "s"
    return f"{head} {plural}".strip()


MASS_NOUNS = frozenset({"food", "furniture", "snow", "water", "bread", "clothing", "equipment", "fruit"})
_SAME_IN_PLURAL = frozenset({"sheep", "deer", "fish", "bison", "moose", "swine", "elk", "salmon", "trout"})


def _put(words: list[str], mention: Mention, tag: str) -> None:
    """Replace the mention's words by `tag` (in the mention's number), fixing a preceding a/an."""
    words[mention.start : mention.end] = (plural_of(tag) if mention.plural else tag).split()
    if mention.start > 0 and words[mention.start - 1].lower() in ("a", "an"):
        if tag in MASS_NOUNS:  # right to left, so the positions of earlier mentions stay valid
            del words[mention.start - 1]
        else:
            words[mention.start - 1] = article(tag)


@lru_cache(maxsize=4)
def _phrase_table(vocabulary: TagMap) -> dict[tuple[str, ...], tuple[str, bool]]:
    """Every tag word and synonym, singular and plural, as token tuples -> (tag, plural)."""
    table: dict[tuple[str, ...], tuple[str, bool]] = {}
    for tag in vocabulary.words():
        for name in vocabulary.synonyms(tag):
            name = name.lower()
            for phrase, plural in ((name, False), (plural_of(name), True)):
                if phrase not in NOT_OBJECT_WORDS:
                    table.setdefault(tuple(phrase.split()), (tag, plural))
    return table


def everyday_words_path() -> Path:
    return Path(str(resources.files("photocap") / "assets" / EVERYDAY_WORDS_FILE))


@lru_cache(maxsize=1)
def everyday_words() -> dict:
    """The shipped counts of tag words in everyday captions (train/everyday_words.py)."""
    return json.loads(everyday_words_path().read_text(encoding="utf-8"))

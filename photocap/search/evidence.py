"""Which evidence makes a photo a result for a word, and how a hit says what it matched (issue 20).

A photo is a result for a word when its caption says it, its file or folder names, place or time words hold it,
or a tag that is evidence holds it: the user's and the file's always, the tagger's and the detector's from the
strengths photocap.catalog.tags.matching measured for search (with their synonyms and broader words). The tags
and likely-words fields hold every weaker guess too: those only rank the photos that evidence found. The index
keeps the evidence tags' words in the unscored field `evidence`, and each photo's evidence tag per word in the
stored field `evidence_of`, so a hit cites the tag that matched with its strength and whether `show` lists it
among the tags or as "less sure" (a tag search trusts that is below the strength tags are shown from). A photo
with nothing but weaker guesses for the query's words is no result; `photocap search` and the web app may list it
after the results, set apart as "maybe" and not counted (photocap.search.library).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from photocap.search.time_words import NAMED_DAY_LABELS

if TYPE_CHECKING:
    from whoosh.query import Query

EVIDENCE_FIELD = "evidence"
RANKING_ONLY_FIELDS = ("tags", "words")  # every guess, down to 0.01: a query word there needs evidence too
# How `matched` names fields: "less_sure" is a tag search trusts that `show` lists as "less sure", not among the tags.
MATCHED_FIELD_NAMES = {"caption": "caption", "tags": "tags", "less_sure": "less sure", "names": "file name",
                       "place": "place", "when": "time taken"}
_SOURCE_NOTES = {"user": "yours", "file": "from the file", "detector": "seen"}


class Cited(NamedTuple):
    """The tag a matched word stands on: the tag, its strength, its source, and whether `show` lists it among the
    tags (else as "less sure")."""

    tag: str
    probability: float
    source: str
    shown: bool

    def described(self, word: str) -> str:
        """"dog (0.83, seen)", "kitten (cat 0.27)", "grandma (yours)": how `matched` cites it after `word`."""
        if self.source in ("user", "file"):
            strength = _SOURCE_NOTES[self.source]
        else:
            strength = f"{self.probability:.2f}" + (", seen" if self.source == "detector" else "")
        return f"{word} ({strength})" if self.tag == word else f"{word} ({self.tag} {strength})"


def evidence_query(query: Query) -> Query | None:
    """What a photo must match to be a result of `query`: the query with its words in the ranking-only fields
    looked up among the evidence instead (negations and ANDMAYBE's optional part as they are: they never add a
    photo). None when the query has no word in those fields."""
    from whoosh import query as whoosh_query

    changed = False

    def evidence_of(node: Query) -> Query:
        nonlocal changed
        if isinstance(node, whoosh_query.Not):
            return node
        if isinstance(node, whoosh_query.AndNot):
            return whoosh_query.AndNot(evidence_of(node.a), node.b)
        if isinstance(node, whoosh_query.AndMaybe):
            return evidence_of(node.a)
        if (isinstance(node, whoosh_query.And) and node.subqueries
                and all(type(sub) is whoosh_query.Term for sub in node.subqueries)
                and len({sub.fieldname for sub in node.subqueries}) == 1
                and node.subqueries[0].fieldname in RANKING_ONLY_FIELDS):
            # A quoted phrase among the tags (photocap.search.query): the evidence is a tag of those words.
            changed = True
            return whoosh_query.Term(EVIDENCE_FIELD, "_".join(sub.text for sub in node.subqueries))
        if node.is_leaf():
            if getattr(node, "fieldname", None) in RANKING_ONLY_FIELDS:
                changed = True
                moved = node.copy()
                moved.fieldname = EVIDENCE_FIELD
                return moved
            return node
        return node.apply(evidence_of)

    found = evidence_of(query)
    return found if changed else None


def person_evidence(query: Query) -> list[tuple[str, str]]:
    """The (field, term) pairs that are also evidence for a sentence query (PERSON_SENTENCE_WORDS distinct words or
    more) with a person word: any person word in the caption or among the evidence tags. A caption says "a boy"
    where the query says "a man", or "a man" for "two men", and the photo is still about a person; its other words
    rank it. A shorter query ("woman", "woman dog") keeps its words' own evidence."""
    texts = {text for _field, text in query.iter_all_terms()}
    if len(texts) < PERSON_SENTENCE_WORDS or not texts & person_words_by_term().keys():
        return []
    return [(field, term) for field in ("caption", EVIDENCE_FIELD) for term in sorted(person_words_by_term())]


# Words for people, and for people by what they are doing ("a surfer" is "a man" in another caption). Not "team" (of
# sled dogs too) nor "group" (of anything), nor words the stemmer makes an object's or a verb's ("skateboarder" is
# "skateboard", "performer" "perform", "officer" "offic" as in office).
PERSON_WORDS = ("man", "men", "woman", "women", "boy", "girl", "child", "children", "kid", "person", "people", "lady",
                "guy", "baby", "toddler", "teenager", "adult", "couple", "crowd", "family", "friend", "student",
                "bride", "groom", "tourist", "soldier", "worker", "musician", "dancer", "athlete", "player", "runner",
                "hiker", "climber", "swimmer", "surfer", "skier", "skater", "boarder", "biker", "cyclist",
                "bicyclist", "motorcyclist", "rider", "wrestler", "jockey", "cowboy", "fisherman", "golfer")
PERSON_SENTENCE_WORDS = 3


@lru_cache(maxsize=1)
def person_words_by_term() -> dict[str, str]:
    """PERSON_WORDS (and their plurals) as the caption and tags fields hold them ("peopl"), and the word each is."""
    from photocap.search.schema import schema

    analyzer = schema()["caption"].analyzer
    return {token.text: word for word in PERSON_WORDS for token in analyzer(word)}


# Where a hit holds a person word the query did not say (person_evidence), as scoring and `matched_words` pass it on.
PERSON_MATCH_FIELDS = {"caption": "person_in_caption", EVIDENCE_FIELD: "person_in_tags"}


def person_matches(also: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """person_evidence's (field, term) pairs as a hit's matched terms name them (PERSON_MATCH_FIELDS)."""
    return [(PERSON_MATCH_FIELDS[field], term) for field, term in also]


def _with_person_word(terms: list[tuple[str, str]], cited: Mapping[str, Sequence[Any]]) -> list[tuple[str, str]]:
    """The query's matched (field, term) pairs, and when none of them is a person word, the one person word that let
    the hit in: its caption's (the first), else its tags' (person_evidence)."""
    query_terms = [(field, text) for field, text in terms if field not in PERSON_MATCH_FIELDS.values()]
    person = person_words_by_term()
    if any(text in person and (field == "caption" or (field in RANKING_ONLY_FIELDS and text in cited))
           for field, text in query_terms):
        return query_terms
    in_caption = [("caption", text) for field, text in terms if field == PERSON_MATCH_FIELDS["caption"]]
    in_tags = [("tags", text) for field, text in terms
               if field == PERSON_MATCH_FIELDS[EVIDENCE_FIELD] and text in cited]
    return query_terms + (in_caption or in_tags)[:1]


def evidence_entries(tags: Iterable[tuple[str, float, str, bool]], terms_of: Any) -> list[tuple[str, Cited]]:
    """(search term, the tag it stands for) for each evidence tag (tag, probability, source, shown), its terms being
    `terms_of(tag, probability, source)` (its synonyms and broader words)."""
    return [(term, Cited(tag, probability, source, shown))
            for tag, probability, source, shown in tags for term in terms_of(tag, probability, source)]


def cited_by_word(entries: Sequence[tuple[str, Cited]], analyzer: Any) -> dict[str, Cited]:
    """Each evidence word as the index holds it, and the tag it stands on (a shown tag over a less sure one, then the
    stronger). A machine tag's term is one word however many it has ("teddy bear" is `teddi_bear`, as the analyzer
    stems it): a query for "bear" is not about a teddy bear, nor "dog" about a hot dog, nor "animal" about a
    stuffed animal, while "table" finds a dining table by the term "table" it has among its broader words. The
    user's and the file's tags are free text: each of their words is evidence too ("safari" finds "Safari 2019")."""
    cited: dict[str, Cited] = {}
    for term, tag in entries:
        words = [token.text for token in analyzer(term)]
        keys = {"_".join(words)} if words else set()
        if tag.source in ("user", "file"):
            keys.update(words)
        for key in keys:
            known = cited.get(key)
            if known is None or (tag.shown, tag.probability) > (known.shown, known.probability):
                cited[key] = tag
    return cited


def matched_words(terms: Iterable[tuple[str, str | bytes]], words_of_term: dict[str, list[str]],
                  cited: Mapping[str, Sequence[Any]]) -> tuple[dict[str, list[str]], dict[str, Cited]]:
    """The query words (as typed) a hit's matched (field, term) pairs stand for, by field in the query's order, and
    the tag each word matched among the tags stands on. A word the tags or likely words hold without evidence is
    left out (it only ranked the photo); one an evidence tag below the shown strength holds is under "less_sure"."""
    matched: dict[str, list[str]] = {}
    tags: dict[str, Cited] = {}
    texts = [(field, term.decode("utf-8") if isinstance(term, bytes) else str(term)) for field, term in terms]
    for field, text in _with_person_word(texts, cited):
        if field in RANKING_ONLY_FIELDS:
            if text not in cited:
                continue
            tag = Cited(*cited[text])
            field = "tags" if tag.shown else "less_sure"
            for word in words_of_term.get(text, [text]):
                tags.setdefault(word, tag)
        elif field not in MATCHED_FIELD_NAMES:
            continue
        for word in words_of_term.get(text, [text]):
            if field == "when":  # the index's one word for a named day, as people say it
                word = NAMED_DAY_LABELS.get(word, word)
            if word not in matched.setdefault(field, []):
                matched[field].append(word)
    if "tags" in matched and "less_sure" in matched:
        matched["less_sure"] = [word for word in matched["less_sure"] if word not in matched["tags"]]
    for field, words in matched.items():  # "dining table" says it all: not also "dining" and "table"
        named = {part for word in words if " " in word for part in word.split()}
        matched[field] = [word for word in words if word not in named]
    in_query = {word: position for position, word in enumerate(word for typed in words_of_term.values()
                                                                for word in typed)}
    return ({field: sorted(matched[field], key=lambda word: in_query.get(word, len(in_query)))
             for field in MATCHED_FIELD_NAMES if matched.get(field)},
            {word: tag for word, tag in tags.items() if any(word in matched.get(f, []) for f in ("tags", "less_sure"))})


def matched_text(matched: Mapping[str, Sequence[str]], tags: Mapping[str, Sequence[Any]] | None = None) -> str:
    """What a hit matched, as `search` and the web app say it: "caption: dog; tags: beach (0.62); less sure: dog
    (0.31, seen)"."""
    tags = tags or {}
    parts = []
    for field, words in matched.items():
        if field in ("tags", "less_sure"):
            words = [Cited(*tags[word]).described(word) if word in tags else word for word in words]
        parts.append(f"{MATCHED_FIELD_NAMES.get(field, field)}: {', '.join(words)}")
    return "; ".join(parts)

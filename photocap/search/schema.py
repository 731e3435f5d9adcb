"""What the search index holds: its Whoosh schema, the documents written to it, the hits read from it, the
ranking knobs and the errors. Whoosh is imported lazily (see photocap.search.index)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import PurePath
from typing import Any, NotRequired, TypedDict

from photocap.search.compounds import JOINER, compound_filter_class, compound_names_digest, read_compound_names
from photocap.search.evidence import Cited, cited_by_word
from photocap.search.spellings import AMERICAN_STEMS

REBUILD_HINT = "run `photocap rebuild-index`"
# 2: compound names are terms of their own (photocap.search.compounds); 3: British spellings are the American ones
# (photocap.search.spellings)
ANALYSIS_VERSION = 3
WEIGHT_PER_PROBABILITY = 5  # a likely word or tag with probability p counts as 5·p occurrences
MIN_WEIGHT = 0.01
MIN_LIKELY_WORD_PROBABILITY = 0.1
_WORD = re.compile(r"\w+(?:\.?\w+)*")
QUERYABLE_FIELDS = ("caption", "tags", "words", "names", "camera", "place", "when")  # what `field:` may name
SEARCHED_FIELDS = ("caption", "tags", "words", "names", "place", "when")  # where plain words are looked for
NAME_FOLDERS = 3  # the file's own name and its 3 nearest folders' names are searchable


class SearchIndexError(Exception):
    """The index cannot be opened, read or written; the message is one line and says what to do."""


class SearchIndexOutdated(SearchIndexError):
    """The index was built by another photocap version (another schema); a writer rebuilds it."""


class SearchQueryError(ValueError):
    """A malformed query; the message is one line and gives the reason."""


class SearchDoc(TypedDict):
    photo_id: int
    path: str
    folder: str
    caption: str
    words: Sequence[tuple[str, float]]  # concept words and their probabilities; may be empty
    # (tag, probability, source) shown with the photo, and the words that find it: each likely tag (shown
    # or not) with the synonyms people search with, and their probabilities.
    tags: NotRequired[Sequence[tuple[str, float, str]]]
    tag_terms: NotRequired[Sequence[tuple[str, float]]]
    # The words that make the photo a result (photocap.search.evidence): each evidence tag's search terms, and
    # the tag (tag, probability, source, shown among the tags) each stands for.
    evidence: NotRequired[Sequence[tuple[str, tuple[str, float, str, bool]]]]
    filter_tags: NotRequired[Sequence[str]]  # what --tag matches: the shown tags and their synonyms
    taken_at: datetime | None
    camera: str | None  # "make model"
    # Where it was taken: its place's names ("Nazaré Leiria Portugal"), country code and GPS position, if known.
    place_text: NotRequired[str]
    country_code: NotRequired[str | None]
    position: NotRequired[tuple[float, float] | None]
    # Its time words (season, named day, part of the day) and season key (photocap.search.time_words).
    when_words: NotRequired[Sequence[str]]
    season_keys: NotRequired[Sequence[str]]


@dataclass(frozen=True, slots=True)
class Hit:
    photo_id: int
    path: str
    caption: str
    score: float
    tags: tuple[tuple[str, float, str], ...] = ()  # (tag, probability, 'model' or 'user'), the user's first
    # field ("caption", "tags", "maybe", "names", "place", "when") -> query words it matched, and for the words
    # matched among the tags, the tag each stands on (photocap.search.evidence)
    matched: dict[str, list[str]] | None = None
    matched_tags: dict[str, Cited] | None = None
    maybe: bool = False  # not a result: only guesses weaker than evidence rank it (SearchIndex.maybe_hits)


@dataclass(frozen=True)
class Ranking:
    """Scoring knobs, kept together so that a benchmark can sweep them."""

    caption_boost: float = 1.0
    names_boost: float = 0.5  # file and folder names count, below what the photo shows
    words_boost: float = 2.0
    tags_boost: float = 2.0
    # A place's name counts three times a caption's word: as much as it helps "dog lisbon" without costing the queries
    # that name no place ("a baby in a bath" with photos taken in Bath): benchmarks/place_boost.py.
    place_boost: float = 3.0
    when_boost: float = 0.5  # a time word the date gives counts half what the caption saying it does
    # Coordination bonus: a photo matching every query word scores (1 + or_factor) times its BM25F score,
    # one matching a single word 1 times (see `coordinated_or_class`); 0 means a plain OR.
    or_factor: float = 0.5
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


DEFAULT_RANKING = Ranking()


# ---------------------------------------------------------------------------------------------------
# Schema and documents


def stem_word(word: str) -> str:
    """Porter2, with British spellings as the American ones (photocap.search.spellings: "colours" -> "color"); a
    compound name's term is left as it is: it is its words, already stemmed, joined."""
    if JOINER in word:
        return word
    from whoosh.lang.porter2 import stem

    stemmed = stem(word)
    return AMERICAN_STEMS.get(stemmed, stemmed)


def analysis_field() -> str:
    """The name of the schema's field that says how the index was analysed: ANALYSIS_VERSION and the compound
    names' digest."""
    return f"analysis_{ANALYSIS_VERSION}_{compound_names_digest()[:12]}"


@lru_cache(maxsize=1)
def schema() -> Any:
    from whoosh import fields
    from whoosh.analysis import (
        CharsetFilter,
        DelimitedAttributeFilter,
        LowercaseFilter,
        RegexTokenizer,
        StemFilter,
        StemmingAnalyzer,
        StopFilter,
    )
    from whoosh.support.charset import accent_map

    # whoosh's default Porter stemmer leaves double consonants ("running" -> "runn", "sitting" -> "sitt"),
    # so it would never match "runs" or "sits"; Porter2 (Snowball English) gets them right.
    stemmed = StemmingAnalyzer(stemfn=stem_word)
    # A caption's compound names ("a hot dog") are also terms of their own (photocap.search.compounds).
    described = stemmed | compound_filter_class()()
    # "dog^4.85": the word dog, weighing 4.85 (its probability times WEIGHT_PER_PROBABILITY) in BM25F's term
    # frequency. Queries have no "^" left by the time they are analysed (the parser takes it as a boost).
    weighted = (RegexTokenizer(r"\w+(?:\.?\w+)*(?:\^[0-9.]+)?") | DelimitedAttributeFilter() | LowercaseFilter()
                | StopFilter() | StemFilter(stemfn=stem_word))
    return fields.Schema(
        photo_id=fields.ID(unique=True, stored=True),
        path=fields.STORED(),  # never searched: an indexed path would be a million terms at a million photos
        # The photo's folder and every ancestor, NUL-separated (the one byte a path cannot hold), so a
        # folder filter is a single exact term and "/a/b" never matches "/a/bc".
        folder=fields.IDLIST(expression=re.compile(r"[^\x00]+")),
        caption=fields.TEXT(analyzer=described, stored=True),
        # No word positions but the caption's: quoted phrases are the caption's words in order, and positions
        # cost every search (each posting's are unpickled with it) and every index write.
        names=fields.TEXT(analyzer=stemmed, phrase=False),
        words=fields.TEXT(analyzer=weighted, phrase=False),
        tags=fields.TEXT(analyzer=weighted, phrase=False),
        # The tags that make a photo a result, one term each, as photocap.search.evidence.cited_by_word writes
        # them (analysed as the tags are, so that a query word is the same term here); never scored.
        evidence=fields.KEYWORD(),
        evidence_of=fields.STORED(),
        # Exact tag names and synonyms, for the --tag filter ("teddy bear" is one term).
        tag=fields.KEYWORD(commas=True, lowercase=True),
        tags_shown=fields.STORED(),
        taken=fields.DATETIME(),
        camera=fields.TEXT(analyzer=RegexTokenizer() | LowercaseFilter(), stored=True),
        # Place names, accents folded ("sao paulo" finds São Paulo), and the GPS position for --near.
        # Stemmed as the caption is, so that a query word is one term in every field (the coordination bonus
        # counts distinct terms).
        place=fields.TEXT(analyzer=RegexTokenizer() | LowercaseFilter() | StopFilter() | CharsetFilter(accent_map)
                          | StemFilter(stemfn=stem_word), phrase=False),
        country=fields.ID(),  # the place's country code, lower case ("it", "us": stop words as words)
        lat=fields.NUMERIC(float, bits=64, stored=True, signed=True),
        lon=fields.NUMERIC(float, bits=64, stored=True, signed=True),
        when=fields.TEXT(analyzer=stemmed, phrase=False),
        season=fields.KEYWORD(lowercase=False, commas=True),
        # Never written. Whoosh compares schemas by their fields' names and formats, not their analysers, so an
        # index analysed otherwise (before compound names, or with other names) would pass as current: this field's
        # name changes with the analysis, and the index an older photocap built is rebuilt.
        **{analysis_field(): fields.STORED()},
    )


def document_fields(doc: SearchDoc) -> dict[str, Any]:
    """The keyword arguments for Whoosh's `add_document`/`update_document`."""
    fields: dict[str, Any] = {
        "photo_id": str(doc["photo_id"]),
        "path": doc["path"],
        "folder": "\x00".join(indexable(folder) for folder in folder_and_ancestors(doc["folder"])),
        "caption": indexable(doc["caption"]),
        "names": indexable(name_words(doc["path"])),
        "_stored_caption": doc["caption"],
        # Below 0.1 the word head's words are mostly noise (and cost postings): as when they were repeated
        # round(5p) times, they are left out.
        "words": weighted_words((word, p) for word, p in doc["words"] if p >= MIN_LIKELY_WORD_PROBABILITY),
        "tags": weighted_words(doc.get("tag_terms", ())),
        "tag": ",".join(sorted({indexable(term.lower()) for term in doc.get("filter_tags", ()) if "," not in term})),
        "tags_shown": [[tag, round(p, 4), source] for tag, p, source in doc.get("tags", ())],
    }
    entries = [(term, Cited(tag, round(p, 4), source, shown)) for term, (tag, p, source, shown)
               in doc.get("evidence", ())]
    if entries:
        cited = cited_by_word(entries, schema()["tags"].analyzer)
        fields["evidence"] = indexable(" ".join(cited))
        fields["evidence_of"] = {word: list(tag) for word, tag in cited.items()}
    if doc["taken_at"] is not None:
        # EXIF times are wall-clock times; Whoosh wants naive datetimes.
        fields["taken"] = doc["taken_at"].replace(tzinfo=None)
    if doc["camera"]:
        fields["camera"] = indexable(doc["camera"])
        fields["_stored_camera"] = doc["camera"]
    if doc.get("place_text"):
        fields["place"] = indexable(doc.get("place_text", ""))
    if doc.get("country_code"):
        fields["country"] = indexable((doc.get("country_code") or "").lower())
    position = doc.get("position")
    if position is not None:
        fields["lat"], fields["lon"] = position
    if doc.get("when_words"):
        fields["when"] = " ".join(doc.get("when_words", ()))
    if doc.get("season_keys"):
        fields["season"] = ",".join(doc.get("season_keys", ()))
    return fields


_NAME_TOKENS = re.compile(r"[^\W_]+")


def name_words(path: str) -> str:
    """The words of a photo's file name (without its extension) and its nearest folders' names, split where
    people would: "IMG_20230714_1530.jpg" -> "IMG 20230714 1530", "plageNice2019" -> "plage Nice 2019"."""
    parts = PurePath(path).parts
    names = [PurePath(path).stem, *reversed(parts[-1 - NAME_FOLDERS : -1])]
    return " ".join(word for name in names for token in _NAME_TOKENS.findall(name) for word in _split_word(token))


def _split_word(token: str) -> list[str]:
    """"birthdayParty2019" -> birthday, Party, 2019: lower case to upper case, and letters to digits."""
    words, start = [], 0
    for i in range(1, len(token)):
        before, here = token[i - 1], token[i]
        if (before.islower() and here.isupper()) or (before.isdigit() != here.isdigit()):
            words.append(token[start:i])
            start = i
    words.append(token[start:])
    return words


def folder_and_ancestors(folder: str) -> list[str]:
    path = PurePath(os.path.normpath(folder))
    return [str(path), *(str(parent) for parent in path.parents)]


def weighted_words(words: Iterable[tuple[str, float]]) -> str:
    """Each word (each word of a phrase, and a compound name's term: photocap.search.compounds) weighing
    WEIGHT_PER_PROBABILITY times its probability, as the `weighted` analyser reads it: "teddy^1.5 bear^1.5
    teddi_bear^1.5 dog^4.85". However unlikely, a word is findable: a
    photo the tagger calls 0.02 pizza is a better answer to "pizza" than none, and ranks below likelier ones."""
    weighted = []
    for phrase, probability in words:
        weight = max(WEIGHT_PER_PROBABILITY * min(max(probability, 0.0), 1.0), MIN_WEIGHT)
        phrase_words = _WORD.findall(phrase)
        compound = read_compound_names().get(" ".join(phrase_words).lower()) if len(phrase_words) > 1 else None
        weighted.extend(f"{word}^{weight:.3g}" for word in [*phrase_words, *([compound.term] if compound else [])])
    return " ".join(weighted)


def indexable(text: str) -> str:
    """`text` with any lone surrogates (undecodable file-name bytes) spelled out, since Whoosh stores
    terms as UTF-8. Valid text comes back unchanged."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")



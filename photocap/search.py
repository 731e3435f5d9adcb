"""The Whoosh full-text index of captions: schema, writes, and queries.

The index is derived from the catalog and can always be rebuilt from it (`photocap rebuild-index`).
Whoosh is imported lazily so that importing this module (for `SearchDoc`, `Hit` and the errors) costs
nothing; `photocap search` pays for Whoosh only, never for torch or SQLAlchemy.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

if TYPE_CHECKING:
    from whoosh.index import FileIndex
    from whoosh.qparser import QueryParser
    from whoosh.query import Query
    from whoosh.writing import IndexWriter

__all__ = [
    "DEFAULT_RANKING",
    "Hit",
    "Ranking",
    "SearchDoc",
    "SearchIndex",
    "SearchIndexError",
    "SearchIndexOutdated",
    "SearchQueryError",
    "check_whoosh_syntax",
    "filter_query",
    "looks_like_whoosh_syntax",
    "parse_query",
    "plain_words",
]

DEFAULT_LOCK_TIMEOUT = 10.0  # seconds to wait for another process's writer before giving up
LOCK_RETRY_DELAY = 0.1
LOCKED_MESSAGE = "search index is locked by another photocap process"
REBUILD_HINT = "run `photocap rebuild-index`"

WEIGHT_PER_PROBABILITY = 5  # a likely word or tag with probability p counts as 5·p occurrences
MIN_WEIGHT = 0.01
MIN_LIKELY_WORD_PROBABILITY = 0.1
_WORD = re.compile(r"\w+(?:\.?\w+)*")
QUERYABLE_FIELDS = ("caption", "tags", "words", "camera")  # what `field:` may name in a Whoosh-syntax query
SEARCHED_FIELDS = ("caption", "tags", "words")  # where plain words are looked for
BINARY_OPERATORS = frozenset({"AND", "OR", "ANDNOT", "ANDMAYBE"})
# Whoosh writes its lock as "<indexname>_WRITELOCK"; we take it by name to swap in a rebuilt index even
# when the old one is too damaged to open.
WHOOSH_WRITE_LOCK = "MAIN_WRITELOCK"


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
    filter_tags: NotRequired[Sequence[str]]  # what --tag matches: the shown tags and their synonyms
    taken_at: datetime | None
    camera: str | None  # "make model"


@dataclass(frozen=True, slots=True)
class Hit:
    photo_id: int
    path: str
    caption: str
    score: float
    tags: tuple[tuple[str, float, str], ...] = ()  # (tag, probability, 'model' or 'user'), the user's first
    matched: dict[str, list[str]] | None = None  # field ("caption", "tags", "words") -> query words it matched


@dataclass(frozen=True)
class Ranking:
    """Scoring knobs, kept together so that a benchmark can sweep them."""

    caption_boost: float = 1.0
    words_boost: float = 2.0
    tags_boost: float = 2.0
    # Coordination bonus: a photo matching every query word scores (1 + or_factor) times its BM25F score,
    # one matching a single word 1 times (see `_coordinated_or_class`); 0 means a plain OR.
    or_factor: float = 0.5
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


DEFAULT_RANKING = Ranking()


# ---------------------------------------------------------------------------------------------------
# Schema and documents


@lru_cache(maxsize=1)
def schema() -> Any:
    from whoosh import fields
    from whoosh.analysis import (
        DelimitedAttributeFilter,
        LowercaseFilter,
        RegexTokenizer,
        StemFilter,
        StemmingAnalyzer,
        StopFilter,
    )
    from whoosh.lang.porter2 import stem

    # whoosh's default Porter stemmer leaves double consonants ("running" -> "runn", "sitting" -> "sitt"),
    # so it would never match "runs" or "sits"; Porter2 (Snowball English) gets them right.
    stemmed = StemmingAnalyzer(stemfn=stem)
    # "dog^4.85": the word dog, weighing 4.85 (its probability times WEIGHT_PER_PROBABILITY) in BM25F's term
    # frequency. Queries have no "^" left by the time they are analysed (the parser takes it as a boost).
    weighted = (RegexTokenizer(r"\w+(?:\.?\w+)*(?:\^[0-9.]+)?") | DelimitedAttributeFilter() | LowercaseFilter()
                | StopFilter() | StemFilter(stemfn=stem))
    return fields.Schema(
        photo_id=fields.ID(unique=True, stored=True),
        path=fields.ID(stored=True),
        # The photo's folder and every ancestor, NUL-separated (the one byte a path cannot hold), so a
        # folder filter is a single exact term and "/a/b" never matches "/a/bc".
        folder=fields.IDLIST(expression=re.compile(r"[^\x00]+")),
        caption=fields.TEXT(analyzer=stemmed, stored=True),
        words=fields.TEXT(analyzer=weighted),
        tags=fields.TEXT(analyzer=weighted),
        # Exact tag names and synonyms, for the --tag filter ("teddy bear" is one term).
        tag=fields.KEYWORD(commas=True, lowercase=True),
        tags_shown=fields.STORED(),
        taken=fields.DATETIME(),
        camera=fields.TEXT(analyzer=RegexTokenizer() | LowercaseFilter(), stored=True),
    )


def document_fields(doc: SearchDoc) -> dict[str, Any]:
    """The keyword arguments for Whoosh's `add_document`/`update_document`."""
    fields: dict[str, Any] = {
        "photo_id": str(doc["photo_id"]),
        "path": indexable(doc["path"]),
        "_stored_path": doc["path"],
        "folder": "\x00".join(indexable(folder) for folder in folder_and_ancestors(doc["folder"])),
        "caption": indexable(doc["caption"]),
        "_stored_caption": doc["caption"],
        # Below 0.1 the word head's words are mostly noise (and cost postings): as when they were repeated
        # round(5p) times, they are left out.
        "words": weighted_words((word, p) for word, p in doc["words"] if p >= MIN_LIKELY_WORD_PROBABILITY),
        "tags": weighted_words(doc.get("tag_terms", ())),
        "tag": ",".join(sorted({indexable(term.lower()) for term in doc.get("filter_tags", ()) if "," not in term})),
        "tags_shown": [[tag, round(p, 4), source] for tag, p, source in doc.get("tags", ())],
    }
    if doc["taken_at"] is not None:
        # EXIF times are wall-clock times; Whoosh wants naive datetimes.
        fields["taken"] = doc["taken_at"].replace(tzinfo=None)
    if doc["camera"]:
        fields["camera"] = indexable(doc["camera"])
        fields["_stored_camera"] = doc["camera"]
    return fields


def folder_and_ancestors(folder: str) -> list[str]:
    path = PurePath(os.path.normpath(folder))
    return [str(path), *(str(parent) for parent in path.parents)]


def weighted_words(words: Iterable[tuple[str, float]]) -> str:
    """Each word (each word of a phrase) weighing WEIGHT_PER_PROBABILITY times its probability, as the
    `weighted` analyser reads it: "teddy^1.5 bear^1.5 dog^4.85". However unlikely, a word is findable: a
    photo the tagger calls 0.02 pizza is a better answer to "pizza" than none, and ranks below likelier ones."""
    weighted = []
    for phrase, probability in words:
        weight = max(WEIGHT_PER_PROBABILITY * min(max(probability, 0.0), 1.0), MIN_WEIGHT)
        weighted.extend(f"{word}^{weight:.3g}" for word in _WORD.findall(phrase))
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


# ---------------------------------------------------------------------------------------------------
# Queries


_PLAIN_UNSAFE = re.compile(r"[^\w\s]+")
_SYNTAX_CHARACTERS = re.compile(r'["()*\[\]{}^]|\?(?=.)|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|\w+:(?!\s)', re.DOTALL)
_QUERY_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_FIELD_PREFIX = re.compile(r"^(\w+):(.*)$", re.DOTALL)


def plain_words(text: str) -> str:
    """`text` as plain words: punctuation becomes spaces and AND/OR/NOT lose their operator meaning, so
    any sentence (a human caption, say) parses as the words it contains."""
    return _PLAIN_UNSAFE.sub(" ", text).lower()


def looks_like_whoosh_syntax(text: str) -> bool:
    """True when `text` uses quotes, parentheses, wildcards, operators in capitals or `field:`."""
    return _SYNTAX_CHARACTERS.search(text.strip()) is not None


def parse_query(text: str, *, syntax: bool | None = None, ranking: Ranking = DEFAULT_RANKING) -> Query:
    """Parse `text` into a Whoosh query over the caption, tags and words fields.

    `syntax=False` treats `text` as plain words, `True` as Whoosh syntax (checked strictly), and `None`
    decides by `looks_like_whoosh_syntax`. Raises `SearchQueryError` for a malformed or empty query.
    """
    from whoosh.query import NullQuery

    if not text.strip():
        raise SearchQueryError("empty query")
    if syntax is None:
        syntax = looks_like_whoosh_syntax(text)
    if syntax:
        check_whoosh_syntax(text)
    else:
        text = plain_words(text)
    try:
        query = _parser(ranking).parse(text)
    except Exception as error:  # Whoosh's parser rarely raises; when it does the query is at fault
        raise SearchQueryError(f"cannot parse query: {error}") from error
    if query is NullQuery:
        raise SearchQueryError("query has no searchable words (common words like 'the' and 'a' are ignored)")
    return _negations_exclude(query)


def check_whoosh_syntax(text: str) -> None:
    """Raise `SearchQueryError` for what Whoosh's lenient parser would silently guess at: unbalanced
    quotes or parentheses, dangling operators, unknown or empty fields."""
    if text.count('"') % 2:
        raise SearchQueryError('unbalanced quotes: a " is never closed')
    tokens = _QUERY_TOKEN.findall(text)
    _check_parentheses(tokens)
    for position, token in enumerate(tokens):
        before = tokens[position - 1] if position > 0 else None
        after = tokens[position + 1] if position + 1 < len(tokens) else None
        _check_operator(token, before, after)
        _check_field(token, after)


def _check_parentheses(tokens: list[str]) -> None:
    depth = 0
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        if token == "(":
            depth += 1
            if following == ")":
                raise SearchQueryError("empty parentheses: () holds nothing to search for")
        elif token == ")":
            depth -= 1
            if depth < 0:
                raise SearchQueryError("unbalanced parentheses: a ) has no matching (")
    if depth:
        raise SearchQueryError("unbalanced parentheses: a ( is never closed")


def _is_operand_start(token: str | None) -> bool:
    return token is not None and token != ")" and token not in BINARY_OPERATORS


def _check_operator(token: str, before: str | None, after: str | None) -> None:
    if token in BINARY_OPERATORS and (before is None or before == "(" or before in BINARY_OPERATORS | {"NOT"}):
        raise SearchQueryError(f"operator {token} has nothing to its left")
    if (token in BINARY_OPERATORS or token == "NOT") and not _is_operand_start(after):
        raise SearchQueryError(f"operator {token} has nothing to its right")


def _check_field(token: str, after: str | None) -> None:
    match = _FIELD_PREFIX.match(token)
    if not match:
        return
    field, value = match.groups()
    if field not in QUERYABLE_FIELDS:
        raise SearchQueryError(f"unknown field {field!r} (searchable fields: {', '.join(QUERYABLE_FIELDS)})")
    if not value and not _is_operand_start(after):
        raise SearchQueryError(f"field {field}: has nothing after it")


@lru_cache(maxsize=32)
def _parser(ranking: Ranking) -> QueryParser:
    from whoosh import qparser

    return qparser.MultifieldParser(
        list(SEARCHED_FIELDS),
        schema(),
        fieldboosts={"caption": ranking.caption_boost, "words": ranking.words_boost, "tags": ranking.tags_boost},
        group=_or_group(ranking.or_factor) if ranking.or_factor else qparser.OrGroup,
    )


@lru_cache(maxsize=32)
def _or_group(bonus: float) -> type:
    from whoosh import qparser

    coordinated_or = _coordinated_or_class()

    class CoordinatedOrGroup(qparser.OrGroup):
        qclass = coordinated_or

        def __init__(self, nodes: Any = None, **kwargs: Any) -> None:
            kwargs["scale"] = bonus
            super().__init__(nodes=nodes, **kwargs)

    return CoordinatedOrGroup


@lru_cache(maxsize=1)
def _coordinated_or_class() -> type:
    """An OR query that rewards documents for containing more of the query's words.

    A document matching m of the query's n distinct words scores its BM25F score times
    1 + bonus·(m−1)/(n−1); a word counts once however many fields it matched in. Whoosh's own
    `OrGroup.factory` (its CoordMatcher) is not used: it multiplies every score by (t−1)/t, t being the
    number of query terms present in the index, so a query whose words occur in only one field scores
    every photo 0, and it recounts t whenever a sub-matcher runs out, so scores drift during a search.
    Defined in a function so that importing this module does not import Whoosh.
    """
    from whoosh import matching, query

    class WordCoordinationMatcher(matching.WrappingMatcher):
        def __init__(self, child: Any, bonus: float, word_count: int) -> None:
            super().__init__(child)
            self._bonus = bonus
            self._word_count = word_count  # fixed for the whole search, unlike Whoosh's CoordMatcher
            # The term matchers and their words, listed once: walking the tree for every document
            # (Whoosh's `matching_terms`) costs more than the rest of the scoring.
            self._leaves = [(leaf, leaf.term()[1]) for leaf in child.term_matchers()]

        def copy(self) -> Any:
            return WordCoordinationMatcher(self.child.copy(), self._bonus, self._word_count)

        def _replacement(self, newchild: Any) -> Any:
            return WordCoordinationMatcher(newchild, self._bonus, self._word_count)

        def _factor(self, matched_words: int) -> float:
            if self._word_count < 2:
                return 1.0
            return 1.0 + self._bonus * (matched_words - 1) / (self._word_count - 1)

        def score(self) -> float:
            docnum = self.child.id()
            matched_words = {word for leaf, word in self._leaves if leaf.is_active() and leaf.id() == docnum}
            return self.child.score() * self._factor(len(matched_words))

        def max_quality(self) -> float:
            return self.child.max_quality() * self._factor(self._word_count)

        def block_quality(self) -> float:
            return self.child.block_quality() * self._factor(self._word_count)

        # A child's score is multiplied by up to the full bonus, so what it must reach is divided by it.
        def replace(self, minquality: float = 0) -> Any:
            replacement = self.child.replace(minquality / self._factor(self._word_count))
            return self if replacement is self.child else self._replacement(replacement)

        def skip_to_quality(self, minquality: float) -> int:
            return self.child.skip_to_quality(minquality / self._factor(self._word_count))

    class CoordinatedOr(query.Or):
        def _matcher(self, subs: Any, searcher: Any, context: Any) -> Any:
            reader = searcher.reader()
            if self.scale and context is not None:
                # The bonus reads which leaves sit on the current document, so they must be kept current
                # (a collector that needs no terms lets Whoosh leave some of them behind).
                context = context.set(needs_current=True)
            union = self._tree_matcher(
                subs, matching.UnionMatcher, searcher, context, lambda q: q.estimate_size(reader)
            )
            # The query's distinct words, not those a segment happens to hold: a photo's bonus must not
            # depend on which segment of the index it was written to.
            word_count = len({text for _field, text in self.iter_all_terms()})
            return WordCoordinationMatcher(union, self.scale, word_count) if self.scale else union

    return CoordinatedOr


def _negations_exclude(query: Query) -> Query:
    """Make `dog NOT cat` mean dog but not cat. Inside an OR group Whoosh reads it as dog OR (NOT cat),
    which matches every photo without a cat."""
    from whoosh.query import AndNot, Not, Or

    if query.is_leaf():
        return query
    if not isinstance(query, Or):
        return query.apply(_negations_exclude)

    def same_or(subqueries: list[Query]) -> Query:  # `Query.apply` would drop the coordination bonus
        return query.__class__(subqueries, boost=query.boost, minmatch=query.minmatch, scale=query.scale)

    subqueries = [_negations_exclude(sub) for sub in query.subqueries]
    excluded = [sub.query for sub in subqueries if isinstance(sub, Not)]
    wanted = [sub for sub in subqueries if not isinstance(sub, Not)]
    if not excluded or not wanted:
        return same_or(subqueries)
    positive = wanted[0] if len(wanted) == 1 else same_or(wanted)
    negative = excluded[0] if len(excluded) == 1 else Or(excluded)
    return AndNot(positive, negative)


def filter_query(
    *,
    folder: str | os.PathLike[str] | None = None,
    after: date | None = None,
    before: date | None = None,
    camera: str | None = None,
    tags: Sequence[str] = (),
) -> Query | None:
    """The restriction the options ask for (all of them at once), or None for no restriction."""
    from whoosh import query

    parts: list[Query] = []
    if folder is not None:
        parts.append(query.Or([query.Term("folder", indexable(f)) for f in _folder_spellings(folder)]))
    if after is not None or before is not None:
        start = datetime.combine(_as_date(after), time.min) if after is not None else None
        end = datetime.combine(_as_date(before), time.max) if before is not None else None
        parts.append(query.DateRange("taken", start, end))
    if camera is not None:
        camera_words = [token.text for token in schema()["camera"].analyzer(camera)]
        if not camera_words:
            raise SearchQueryError(f"camera filter {camera!r} has no words")
        parts.extend(query.Term("camera", word) for word in camera_words)
    for tag in tags:
        word = " ".join(tag.lower().split())
        if not word:
            raise SearchQueryError("an empty --tag")
        parts.append(query.Term("tag", indexable(word)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


def _folder_spellings(folder: str | os.PathLike[str]) -> set[str]:
    """The folder as typed (made absolute) and with symlinks resolved, since the catalog may hold either."""
    absolute = os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(folder))))
    return {absolute, os.path.realpath(absolute)}


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


# ---------------------------------------------------------------------------------------------------
# The index


class SearchIndex:
    """A Whoosh index in one directory. Open it with `SearchIndex.open`."""

    def __init__(self, index_dir: Path, whoosh_index: FileIndex, lock_timeout: float) -> None:
        self.index_dir = index_dir
        self._index = whoosh_index
        self._lock_timeout = lock_timeout

    @classmethod
    def open(
        cls,
        index_dir: str | os.PathLike[str],
        create: bool = True,
        *,
        repair: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> SearchIndex:
        """Open the index in `index_dir`, creating an empty one there if there is none and `create`.

        Raises `SearchIndexError` if there is no index and not `create`, or if the index is unreadable;
        with `repair`, an unreadable index is replaced by an empty one instead (to be rebuilt).
        """
        from whoosh import index

        index_dir = Path(index_dir)
        try:
            if _has_table_of_contents(index_dir):
                return cls(index_dir, _open_existing(index_dir), lock_timeout)
            if _has_segments(index_dir):
                raise SearchIndexError(f"search index in {index_dir} is damaged (no table of contents); {REBUILD_HINT}")
        except SearchIndexError:
            if not repair:
                raise
            return cls.rebuild_at(index_dir, [], lock_timeout=lock_timeout)
        if not create:
            raise SearchIndexError(f"no search index in {index_dir}; {REBUILD_HINT}")
        index_dir.mkdir(parents=True, exist_ok=True)
        return cls(index_dir, index.create_in(str(index_dir), schema()), lock_timeout)

    @classmethod
    def rebuild_at(
        cls,
        index_dir: str | os.PathLike[str],
        docs: Iterable[SearchDoc],
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> SearchIndex:
        """Build a new index of `docs` beside `index_dir` and swap it in, without ever reading the old
        index (so this repairs a damaged one). Searches see the old index until the swap."""
        index_dir = Path(index_dir)
        if index_dir.exists() and not _may_replace(index_dir):
            raise SearchIndexError(f"refusing to replace {index_dir}: it is not a search index")
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.rebuild-", dir=index_dir.parent))
        try:
            _build_index(staging, docs, lock_timeout)
            _swap_in(staging, index_dir, lock_timeout)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cls.open(index_dir, create=False, lock_timeout=lock_timeout)

    def rebuild(self, docs: Iterable[SearchDoc]) -> int:
        """Replace the whole index with `docs`; returns how many documents it now holds."""
        rebuilt = SearchIndex.rebuild_at(self.index_dir, docs, lock_timeout=self._lock_timeout)
        self._index.close()
        self._index = rebuilt._index
        return self.doc_count()

    def upsert(self, docs: Iterable[SearchDoc], *, merge: bool = True) -> int:
        """Add or replace (by photo_id) each document, in one commit; returns how many were written. With
        merge False the commit leaves small segments unmerged (quicker; for commits during a long run)."""
        docs = list(docs)
        if docs:
            with self._writer(merge=merge) as writer:
                for doc in docs:
                    writer.update_document(**document_fields(doc))
        return len(docs)

    def delete(self, photo_ids: Iterable[int]) -> int:
        """Remove the documents of `photo_ids`, in one commit; returns how many were removed."""
        photo_ids = list(photo_ids)
        if not photo_ids:
            return 0
        with self._writer() as writer:
            return sum(writer.delete_by_term("photo_id", str(photo_id)) for photo_id in photo_ids)

    def photo_ids(self) -> set[int]:
        with self._reader() as reader:
            return {int(reader.stored_fields(docnum)["photo_id"]) for docnum in reader.all_doc_ids()}

    def doc_count(self) -> int:
        with self._reader() as reader:
            return reader.doc_count()

    def search(
        self,
        query: str,
        *,
        limit: int | None = 20,
        folder: str | os.PathLike[str] | None = None,
        after: date | None = None,
        before: date | None = None,
        camera: str | None = None,
        tags: Sequence[str] = (),
        syntax: bool | None = None,
        ranking: Ranking = DEFAULT_RANKING,
        explain: bool = False,
    ) -> list[Hit]:
        """The photos best matching `query`, best first, restricted to `folder` (and its subfolders),
        to photos taken from `after` to `before` (both inclusive), to cameras whose make or model
        has every word of `camera`, and to photos with every tag of `tags`. See `parse_query` for `syntax`;
        raises `SearchQueryError`. With `explain`, each hit says which query words matched in which field."""
        from whoosh.scoring import BM25F

        parsed = parse_query(query, syntax=syntax, ranking=ranking)
        restriction = filter_query(folder=folder, after=after, before=before, camera=camera, tags=tags)
        weighting = BM25F(B=ranking.bm25_b, K1=ranking.bm25_k1)
        words_of_term = _query_words_by_term(query) if explain else {}
        with self._reading(), self._index.searcher(weighting=weighting) as searcher:
            results = searcher.search(parsed, limit=limit, filter=restriction, terms=explain)
            return [Hit(int(hit["photo_id"]), hit["path"], hit["caption"], float(hit.score),
                        tags=tuple((str(t), float(p), str(source)) for t, p, source in hit.get("tags_shown", [])),
                        matched=_matched(hit, words_of_term) if explain else None)
                    for hit in results]

    def unknown_words(self, query: str) -> list[str]:
        """The query's words that no caption, tag or concept word in the index contains, as typed."""
        words = _query_words_by_term(query)
        with self._reader() as reader:
            known = {term for term in words
                     if any(reader.doc_frequency(field, term) for field in SEARCHED_FIELDS)}
        return sorted({word for term, typed in words.items() if term not in known for word in typed})

    def close(self) -> None:
        self._index.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _writer(self, merge: bool = True) -> Iterator[IndexWriter]:
        with self._reading():  # a writer reads the existing segments too
            writer = _locked_writer(self._index, self._lock_timeout)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(merge=merge)

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        with self._reading(), self._index.reader() as reader:
            yield reader

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn the errors a damaged index raises while being read into a `SearchIndexError`."""
        try:
            yield
        except _damage_errors() as error:
            raise _damaged(self.index_dir, error) from error


def _query_words_by_term(query: str) -> dict[str, list[str]]:
    """The query's words (operators and field names aside) by the term the index holds for them."""
    analyzer = schema()["caption"].analyzer
    found: dict[str, list[str]] = {}
    for token in _QUERY_TOKEN.findall(query):
        if token in BINARY_OPERATORS or token == "NOT":
            continue
        match = _FIELD_PREFIX.match(token)
        if match and match.group(1) in QUERYABLE_FIELDS:
            token = match.group(2)
        for word in plain_words(token).split():
            for analyzed in analyzer(word):
                found.setdefault(analyzed.text, [])
                if word not in found[analyzed.text]:
                    found[analyzed.text].append(word)
    return found


def _matched(hit: Any, words_of_term: dict[str, list[str]]) -> dict[str, list[str]]:
    matched: dict[str, list[str]] = {}
    for field, term in hit.matched_terms() or []:
        if field not in SEARCHED_FIELDS:
            continue
        text = term.decode("utf-8") if isinstance(term, bytes) else str(term)
        for word in words_of_term.get(text, [text]):
            if word not in matched.setdefault(field, []):
                matched[field].append(word)
    return {field: matched[field] for field in SEARCHED_FIELDS if field in matched}


def _has_table_of_contents(index_dir: Path) -> bool:
    return index_dir.is_dir() and any(index_dir.glob("_MAIN_*.toc"))


def _has_segments(index_dir: Path) -> bool:
    return index_dir.is_dir() and any(index_dir.glob("*.seg"))


def _may_replace(index_dir: Path) -> bool:
    """Whether `index_dir` is an index (even a damaged one) or empty, never someone's other files."""
    if not index_dir.is_dir():
        return False
    names = [entry.name for entry in index_dir.iterdir()]
    return not names or any(name.endswith((".toc", ".seg")) or name == WHOOSH_WRITE_LOCK for name in names)


def _open_existing(index_dir: Path) -> FileIndex:
    from whoosh import index

    try:
        whoosh_index = index.open_dir(str(index_dir))
        with whoosh_index.reader() as reader:
            reader.doc_count()
    except Exception as error:  # a damaged index fails in many ways (pickle, struct, EOF, OS errors)
        raise _damaged(index_dir, error) from error
    if whoosh_index.schema != schema():
        whoosh_index.close()
        raise SearchIndexOutdated(f"search index in {index_dir} was built by another photocap version; "
                                  f"{REBUILD_HINT} (or `photocap index`, which does it)")
    return whoosh_index


def _damage_errors() -> tuple[type[BaseException], ...]:
    import pickle
    import struct
    import zlib

    return (OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, UnicodeDecodeError)


def _damaged(index_dir: Path, error: BaseException) -> SearchIndexError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return SearchIndexError(f"search index in {index_dir} is unreadable ({reason}); {REBUILD_HINT}")


def _locked_writer(whoosh_index: FileIndex, timeout: float) -> IndexWriter:
    from whoosh.index import LockError

    try:
        # Whoosh retries the lock every `delay` seconds until `timeout` runs out.
        return whoosh_index.writer(timeout=timeout, delay=LOCK_RETRY_DELAY)
    except LockError:
        raise SearchIndexError(LOCKED_MESSAGE) from None


def _build_index(index_dir: Path, docs: Iterable[SearchDoc], lock_timeout: float) -> None:
    from whoosh import index

    writer = _locked_writer(index.create_in(str(index_dir), schema()), lock_timeout)
    try:
        for doc in docs:
            writer.add_document(**document_fields(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def _swap_in(new_dir: Path, index_dir: Path, lock_timeout: float) -> None:
    """Move `new_dir` to `index_dir`, holding the old index's write lock so no writer is mid-commit."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.util.filelock import try_for

    if not index_dir.exists():
        new_dir.rename(index_dir)
        return
    old_lock = FileStorage(str(index_dir)).lock(WHOOSH_WRITE_LOCK)
    if not try_for(old_lock.acquire, timeout=lock_timeout, delay=LOCK_RETRY_DELAY):
        raise SearchIndexError(LOCKED_MESSAGE)
    retired = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.old-", dir=index_dir.parent))
    try:
        index_dir.rename(retired / "index")
        try:
            new_dir.rename(index_dir)
        except OSError:
            (retired / "index").rename(index_dir)
            raise
    finally:
        old_lock.release()
        shutil.rmtree(retired, ignore_errors=True)

"""Search queries: plain words or checked Whoosh syntax, parsed over the caption, tags and likely-words
fields with a coordination bonus, the filters the options ask for, and which query words a hit matched."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from photocap.search.compounds import compounds_in, with_compound_terms
from photocap.search.schema import (
    DEFAULT_RANKING,
    QUERYABLE_FIELDS,
    SEARCHED_FIELDS,
    Ranking,
    SearchQueryError,
    indexable,
    schema,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from whoosh.qparser import QueryParser
    from whoosh.query import Query

    from photocap.search.time_query import TimeFilter

BINARY_OPERATORS = frozenset({"AND", "OR", "ANDNOT", "ANDMAYBE"})


# ---------------------------------------------------------------------------------------------------
# Queries


_PLAIN_UNSAFE = re.compile(r"[^\w\s]+")
_SYNTAX_CHARACTERS = re.compile(
    r'["()*\[\]{}^]|\?(?=.)|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b|\b(?:' + "|".join(QUERYABLE_FIELDS) + r"):(?!\s)",
    re.DOTALL)
# "dog -cat": the dash before a word (or a quote or parenthesis) excludes it, as in web search engines.
_DASH_NEGATION = re.compile(r'(?:(?<=\s)|(?<=^)|(?<=\())-(?=[\w"(])')
# "8:25", "dog:beach", "time: 10:30": a name before a colon that is not a field is a word.
_NOT_A_FIELD = re.compile(r"\b(?!(?:" + "|".join(QUERYABLE_FIELDS) + r"):)(\w+):")
_QUERY_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
_FIELD_PREFIX = re.compile(r"^(\w+):(.*)$", re.DOTALL)


def plain_words(text: str) -> str:
    """`text` as plain words: punctuation becomes spaces and AND/OR/NOT lose their operator meaning, so
    any sentence (a human caption, say) parses as the words it contains."""
    return _PLAIN_UNSAFE.sub(" ", text).lower()


def looks_like_whoosh_syntax(text: str) -> bool:
    """True when `text` uses quotes, parentheses, wildcards, operators in capitals or a known `field:`."""
    return _SYNTAX_CHARACTERS.search(text.strip()) is not None


def parse_query(text: str, *, syntax: bool | None = None, ranking: Ranking = DEFAULT_RANKING) -> Query:
    """Parse `text` into a Whoosh query over the caption, tags and words fields.

    `syntax=False` treats `text` as plain words (with the terms of the names of one thing in several words:
    photocap.search.compounds), `True` as Whoosh syntax (checked strictly), and `None` decides by
    `looks_like_whoosh_syntax`. Raises `SearchQueryError` for a malformed or empty query.
    """
    from whoosh.query import NullQuery

    if not text.strip():
        raise SearchQueryError("empty query")
    text = _NOT_A_FIELD.sub(r"\1 ", _DASH_NEGATION.sub("NOT ", text))
    if syntax is None:
        syntax = looks_like_whoosh_syntax(text)
    if syntax:
        check_whoosh_syntax(text)
    else:
        text = with_compound_terms(plain_words(text))
    try:
        query = _parser(ranking).parse(text)
    except Exception as error:  # Whoosh's parser rarely raises; when it does the query is at fault
        raise SearchQueryError(f"cannot parse query: {error}") from error
    if query is NullQuery:
        raise SearchQueryError("query has no searchable words (common words like 'the' and 'a' are ignored)")
    return _negations_exclude(_phrases_where_positions_are(query))


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
        fieldboosts={"caption": ranking.caption_boost, "words": ranking.words_boost, "tags": ranking.tags_boost,
                     "names": ranking.names_boost, "place": ranking.place_boost, "when": ranking.when_boost},
        group=_or_group(ranking.or_factor) if ranking.or_factor else qparser.OrGroup,
    )


@lru_cache(maxsize=32)
def _or_group(bonus: float) -> type:
    from whoosh import qparser

    coordinated_or = coordinated_or_class()

    class CoordinatedOrGroup(qparser.OrGroup):
        qclass = coordinated_or

        def __init__(self, nodes: Any = None, **kwargs: Any) -> None:
            kwargs["scale"] = bonus
            super().__init__(nodes=nodes, **kwargs)

    return CoordinatedOrGroup


@lru_cache(maxsize=1)
def coordinated_or_class() -> type:
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


def _phrases_where_positions_are(query: Query) -> Query:
    """A quoted phrase needs word positions, which only the caption keeps (photocap.search.schema). In the
    other fields ("teddy bear" among the tags) it becomes all of its words."""
    from whoosh.query import And, Or, Phrase, Term

    if isinstance(query, Phrase):
        if schema()[query.fieldname].format.supports("positions"):
            return query
        return And([Term(query.fieldname, word) for word in query.words], boost=query.boost)
    if query.is_leaf():
        return query
    if isinstance(query, Or):
        return _same_or(query, [_phrases_where_positions_are(sub) for sub in query.subqueries])
    return query.apply(_phrases_where_positions_are)


def _same_or(query: Query, subqueries: list[Query]) -> Query:
    """An OR like `query` (its class, boost, minmatch and coordination bonus) over `subqueries`: `Query.apply`
    would drop the bonus."""
    return query.__class__(subqueries, boost=query.boost, minmatch=query.minmatch, scale=query.scale)


def _negations_exclude(query: Query) -> Query:
    """Make `dog NOT cat` mean dog but not cat. Inside an OR group Whoosh reads it as dog OR (NOT cat),
    which matches every photo without a cat."""
    from whoosh.query import AndNot, Not, Or

    if query.is_leaf():
        return query
    if not isinstance(query, Or):
        return query.apply(_negations_exclude)
    subqueries = [_negations_exclude(sub) for sub in query.subqueries]
    excluded = [sub.query for sub in subqueries if isinstance(sub, Not)]
    wanted = [sub for sub in subqueries if not isinstance(sub, Not)]
    if not excluded or not wanted:
        return _same_or(query, subqueries)
    positive = wanted[0] if len(wanted) == 1 else _same_or(query, wanted)
    negative = excluded[0] if len(excluded) == 1 else Or(excluded)
    return AndNot(positive, negative)


def filter_query(
    *,
    folder: str | os.PathLike[str] | None = None,
    after: date | None = None,
    before: date | None = None,
    camera: str | None = None,
    tags: Sequence[str] = (),
    place: str | None = None,
    near: tuple[float, float, float] | None = None,
    periods: Sequence[TimeFilter] = (),
) -> Query | None:
    """The restriction the options ask for (all of them at once), or None for no restriction. `place`: every
    word of a place name; `near`: (latitude, longitude, km); `periods`: the date filters a query's words asked for."""
    from whoosh import query

    parts: list[Query] = [period_query(period) for period in periods]
    if place is not None or near is not None:  # imported only when asked for
        from photocap.search.place_filter import near_query, place_query

        if place is not None:
            parts.append(place_query(place))
        if near is not None:
            parts.append(near_query(*near))
    if folder is not None:
        parts.append(query.Or([query.Term("folder", indexable(f)) for f in folder_spellings(folder)]))
    if after is not None or before is not None:
        start = datetime.combine(_as_date(after), time.min) if after is not None else None
        end = datetime.combine(_as_date(before), time.max) if before is not None else None
        parts.append(query.DateRange("taken", start, end))
    if camera is not None:
        camera_words = [token.text for token in schema()["camera"].analyzer(camera)]
        if not camera_words:
            raise SearchQueryError(f"camera filter {camera!r} has no words")
        parts.extend(query.Term("camera", word) for word in camera_words)
    if tags:
        from photocap.model.tag_vocabulary import normalize_tag  # only for --tag: it costs start-up
    for tag in tags:
        word = normalize_tag(tag)
        if not word:
            raise SearchQueryError("an empty --tag")
        parts.append(query.Term("tag", indexable(word)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


def period_query(period: TimeFilter) -> Query:
    """The photos taken in a period (a season's: in the period of their own hemisphere), of those whose date is
    when they were taken (not a file's time: photocap.search.time_words)."""
    from whoosh import query

    from photocap.search.time_words import DATED

    if period.keys:
        return query.Or([query.Term("season", key) for key in period.keys])
    dated = query.And([query.DateRange("taken", datetime.combine(period.period.start, time.min),
                                       datetime.combine(period.period.end, time.max)), query.Term("season", DATED)])
    if not period.names:
        return dated
    return query.Or([dated, *(query.Term("names", indexable(name)) for name in period.names)])


def folder_spellings(folder: str | os.PathLike[str]) -> set[str]:
    """The folder as typed (made absolute) and with symlinks resolved, since the catalog may hold either."""
    absolute = os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(folder))))
    return {absolute, os.path.realpath(absolute)}


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


def query_words_by_term(query: str) -> dict[str, list[str]]:
    """The query's words (operators and field names aside) by the term the index holds for them, and its compound
    names by theirs ("teddi_bear": ["teddy bear"])."""
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
    for name in compounds_in(plain_words(query)):
        found[name.term] = [name.typed]
    return found

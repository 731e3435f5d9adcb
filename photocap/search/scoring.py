"""Plain-word queries scored a posting list at a time with numpy, instead of a document at a time.

Whoosh's matchers score one document at a time in Python. A sentence's common words ("man", "two", "play")
each match hundreds of thousands of photos in a large library, and Whoosh's block-quality skipping cannot help:
a photo's words, tags and likely words fields each add to its score, so no block's upper bound falls below the
top results. At a million photos a sentence took 1-4 s (docs/SCALE.md). Here each query term's postings are read
whole and scored as arrays, with the same BM25F formula, field boosts, idf and average field lengths as Whoosh's
`BM25F`, and the same coordination bonus as `photocap.search.query`'s CoordinatedOr, so the ranking is Whoosh's
own (tests/test_search_scoring.py compares them). Counting every matching photo comes for free.

numpy costs a search's start-up about as much as Whoosh's matchers take for NUMPY_FROM_POSTINGS postings, so
below that many (a library of some thousands of photos) `score_plain_query` leaves the query to Whoosh, and
`photocap search` on a small library never imports numpy.

Only what plain words parse into is handled here: an OR of terms, with the coordination bonus at the top.
`score_plain_query` returns None for anything else (phrases, AND, NOT, wildcards), which Whoosh then runs.
It reads Whoosh's W3 codec blocks directly; a Whoosh whose codec has other internals also gets None.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from photocap.search.evidence import EVIDENCE_FIELD, RANKING_ONLY_FIELDS, person_evidence, person_matches
from photocap.search.schema import Ranking

if TYPE_CHECKING:
    import numpy as np
    from whoosh.query import Query
    from whoosh.searching import Searcher


# Postings (summed over the query's terms and fields) from which numpy scores a query: importing numpy costs about
# what Whoosh's matchers take for this many (docs/SCALE.md, "Search start-up").
NUMPY_FROM_POSTINGS = 3_000


class WeightedTerm(NamedTuple):
    field: str
    text: str
    boost: float


@dataclass(frozen=True)
class PlainQuery:
    terms: list[WeightedTerm]
    bonus: float  # the coordination bonus (Ranking.or_factor), 0 for a plain OR
    word_count: int  # distinct term texts: the bonus's denominator


class ScoredDocs(NamedTuple):
    ranked: list[tuple[float, int]]  # (score, global docnum), best first, ties by docnum
    total: int  # documents matching the query and the restriction
    matched: dict[int, list[tuple[str, str]]]  # docnum of each ranked document -> (field, text) it contains


def plain_query(query: Query) -> PlainQuery | None:
    """The query's terms and bonus when it is an OR of terms (what plain words parse into), else None."""
    from whoosh import query as whoosh_query

    from photocap.search.query import coordinated_or_class

    coordinated = coordinated_or_class()
    bonus = 0.0
    top_boost = 1.0
    subqueries: list[Query] = [query]
    if isinstance(query, coordinated):
        if query.minmatch:
            return None
        bonus, top_boost, subqueries = float(query.scale or 0.0), query.boost, list(query.subqueries)
    terms: list[WeightedTerm] = []
    for subquery in subqueries:
        if not _collect_terms(subquery, top_boost, terms, whoosh_query, coordinated):
            return None
    if not terms:
        return None
    return PlainQuery(terms, bonus, len({term.text for term in terms}))


def _collect_terms(node: Query, boost: float, terms: list[WeightedTerm], whoosh_query: Any,
                   coordinated: type) -> bool:
    if type(node) is whoosh_query.Term:
        terms.append(WeightedTerm(node.fieldname, node.text, boost * node.boost))
        return True
    if type(node) is whoosh_query.Or and not node.minmatch and not isinstance(node, coordinated):
        return all(_collect_terms(sub, boost * node.boost, terms, whoosh_query, coordinated)
                   for sub in node.subqueries)
    return False


def score_plain_query(searcher: Searcher, query: Query, ranking: Ranking, *, top: int | None,
                      restriction: Query | None = None, from_postings: int = NUMPY_FROM_POSTINGS,
                      evidence: bool = True) -> ScoredDocs | None:
    """The `top` best documents for `query` (all of them for None) among those `restriction` allows, as Whoosh's
    BM25F with `ranking`'s parameters scores them; with `evidence`, only those with evidence for a query word
    (photocap.search.evidence), though every field ranks them. None when the query is not a plain OR of terms,
    or when its terms have fewer than `from_postings` postings (Whoosh's matchers are quicker than importing
    numpy). A query for every photo (a search that only says where or when) ranks the photos `restriction`
    allows in index order, as Whoosh does."""
    if _is_every_photo(query):
        return _every_photo(searcher, query, top=top, restriction=restriction, from_postings=from_postings)
    plain = plain_query(query)
    if (plain is None or not _codec_readable(searcher)
            or not all(searcher.schema[term.field].scorable for term in plain.terms)
            or not _has_postings(searcher, plain, from_postings)):
        return None
    import numpy as np

    row_of_text = {text: row for row, text in enumerate(sorted({term.text for term in plain.terms}))}
    also_evidence = person_evidence(query) if evidence else []
    ranked: list[tuple[float, int]] = []
    postings_of: dict[int, list[tuple[WeightedTerm, np.ndarray]]] = {}  # per segment offset
    total = 0
    for leaf, reader, offset, doc_count in _segments(searcher):
        scores = np.zeros(doc_count)
        matched_texts = np.zeros((len(row_of_text), doc_count), dtype=bool)
        found = np.zeros(doc_count, dtype=bool)  # photos with evidence for some query word
        lengths: dict[str, np.ndarray] = {}
        segment_postings = []
        for term in plain.terms:
            postings = _postings_if_any(reader, term.field, term.text)
            if postings is None:
                continue
            ids, weights = postings
            if term.field not in lengths:
                lengths[term.field] = _field_lengths(reader, term.field, doc_count)
            idf = searcher.idf(term.field, term.text)
            average_length = searcher.avg_field_length(term.field) or 1
            k1, b = ranking.bm25_k1, ranking.bm25_b
            length_ratio = lengths[term.field][ids] / average_length
            scores[ids] += idf * (weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * length_ratio)) * term.boost
            matched_texts[row_of_text[term.text], ids] = True
            if term.field not in RANKING_ONLY_FIELDS:
                found[ids] = True
            segment_postings.append((term, ids))
        words_matched = matched_texts.view(np.uint8).sum(axis=0, dtype=np.uint16)
        if evidence:
            for text in {term.text for term in plain.terms if term.field in RANKING_ONLY_FIELDS}:
                evidence_postings = _postings_if_any(reader, EVIDENCE_FIELD, text)
                if evidence_postings is not None:
                    found[evidence_postings[0]] = True
            read = {(term.field, term.text): ids for term, ids in segment_postings}
            for (field, text), cited_as in zip(also_evidence, person_matches(also_evidence), strict=True):
                evidence_postings = ((read[field, text],) if (field, text) in read
                                     else _postings_if_any(reader, field, text))
                if evidence_postings is not None:
                    found[evidence_postings[0]] = True
                    segment_postings.append((WeightedTerm(*cited_as, 0.0), evidence_postings[0]))
            words_matched[~found] = 0
        allowed = _allowed(leaf, reader, restriction, doc_count)
        if allowed is not None:
            words_matched[~allowed] = 0
        candidates = np.flatnonzero(words_matched)
        if plain.bonus and plain.word_count >= 2:  # only the candidates' scores are read
            extra_words = words_matched[candidates].astype(np.float64) - 1
            scores[candidates] *= 1 + plain.bonus * extra_words / (plain.word_count - 1)
        total += len(candidates)
        ranked += [(float(scores[docnum]), int(docnum) + offset) for docnum in _best(scores, candidates, top)]
        postings_of[offset] = segment_postings
    ranked.sort(key=lambda item: (-item[0], item[1]))
    ranked = ranked if top is None else ranked[:top]
    return ScoredDocs(ranked, total, _matched_terms(searcher, ranked, postings_of))


def _is_every_photo(query: Query) -> bool:
    from whoosh.query import Every

    return type(query) is Every and query.fieldname in (None, "", "*")


def _every_photo(searcher: Searcher, query: Query, *, top: int | None, restriction: Query | None,
                 from_postings: int) -> ScoredDocs | None:
    """Every photo `restriction` allows, each scored the query's boost (as Whoosh's Every), in index order."""
    if not _codec_readable(searcher) or searcher.doc_count_all() < from_postings:
        return None
    import numpy as np

    ranked: list[tuple[float, int]] = []
    total = 0
    for leaf, reader, offset, doc_count in _segments(searcher):
        allowed = _allowed(leaf, reader, restriction, doc_count)
        docnums = np.arange(doc_count) if allowed is None else np.flatnonzero(allowed)
        total += len(docnums)
        if top is None or len(ranked) < top:
            ranked += [(float(query.boost), int(docnum) + offset)
                       for docnum in docnums[: None if top is None else top - len(ranked)]]
    return ScoredDocs(ranked, total, {docnum: [] for _score, docnum in ranked})


def _segments(searcher: Searcher) -> Iterator[tuple[Searcher, Any, int, int]]:
    """Each segment that holds documents: its searcher, reader, first document number and document count (deleted
    ones included)."""
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        doc_count = reader.doc_count_all()
        if doc_count:
            yield leaf, reader, offset, doc_count


def _has_postings(searcher: Searcher, plain: PlainQuery, count: int) -> bool:
    """Whether the query's terms have at least `count` postings (a sentence's first common word says so)."""
    found = 0
    for term in plain.terms:
        found += searcher.doc_frequency(term.field, term.text)
        if found >= count:
            return True
    return False


def _best(scores: np.ndarray, candidates: np.ndarray, top: int | None) -> np.ndarray:
    import numpy as np

    if top is None or len(candidates) <= top:
        return candidates
    # Every document scoring at least the top-th best score, so that ties at the edge are settled by docnum.
    threshold = np.partition(scores[candidates], len(candidates) - top)[len(candidates) - top]
    return candidates[scores[candidates] >= threshold]


def _matched_terms(searcher: Searcher, ranked: list[tuple[float, int]],
                   postings_of: dict[int, list[tuple[WeightedTerm, np.ndarray]]]) -> dict[int, list[tuple[str, str]]]:
    import numpy as np

    offsets = sorted(postings_of)
    matched: dict[int, list[tuple[str, str]]] = {}
    for _score, docnum in ranked:
        offset = max(offset for offset in offsets if offset <= docnum)
        local = docnum - offset
        found = []
        for term, ids in postings_of[offset]:
            position = int(np.searchsorted(ids, local))
            if position < len(ids) and ids[position] == local:
                found.append((term.field, term.text))
        matched[docnum] = found
    return matched


def _postings(reader: Any, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's document numbers (ascending) and weights in one segment, read a block at a time."""
    return _matcher_arrays(_unwrapped(reader.postings(field, text)))


def _postings_if_any(reader: Any, field: str, text: str) -> tuple[np.ndarray, np.ndarray] | None:
    """`_postings`, or None when the segment does not have the term; the term's entry is looked up once."""
    from whoosh.reading import TermNotFound

    terms = reader._terms
    try:
        info = terms.term_info(field, reader.schema[field].to_bytes(text))
    except TermNotFound:
        return None
    return _matcher_arrays(terms._codec.postings_reader(terms._postfile, info, reader.schema[field].format))


def _matcher_arrays(matcher: Any) -> tuple[np.ndarray, np.ndarray]:
    """The document numbers and weights of a W3 block matcher, read a block at a time."""
    import numpy as np

    ids_parts, weight_parts = [], []
    while matcher.is_active():
        matcher._read_data()
        ids, weights = matcher._data[0], matcher._data[1]
        ids = np.asarray(ids, dtype=np.int64)
        if not matcher._byteids:
            ids = np.cumsum(ids)  # stored as differences (Whoosh's delta_decode)
        if weights is None:
            weights = np.ones(len(ids))
        elif isinstance(weights, float):
            weights = np.full(len(ids), weights)
        else:
            weights = np.asarray(weights, dtype=np.float64)
        ids_parts.append(ids)
        weight_parts.append(weights)
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


def _unwrapped(matcher: Any) -> Any:
    """The block matcher under the wrapper Whoosh puts around a segment's postings when it has deletions
    (deleted documents are left out by `_allowed` instead)."""
    from whoosh.matching import WrappingMatcher

    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child
    return matcher


def _field_lengths(reader: Any, field: str, doc_count: int) -> np.ndarray:
    """Every document's length in `field`, decoded from the byte Whoosh keeps for it."""
    import numpy as np
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    column = reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    length_bytes = np.zeros(doc_count, dtype=np.uint8)
    if column is not None and column._count:
        stored = np.frombuffer(column._dbfile.get(column._basepos, column._count), dtype=np.uint8)
        length_bytes[: len(stored)] = stored
    return _byte_lengths()[length_bytes]


@lru_cache(maxsize=1)
def _byte_lengths() -> np.ndarray:
    import numpy as np
    from whoosh.util.numeric import byte_to_length

    return np.array([byte_to_length(value) or 0 for value in range(256)], dtype=np.float64)


def _allowed(leaf: Searcher, reader: Any, restriction: Query | None, doc_count: int) -> np.ndarray | None:
    """The segment's documents that are not deleted and pass `restriction`, or None for all of them."""
    import numpy as np

    allowed = None
    if reader.has_deletions():
        allowed = np.ones(doc_count, dtype=bool)
        allowed[np.fromiter(reader._perdoc.deleted_docs(), dtype=np.int64)] = False
    if restriction is not None:
        from photocap.search.restriction import passing_mask

        passing = passing_mask(leaf, reader, restriction, doc_count)
        allowed = passing if allowed is None else allowed & passing
    return allowed


@lru_cache(maxsize=1)
def _codec_readable_names() -> bool:
    from whoosh.codec import whoosh3

    matcher = whoosh3.W3LeafMatcher
    return all(hasattr(matcher, name) for name in ("_read_data", "_goto")) and hasattr(whoosh3, "_lenfield")


def _codec_readable(searcher: Searcher) -> bool:
    from whoosh.codec.whoosh3 import W3Codec

    if not _codec_readable_names():
        return False
    readers = [leaf.reader() for leaf, _offset in searcher.leaf_searchers()]
    return all(isinstance(getattr(reader, "_codec", None), W3Codec) for reader in readers if reader.doc_count_all())

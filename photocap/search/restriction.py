"""A search's filters read as arrays: which of a segment's documents a restriction query lets through.

Whoosh lists a filter's documents one at a time through its matchers. A date filter is an And of a date range
(an Or of the date field's terms) with the term every dated photo has, and at a million photos Whoosh's
intersection steps through that term's million postings in Python: "may 2021" took 4 s (docs/SCALE.md). Here
each term's postings are read whole (photocap.search.scoring reads Whoosh's blocks as arrays) and the query's
Ands, Ors and Nots become boolean operations on a mask of the segment's documents. A query of a kind not read
here (a wildcard in a filter, the distance check of --near) is listed by Whoosh, for that part alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from whoosh.query import Query
    from whoosh.searching import Searcher


def passing_mask(leaf: Searcher, reader: Any, restriction: Query, doc_count: int) -> np.ndarray:
    """A mask of the segment's `doc_count` documents that `restriction` matches (deleted ones included: the caller
    leaves them out)."""
    import numpy as np
    from whoosh import query as whoosh_query
    from whoosh.query.ranges import DateRange, NumericRange, TermRange
    from whoosh.query.wrappers import ConstantScoreQuery, WrappingQuery

    from photocap.search.scoring import _is_every_photo, _postings

    def mask_of(node: Query) -> np.ndarray:
        kind = type(node)
        if kind is whoosh_query.Term:
            mask = np.zeros(doc_count, dtype=bool)
            if (node.fieldname, node.text) in reader:
                mask[_postings(reader, node.fieldname, node.text)[0]] = True
            return mask
        if kind is whoosh_query.Or:
            mask = np.zeros(doc_count, dtype=bool)
            for sub in node.subqueries:
                mask |= mask_of(sub)
            return mask
        if kind is whoosh_query.And:
            mask = np.ones(doc_count, dtype=bool)
            for sub in node.subqueries:
                mask &= mask_of(sub)
                if not mask.any():
                    break
            return mask
        if kind is whoosh_query.AndNot:
            return mask_of(node.a) & ~mask_of(node.b)
        if kind is whoosh_query.Not:
            return ~mask_of(node.query)
        if _is_every_photo(node):
            return np.ones(doc_count, dtype=bool)
        if kind is whoosh_query.NullQuery.__class__:
            return np.zeros(doc_count, dtype=bool)
        if kind in (NumericRange, DateRange):
            return mask_of(node._compile_query(reader))  # the range's terms and term ranges, at each precision
        if kind is TermRange:
            mask = np.zeros(doc_count, dtype=bool)
            for ids in _term_range_ids(reader, node):
                mask[ids] = True
            return mask
        if kind is ConstantScoreQuery:
            return mask_of(node.child)
        if isinstance(node, WrappingQuery) and hasattr(node, "within"):  # --near: a box, then the distance
            values: dict[str, np.ndarray] = {}
            for numeric_range in _numeric_ranges(node.child):
                _read_exact_values(reader, numeric_range,
                                   values.setdefault(numeric_range.fieldname, np.full(doc_count, np.nan)))
            if set(values) == {"lat", "lon"}:
                inside = ~np.isnan(values["lat"]) & ~np.isnan(values["lon"])
                mask = np.zeros(doc_count, dtype=bool)
                mask[inside] = node.within(values["lat"][inside], values["lon"][inside])
                return mask
        mask = np.zeros(doc_count, dtype=bool)
        mask[np.fromiter(node.docs(leaf), dtype=np.int64)] = True
        return mask

    return mask_of(restriction)


def _term_range_ids(reader: Any, term_range: Any, *, with_text: bool = False) -> Iterator[Any]:
    """The document numbers of each term of a TermRange in the segment (as Whoosh's TermRange lists its terms), read
    from the terms file in order. A range's terms are mostly a date or position only one or two photos have: their
    numbers are the term's first and last, and no postings are read for them."""
    from photocap.search.scoring import _matcher_arrays

    field = reader.schema[term_range.fieldname]
    try:
        start = b"" if term_range.start is None else field.to_bytes(term_range.start)
        end = b"\xff\xff\xff\xff" if term_range.end is None else field.to_bytes(term_range.end)
    except ValueError:
        return
    terms = reader._terms
    for (fieldname, text), info in terms.items_from(term_range.fieldname, start):
        if fieldname != term_range.fieldname or text > end or (text == end and term_range.endexcl):
            break
        if text == start and term_range.startexcl:
            continue
        frequency = info.doc_frequency()
        if frequency <= 2:
            ids = [info.min_id(), info.max_id()][:frequency]
        else:
            ids = _matcher_arrays(terms._codec.postings_reader(terms._postfile, info, field.format))[0]
        yield (text, ids) if with_text else ids


def _numeric_ranges(node: Query) -> Iterator[Any]:
    from whoosh.query.ranges import NumericRange

    if isinstance(node, NumericRange):
        yield node
    for child in node.children():
        yield from _numeric_ranges(child)


def _read_exact_values(reader: Any, numeric_range: Any, values: np.ndarray) -> None:
    """Set each document's value of the range's numeric field in `values`, for the documents whose value is in the
    range: read from the field's full-precision terms (Whoosh also indexes every number at coarser precisions)."""
    from whoosh.query.ranges import TermRange

    field = reader.schema[numeric_range.fieldname]
    start = field.to_bytes(numeric_range.start if numeric_range.start is not None else field.min_value)
    end = field.to_bytes(numeric_range.end if numeric_range.end is not None else field.max_value)
    exact = TermRange(numeric_range.fieldname, start, end, numeric_range.startexcl, numeric_range.endexcl)
    for text, ids in _term_range_ids(reader, exact, with_text=True):
        values[ids] = field.from_bytes(text)

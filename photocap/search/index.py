"""The Whoosh full-text index of captions and tags: opening, writing, searching, rebuilding.

The index is derived from the catalog and can always be rebuilt from it (`photocap rebuild-index`).
Whoosh is imported lazily so that importing this module (for `SearchDoc`, `Hit` and the errors) costs
nothing; `photocap search` pays for Whoosh only, never for torch or SQLAlchemy. The schema and documents are in
photocap.search.schema, query parsing in photocap.search.query; both are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from whoosh.index import FileIndex
    from whoosh.writing import IndexWriter

    from photocap.search.time_query import TimeFilter

from photocap.search.compounds import compounds_in, without_whole_names
from photocap.search.evidence import (
    EVIDENCE_FIELD,
    RANKING_ONLY_FIELDS,
    evidence_query,
    matched_words,
    person_evidence,
    person_matches,
    person_words_by_term,
)
from photocap.search.query import (
    BINARY_OPERATORS,
    check_whoosh_syntax,
    filter_query,
    folder_spellings,
    looks_like_whoosh_syntax,
    parse_query,
    plain_words,
    query_words_by_term,
)
from photocap.search.schema import (
    DEFAULT_RANKING,
    QUERYABLE_FIELDS,
    REBUILD_HINT,
    SEARCHED_FIELDS,
    Hit,
    Ranking,
    SearchDoc,
    SearchIndexError,
    SearchIndexOutdated,
    SearchQueryError,
    document_fields,
    folder_and_ancestors,
    indexable,
    schema,
    stem_word,
    weighted_words,
)
from photocap.search.scoring import NUMPY_FROM_POSTINGS, score_plain_query

__all__ = [
    "BINARY_OPERATORS",
    "QUERYABLE_FIELDS",
    "SEARCHED_FIELDS",
    "document_fields",
    "folder_and_ancestors",
    "indexable",
    "schema",
    "weighted_words",
    "DEFAULT_RANKING",
    "Hit",
    "HitPage",
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

MISSING_INDEX = "the search index is missing ({index_dir}); run `photocap rebuild-index`"
DEFAULT_LOCK_TIMEOUT = 10.0  # seconds to wait for another process's writer before giving up
LOCK_RETRY_DELAY = 0.1
LOCKED_MESSAGE = "search index is locked by another photocap process"
LARGE_SEGMENT_DOCS = 100_000  # rebuild-index writes segments this large, and merges leave them alone
WRITER_POOL_MB = 32  # a writer sorts postings in memory runs of about this size before spilling them to disk
# Whoosh writes its lock as "<indexname>_WRITELOCK"; we take it by name to swap in a rebuilt index even
# when the old one is too damaged to open.
WHOOSH_WRITE_LOCK = "MAIN_WRITELOCK"
# Where a word is evidence (photocap.search.evidence): what `unknown_words` and `suggestions` ask the index of.
EVIDENCE_FIELDS = (*(field for field in SEARCHED_FIELDS if field not in RANKING_ONLY_FIELDS), EVIDENCE_FIELD)


# ---------------------------------------------------------------------------------------------------
# The index


class HitPage(NamedTuple):
    hits: list[Hit]
    total: int  # photos matching the query and filters, on every page


class SearchIndex:
    """A Whoosh index in one directory. Open it with `SearchIndex.open`."""

    def __init__(self, index_dir: Path, whoosh_index: FileIndex, lock_timeout: float) -> None:
        self.index_dir = index_dir
        # Plain words are scored with numpy where their postings are many (photocap.search.scoring); True scores
        # them with numpy however few, False never (Whoosh's matchers score them, as they score every other
        # query: the reference the tests compare against).
        self.numpy_scoring: bool | None = None
        # Only photos with evidence for a query word are results (photocap.search.evidence); False lets every
        # photo a word's weakest guess ranks be one (benchmarks/match_thresholds.py measures from there).
        self.evidence_filter = True
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
            raise SearchIndexError(MISSING_INDEX.format(index_dir=index_dir))
        index_dir.mkdir(parents=True, exist_ok=True)
        return cls(index_dir, index.create_in(str(index_dir), schema()), lock_timeout)

    @staticmethod
    def exists(index_dir: str | os.PathLike[str]) -> bool:
        """Whether `index_dir` holds an index (perhaps a damaged one)."""
        return _has_table_of_contents(Path(index_dir)) or _has_segments(Path(index_dir))

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
        import shutil  # here, not at the top: a search never needs them, and they cost its start-up
        import tempfile

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

    def has_folder(self, folder: str | os.PathLike[str]) -> bool:
        """Whether any indexed photo lies in `folder` or below it."""
        with self._reader() as reader:
            return any(reader.doc_frequency("folder", indexable(spelling)) for spelling in folder_spellings(folder))

    def photo_ids(self) -> set[int]:
        with self._reader() as reader:
            return {int(reader.stored_fields(docnum)["photo_id"]) for docnum in reader.all_doc_ids()}

    def documents_in_older_blocks(self) -> int:
        """Documents in segments an older photocap wrote, in Whoosh's own postings blocks, which search reads
        several times slower than PackedCodec's (large segments are never merged: `rebuild-index` rewrites them)."""
        from photocap.search.codec import PackedCodec

        with self._reading():
            return sum(segment.doc_count() for segment in self._index._segments()
                       if not isinstance(segment.codec(), PackedCodec))

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
        place: str | None = None,
        near: tuple[float, float, float] | None = None,
        periods: Sequence[TimeFilter] = (),
    ) -> list[Hit]:
        """The photos best matching `query`, best first, restricted to `folder` (and its subfolders),
        to photos taken from `after` to `before` (both inclusive), to cameras whose make or model
        has every word of `camera`, and to photos with every tag of `tags`; to photos taken at `place` or `near`
        (latitude, longitude, km), in each of `periods`. See `parse_query` for `syntax`; raises `SearchQueryError`.
        With `explain`, each hit says which query words matched in which field. A query with no words but a place
        or a period finds every photo taken there or then."""
        return self._search(query, offset=0, limit=limit, count=False, folder=folder, after=after, before=before,
                            camera=camera, tags=tags, syntax=syntax, ranking=ranking, explain=explain, place=place,
                            near=near, periods=periods).hits

    def search_page(
        self,
        query: str,
        *,
        offset: int,
        limit: int,
        folder: str | os.PathLike[str] | None = None,
        after: date | None = None,
        before: date | None = None,
        camera: str | None = None,
        tags: Sequence[str] = (),
        explain: bool = False,
        place: str | None = None,
        near: tuple[float, float, float] | None = None,
        periods: Sequence[TimeFilter] = (),
    ) -> HitPage:
        """One page of `search`: the hits ranked offset+1 to offset+limit, and how many photos match in all."""
        return self._search(query, offset=offset, limit=limit, count=True, folder=folder, after=after,
                            before=before, camera=camera, tags=tags, syntax=None, ranking=DEFAULT_RANKING,
                            explain=explain, place=place, near=near, periods=periods)

    def maybe_hits(
        self,
        query: str,
        *,
        matches: int,
        count: int,
        folder: str | os.PathLike[str] | None = None,
        after: date | None = None,
        before: date | None = None,
        camera: str | None = None,
        tags: Sequence[str] = (),
        place: str | None = None,
        near: tuple[float, float, float] | None = None,
        periods: Sequence[TimeFilter] = (),
    ) -> list[Hit]:
        """Up to `count` photos, best first and marked `maybe`, that are no result of `query` (whose results number
        `matches`) but that weaker guesses than evidence rank for it: a tag or likely word under the strength search
        trusts (photocap.search.evidence). What `photocap search` and the web app list after the results, set apart."""
        if count <= 0 or not query.strip():
            return []
        options = {"folder": folder, "after": after, "before": before, "camera": camera, "tags": tags,
                   "syntax": None, "ranking": DEFAULT_RANKING, "explain": False, "place": place, "near": near,
                   "periods": periods, "count": False, "offset": 0}
        results = {hit.photo_id for hit in self._search(query, limit=matches, **options).hits} if matches else set()
        ranked = self._search(query, limit=matches + count, evidence=False, **options).hits
        return [replace(hit, maybe=True) for hit in ranked if hit.photo_id not in results][:count]

    def _search(self, query: str, *, offset: int, limit: int | None, count: bool,
                folder: str | os.PathLike[str] | None, after: date | None, before: date | None,
                camera: str | None, tags: Sequence[str], syntax: bool | None, ranking: Ranking,
                explain: bool, place: str | None = None, near: tuple[float, float, float] | None = None,
                periods: Sequence[TimeFilter] = (), evidence: bool = True) -> HitPage:
        from whoosh.query import And, Every, Or, Term
        from whoosh.scoring import BM25F

        restriction = filter_query(folder=folder, after=after, before=before, camera=camera, tags=tags,
                                   place=place, near=near, periods=periods)
        if not query.strip() and (place or near or periods):
            parsed = Every()  # only where or when: every photo taken there or then
        else:
            parsed = parse_query(query, syntax=syntax, ranking=ranking)
        weighting = BM25F(B=ranking.bm25_b, K1=ranking.bm25_k1)
        words_of_term = query_words_by_term(query) if explain else {}
        if explain:  # a person word a hit's caption or tags hold where the query says another (person_evidence)
            words_of_term |= {term: [word] for term, word in person_words_by_term().items()
                              if term not in words_of_term}
        with self._reading(), self._index.searcher(weighting=weighting) as searcher:
            top = None if limit is None else offset + limit
            scored = (None if self.numpy_scoring is False else
                      score_plain_query(searcher, parsed, ranking, top=top, restriction=restriction,
                                        from_postings=0 if self.numpy_scoring else NUMPY_FROM_POSTINGS,
                                        evidence=evidence and self.evidence_filter))
            if scored is not None:
                hits = [_hit(searcher.stored_fields(docnum), score, scored.matched[docnum] if explain else None,
                             words_of_term) for score, docnum in scored.ranked[offset:]]
                return HitPage(hits, scored.total)
            needed = evidence_query(parsed) if evidence and self.evidence_filter else None
            also = person_evidence(parsed) if needed is not None else []
            if also:
                needed = Or([needed, *(Term(field, text) for field, text in also)])
            if needed is not None:  # Whoosh scores the whole query, among the photos with evidence
                restriction = needed if restriction is None else And([restriction, needed])
            allowed = None if restriction is None else set(searcher.docs_for_query(restriction))
            if allowed is not None and not allowed:
                return HitPage([], 0)  # Whoosh takes an empty filter for none at all
            results = searcher.search(parsed, limit=top, filter=allowed, terms=explain)
            person_docs = ({cited_as: set(searcher.docs_for_query(Term(*pair)))
                            for pair, cited_as in zip(also, person_matches(also), strict=True)} if explain else {})
            hits = [_hit(hit.fields(), float(hit.score),
                         (hit.matched_terms() or []) + [cited_as for cited_as, docs in person_docs.items()
                                                         if hit.docnum in docs] if explain else None,
                         words_of_term) for hit in results[offset:]]
            if not count:
                return HitPage(hits, len(hits) + offset)
            if explain and allowed is not None:
                # Whoosh's count ignores the filter when matched terms are collected too: count without them.
                return HitPage(hits, len(searcher.search(parsed, limit=1, filter=allowed)))
            return HitPage(hits, len(results))

    def unknown_words(self, query: str) -> list[str]:
        """The query's words that no photo in the index has evidence for (a caption, a tag search trusts, a file
        name, ...: photocap.search.evidence), as typed; a compound name that stands for the whole
        (photocap.search.compounds) as a whole ("hot dog", though "dog" is known)."""
        plain = plain_words(query)
        words = query_words_by_term(without_whole_names(plain))
        for name in compounds_in(plain):
            if name.whole:
                words[name.term] = [name.typed]
            else:  # its words are searched too, and say what is unknown
                words.pop(name.term, None)
        with self._reader() as reader:
            known = {term for term in words if any(reader.doc_frequency(field, term) for field in EVIDENCE_FIELDS)}
            place_words = schema()["place"].analyzer
            unknown = {word for term, typed in words.items() if term not in known for word in typed}
            # Place names are not stemmed: "portugal" is the place's word, "portug" the caption's.
            return sorted(word for word in unknown
                          if not any(reader.doc_frequency("place", t.text) for t in place_words(word)))

    def suggestions(self, unknown: Sequence[str]) -> dict[str, list[str]]:
        """For unknown query words (`unknown_words`), the words the library has that they may be mistyped for:
        "dgo" -> ["dog"] (photocap.search.suggest)."""
        if not unknown:
            return {}
        from photocap.search.suggest import suggestions

        with self._reader() as reader:
            def photos_with(word: str) -> int:
                term = stem_word(word)
                return max(reader.doc_frequency(field, term) for field in EVIDENCE_FIELDS)

            return suggestions(unknown, photos_with, stem_word)

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
            if merge:
                writer.commit(mergetype=_merge_small_segments)
            else:
                writer.commit(merge=False)

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


def _hit(stored: dict[str, Any], score: float, terms: Iterable[tuple[str, str | bytes]] | None,
         words_of_term: dict[str, list[str]]) -> Hit:
    """A hit; with the (field, term) pairs it matched, what it matched (`terms` None: not asked)."""
    matched, tags = (None, None) if terms is None else matched_words(terms, words_of_term,
                                                                     stored.get("evidence_of") or {})
    return Hit(int(stored["photo_id"]), stored["path"], stored["caption"], score,
               tags=tuple((str(t), float(p), str(source)) for t, p, source in stored.get("tags_shown", [])),
               matched=matched, matched_tags=tags)


def _has_table_of_contents(index_dir: Path) -> bool:
    return index_dir.is_dir() and any(index_dir.glob("_MAIN_*.toc"))


SEGMENT_SUFFIXES = (".seg", ".trm", ".pst", ".vps", ".col", ".fln", ".sto")  # compound, or its parts


def _has_segments(index_dir: Path) -> bool:
    return index_dir.is_dir() and any(entry.suffix in SEGMENT_SUFFIXES for entry in index_dir.iterdir())


def _may_replace(index_dir: Path) -> bool:
    """Whether `index_dir` is an index (even a damaged one) or empty, never someone's other files."""
    if not index_dir.is_dir():
        return False
    names = [entry.name for entry in index_dir.iterdir()]
    return not names or any(name.endswith((".toc", *SEGMENT_SUFFIXES)) or name == WHOOSH_WRITE_LOCK
                            for name in names)


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

    from photocap.search.packed_writer import packed_writer

    try:
        # Whoosh retries the lock every `delay` seconds until `timeout` runs out.
        # Separate segment files, not one compound file: a compound segment is read through BytesIO, which
        # copies each of its parts into memory (3 GB and a second per command at a million photos).
        # Postings blocks that read back in a fraction of Whoosh's own time (photocap.search.codec).
        return packed_writer(whoosh_index, timeout=timeout, delay=LOCK_RETRY_DELAY, compound=False,
                             limitmb=WRITER_POOL_MB)
    except LockError:
        raise SearchIndexError(LOCKED_MESSAGE) from None


def _build_index(index_dir: Path, docs: Iterable[SearchDoc], lock_timeout: float) -> None:
    """Write `docs` as segments of LARGE_SEGMENT_DOCS documents: a writer's memory grows with its segment
    (its term tables, its final merge of sorted runs), so one segment of a million photos took 3 GB."""
    from whoosh import index

    whoosh_index = index.create_in(str(index_dir), schema())
    writer = _locked_writer(whoosh_index, lock_timeout)
    try:
        for count, doc in enumerate(docs, start=1):
            writer.add_document(**document_fields(doc))
            if count % LARGE_SEGMENT_DOCS == 0:
                writer.commit(merge=False)
                writer = _locked_writer(whoosh_index, lock_timeout)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=False)


def _merge_small_segments(writer: IndexWriter, segments: list[Any]) -> list[Any]:
    """Whoosh's MERGE_SMALL policy among the segments under LARGE_SEGMENT_DOCS; larger ones are left as they
    are, since merging them would cost `index` and `watch` as much memory and time as a rebuild."""
    from whoosh.writing import MERGE_SMALL

    small = [segment for segment in segments if segment.doc_count_all() < LARGE_SEGMENT_DOCS]
    large = [segment for segment in segments if segment.doc_count_all() >= LARGE_SEGMENT_DOCS]
    return MERGE_SMALL(writer, small) + large


def _swap_in(new_dir: Path, index_dir: Path, lock_timeout: float) -> None:
    """Move `new_dir` to `index_dir`, holding the old index's write lock so no writer is mid-commit."""
    import shutil
    import tempfile

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

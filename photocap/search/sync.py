"""Keeping the derived search index in step with the catalog, the source of truth."""

from __future__ import annotations

from pathlib import Path

from photocap.catalog.schema import utcnow
from photocap.catalog.store import Catalog, SearchRow
from photocap.catalog.tags import confident, matching
from photocap.model.tag_vocabulary import vocabulary
from photocap.search.evidence import evidence_entries
from photocap.search.index import SearchDoc, SearchIndex, SearchIndexOutdated
from photocap.search.time_words import season_keys, when_words


def sync_search_index(catalog: Catalog, search_index: SearchIndex, *, merge: bool = True) -> int:
    """Push every photo the catalog flags as changed since the index last saw it; returns how many.

    Photos are flagged in the same transaction that changes them and unflagged only after the index has
    committed, so a crash in between is repaired here on the next run.
    """
    as_of = utcnow()
    rows = catalog.unsynced_photos()
    if not rows:
        return 0
    searchable = [row for row in rows if row["status"] == "ok" and row["caption"]]
    searchable_ids = {row["id"] for row in searchable}
    search_index.upsert((_search_doc(row) for row in searchable), merge=merge)
    search_index.delete(row["id"] for row in rows if row["id"] not in searchable_ids)
    catalog.mark_search_synced([row["id"] for row in rows], as_of)
    return len(rows)


def open_for_writing(catalog: Catalog, index_dir: Path) -> SearchIndex:
    """The search index in `index_dir`, rebuilt from the catalog if it is absent (deleted, say: a new empty
    one would miss every photo the catalog thinks it holds) or an older photocap built it. The caller holds
    the home's writer lock."""
    try:
        if SearchIndex.exists(index_dir):
            return SearchIndex.open(index_dir, create=False)
    except SearchIndexOutdated:
        pass
    search_index = SearchIndex.rebuild_at(index_dir, [])
    rebuild_search_index(catalog, search_index)
    return search_index


def rebuild_search_index(catalog: Catalog, search_index: SearchIndex) -> int:
    as_of = utcnow()
    count = search_index.rebuild(_search_doc(row) for row in catalog.all_searchable_photos())
    catalog.mark_search_synced(None, as_of)
    return count


def _search_doc(row: SearchRow) -> SearchDoc:
    likely = [(tag["word"], tag["probability"], tag["source"]) for tag in row["tags"]]
    shown = [(tag["word"], tag["probability"], tag["source"]) for tag in confident(row["tags"])]
    evidence = [(tag["word"], tag["probability"], tag["source"], (tag["word"], tag["probability"], tag["source"])
                 in shown) for tag in matching(row["tags"])]
    place = row.get("place")
    lat, lon = (place.lat, place.lon) if place is not None else (None, None)
    return SearchDoc(photo_id=row["id"], path=row["path"], folder=row["folder"], caption=row["caption"] or "",
                     words=row["words"], tags=shown, tag_terms=tag_search_terms(likely),
                     evidence=evidence_entries(evidence, lambda *tag: [term for term, _p in tag_search_terms([tag])]),
                     filter_tags=[term for term, _p in tag_search_terms(shown)],
                     taken_at=row["taken_at"], camera=row["camera"],
                     place_text=place.search_text() if place is not None else "",
                     country_code=place.country_code if place is not None else None,
                     position=(lat, lon) if lat is not None and lon is not None else None,
                     when_words=when_words(row["taken_at"], row.get("date_source"), lat),
                     season_keys=season_keys(row["taken_at"], row.get("date_source"), lat))


def tag_search_terms(tags: list[tuple[str, float, str]]) -> list[tuple[str, float]]:
    """Each tag and the synonyms people search it by, with the tag's probability; a detected object also by the
    words above it ("animal" finds a giraffe), as the tagger's own tags come with theirs."""
    if not tags:
        return []
    words = vocabulary()
    terms: dict[str, float] = {}
    for word, probability, source in tags:
        above = words.ancestry(word)[:-1] if source == "detector" else []
        for term in (word, *words.synonyms(word), *above):
            terms[term] = max(terms.get(term, 0.0), probability)
    return list(terms.items())

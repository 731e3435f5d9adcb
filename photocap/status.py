"""`photocap status`: what the catalog holds, which models wrote its captions, and whether the search index
agrees with it. Reads only; never imports torch."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from photocap.catalog.store import Catalog, ModelUse
from photocap.model.installed import current_detector, current_tagger
from photocap.search.index import SearchIndex, SearchIndexError
from photocap.wording import counted

# From this many photos in older blocks, a rebuild (about an hour a million photos) is worth its time.
OLDER_BLOCKS_WORTH_REBUILDING = 100_000


class StatusReport(TypedDict):
    home: str
    photos: int
    ok: int
    pending: int
    errors: int
    missing: int
    model: str | None  # the model that wrote most of the captions
    models: list[ModelUse]
    index: str  # "ok", or what is wrong and what to do
    index_advice: str | None  # what would make searching faster, if anything
    indexed: int | None  # documents in the search index (None: unreadable or absent)
    failed: list[dict[str, str]]  # {"path", "error"} of every photo in error
    missing_photos: list[str]  # where each missing photo was last seen (`photocap prune` forgets them)
    tagger: str | None  # the installed tagger's id (None: no tagger)
    awaiting_tags: int  # captioned photos it has not tagged yet: the next `photocap index` tags them
    detector: str | None  # the installed object detector's id (None: its weights are missing)
    awaiting_detector: int  # captioned photos it has not looked at: `photocap index --recaption-older` looks


def catalog_status(home: Path) -> StatusReport:
    if not (home / "catalog.db").is_file():
        raise FileNotFoundError(f"no catalog in {home}; run `photocap index FOLDER` first")
    with Catalog.open(home) as catalog:
        counts = catalog.status_counts()
        models = catalog.models_in_use()
        failed = [{"path": path, "error": error} for path, error in catalog.errors()]
        missing = catalog.missing_paths()
        tagger = current_tagger()
        awaiting = catalog.count_awaiting_tags(tagger[0]) if tagger else 0
        detector = current_detector()
        unseen = catalog.count_not_looked_at_by(detector) if detector else 0
    indexed, health, advice = _index_health(home / "index", counts["unsynced"])
    return StatusReport(
        home=str(home), photos=counts["photos"], ok=counts["ok"], pending=counts["pending"],
        errors=counts["error"], missing=counts["missing"], model=models[0]["model_id"] if models else None,
        models=models, index=health, index_advice=advice, indexed=indexed, failed=failed, missing_photos=missing,
        tagger=tagger[0] if tagger else None, awaiting_tags=awaiting, detector=detector, awaiting_detector=unseen,
    )


def _index_health(index_dir: Path, unsynced: int) -> tuple[int | None, str, str | None]:
    try:
        with SearchIndex.open(index_dir, create=False) as search_index:
            indexed = search_index.doc_count()
            older = search_index.documents_in_older_blocks()
    except SearchIndexError as error:
        return None, str(error), None
    advice = None
    if older >= OLDER_BLOCKS_WORTH_REBUILDING:
        advice = (f"{counted(older, 'photo')} are indexed in an older photocap's postings blocks: "
                  "`photocap rebuild-index` rewrites them in blocks search reads several times faster (docs/SCALE.md)")
    if unsynced:
        return indexed, (f"{counted(unsynced, 'photo')} changed since the index last took them; the next index run "
                         "syncs them"), advice
    return indexed, "ok", advice


"""What the pages and the JSON API ask of a photocap home, through the CLI's own functions: `search_library`
(as `photocap search`), `details_of` (as `photocap show`), `save_user_caption` and `edit_user_tags` (as
`photocap caption --set` and `photocap tag`), `catalog_status` (as `photocap status`) and `run_export`."""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from photocap.catalog import Catalog, CatalogError, PhotoRow
from photocap.edits import EditError, edit_user_tags, save_user_caption
from photocap.export import MANIFEST_FORMATS, ExportRequest, render_manifest, run_export
from photocap.library_search import LibraryResults, SearchFilters, SearchRequestError, parse_day, search_library
from photocap.show import details_of
from photocap.status import StatusReport, catalog_status

MATCHED_FIELD_NAMES = {"caption": "caption", "tags": "tags", "words": "likely words", "names": "file name"}


class NotFound(LookupError):
    """No such photo in the catalog."""


@dataclass(frozen=True)
class SearchForm:
    """The search page's fields, as they come in a URL's query string."""

    q: str = ""
    folder: str = ""
    after: str = ""
    before: str = ""
    camera: str = ""
    tags: tuple[str, ...] = ()
    page: int = 1

    def filters(self) -> SearchFilters:
        return SearchFilters(folder=Path(self.folder) if self.folder else None,
                             after=parse_day(self.after, "from"), before=parse_day(self.before, "to"),
                             camera=self.camera or None, tags=tuple(t for t in self.tags if t))

    def query_string(self, **changes: Any) -> str:
        form = replace(self, **changes)
        pairs = [(name, value) for name, value in (("q", form.q), ("folder", form.folder), ("after", form.after),
                                                  ("before", form.before), ("camera", form.camera)) if value]
        pairs += [("tag", tag) for tag in form.tags if tag]
        if form.page > 1:
            pairs.append(("page", str(form.page)))
        return urlencode(pairs)


@dataclass(frozen=True)
class ResultPage:
    form: SearchForm
    results: LibraryResults
    page_size: int

    @property
    def first_rank(self) -> int:
        return (self.form.page - 1) * self.page_size

    @property
    def pages(self) -> int:
        return max(1, -(-self.results.total // self.page_size))

    def cards(self) -> list[dict[str, Any]]:
        return [{"id": hit.photo_id, "rank": self.first_rank + i, "path": hit.path, "caption": hit.caption,
                 "score": round(hit.score, 4), "tags": [tag for tag, _p, _source in hit.tags],
                 "matched": hit.matched or {}, "matched_text": matched_text(hit.matched or {})}
                for i, hit in enumerate(self.results.hits)]


def matched_text(matched: dict[str, list[str]]) -> str:
    return "; ".join(f"{MATCHED_FIELD_NAMES.get(field, field)}: {', '.join(words)}"
                     for field, words in matched.items())


def search_page(home: Path, form: SearchForm, page_size: int) -> ResultPage:
    """One page of results; raises SearchRequestError for a request that cannot run (said in one line)."""
    offset = (form.page - 1) * page_size
    return ResultPage(form, search_library(home, form.q, form.filters(), limit=page_size, offset=offset,
                                           folder_option="folder"), page_size)


def neighbours(home: Path, form: SearchForm, rank: int) -> tuple[int | None, int | None]:
    """The photo ids ranked just before and after `rank` (0-based) in the results of `form`."""
    if not form.q or rank < 0:
        return None, None
    try:
        start = max(rank - 1, 0)
        hits = search_library(home, form.q, form.filters(), limit=3 if rank else 2, offset=start).hits
    except SearchRequestError:
        return None, None
    ids = [hit.photo_id for hit in hits]
    if rank == 0:
        return None, ids[1] if len(ids) > 1 else None
    return (ids[0] if ids else None), (ids[2] if len(ids) > 2 else None)


class Library:
    """The home's catalog, opened once for the server's life (SQLite in WAL mode: reads never wait for the
    indexer), and the last edit of each photo, for undo."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._catalog: Catalog | None = None
        self._opening = threading.Lock()
        self._before_edit: dict[int, EditState] = {}

    def catalog(self) -> Catalog:
        with self._opening:
            if self._catalog is None:
                if not (self.home / "catalog.db").is_file():
                    raise CatalogError(f"no catalog in {self.home}; run `photocap index FOLDER` first")
                self._catalog = Catalog.open(self.home)
            return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()

    def row(self, photo_id: int) -> PhotoRow:
        rows = self.catalog().photos_by_ids([photo_id])
        if not rows:
            raise NotFound(f"no photo {photo_id} in the catalog")
        return rows[0]

    def photo(self, photo_id: int) -> dict[str, Any]:
        """`photocap show --json` of the photo, with its id and whether an undo is waiting."""
        return self._view(self.row(photo_id))

    def _view(self, row: PhotoRow) -> dict[str, Any]:
        return {"id": row["id"], **details_of(row), "can_undo": row["id"] in self._before_edit}

    def edit(self, photo_id: int, caption: str | None, tags: list[str] | None) -> tuple[dict[str, Any], list[str]]:
        """Make the photo's caption `caption` (None or blank: the model's again) and its tags `tags` (None:
        unchanged), as the user's own. Returns the photo's view and the notes the edit functions gave."""
        row = self.row(photo_id)
        before = EditState.of(row)
        notes = _apply(self.home, row, caption, tags)
        self._before_edit[photo_id] = before
        return self._view(self.row(photo_id)), notes

    def undo(self, photo_id: int) -> tuple[dict[str, Any], list[str]]:
        """Put back the caption and tags the photo had before its last edit here."""
        before = self._before_edit.get(photo_id)
        if before is None:
            raise EditError("nothing to undo for this photo")
        notes = _apply(self.home, self.row(photo_id), before.user_caption, list(before.tags))
        del self._before_edit[photo_id]
        return self._view(self.row(photo_id)), notes

    def status(self) -> dict[str, Any]:
        report: StatusReport = catalog_status(self.home)
        return {**report, "folders": top_folders(self.catalog().photo_folders())}

    def roots(self) -> list[str]:
        """The folders indexed: the top ones among those holding photos."""
        return top_folders(self.catalog().photo_folders())


@dataclass(frozen=True)
class EditState:
    user_caption: str | None  # None: the model's caption was in use
    tags: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, row: PhotoRow) -> EditState:
        shown = details_of(row)
        return cls(row["caption"] if row["caption_source"] == "user" else None,
                   tuple(tag["word"] for tag in shown["tags"]))


def _apply(home: Path, row: PhotoRow, caption: str | None, tags: list[str] | None) -> list[str]:
    notes: list[str] = []
    path = Path(row["path"])
    wanted = (caption or "").strip() or None
    current = row["caption"] if row["caption_source"] == "user" else None
    unchanged_model_caption = row["caption_source"] == "model" and wanted == row["caption"]
    if wanted != current and not unchanged_model_caption:
        save_user_caption(home, path, wanted, warn=notes.append)
    if tags is not None:
        now = [tag["word"] for tag in details_of(row)["tags"]]
        from photocap.tag_vocabulary import normalize_tag

        wanted_tags = list(dict.fromkeys(t for t in (normalize_tag(word) for word in tags) if t))
        add = [word for word in wanted_tags if word not in now]
        remove = [word for word in now if word not in wanted_tags]
        if add or remove:
            edit_user_tags(home, path, add, remove, warn=notes.append)
    return notes


def top_folders(folders: list[str]) -> list[str]:
    """`folders` without those inside another of them."""
    tops: list[str] = []
    for folder in sorted(folders):
        if not any(folder == top or folder.startswith(top.rstrip(os.sep) + os.sep) for top in tops):
            tops.append(folder)
    return tops


def exported_copy(home: Path, path: str) -> tuple[bytes, str]:
    """A copy of the photo at `path` with its alt text and keywords embedded, as `photocap export --to`
    makes it; returns its bytes and file name. Raises ExportError (one line) when it cannot be made."""
    from photocap.export import ExportError

    with tempfile.TemporaryDirectory(prefix="photocap-serve-") as folder:
        report = run_export(home, ExportRequest(paths=[path], to=Path(folder)))
        if not report.exported or report.exported[0].path is None:
            reason = report.failed[0][1] if report.failed else "nothing was exported"
            raise ExportError(reason)
        copy = report.exported[0].path
        with open(copy, "rb") as file:
            return file.read(), os.path.basename(copy)


def results_manifest(home: Path, paths: list[str], form: str) -> bytes:
    """A manifest (json, csv or html) of the photos at `paths`, in that order, as `photocap export
    --manifest` writes it, with each file named relative to the folder the photos share."""
    from photocap.export import ExportError

    if form not in MANIFEST_FORMATS:
        raise ExportError(f"unknown manifest format {form!r} (known: {', '.join(MANIFEST_FORMATS)})")
    with tempfile.TemporaryDirectory(prefix="photocap-serve-") as folder:
        report = run_export(home, ExportRequest(paths=paths, manifest=form,
                                                manifest_file=Path(folder) / f"manifest.{form}"))
    if not report.exported:
        raise ExportError("none of these photos can be exported (" + "; ".join(r for _p, r in report.failed[:1]) + ")")
    shared = os.path.commonpath([os.path.dirname(item.source) for item in report.exported])
    return render_manifest(report.exported, form, os.path.join(shared, f"manifest.{form}"), copies=False)

"""What the pages and the JSON API ask of a photocap home about its photos, through the CLI's own functions:
`details_of` (as `photocap show`), `edit_photo` and `undo_last_edit` (photocap.edits, as `photocap caption --set`
and `photocap tag` edit, with one history for undo), `catalog_status` (as `photocap status`); and the captions to
review: the model's captions under the shipped calibration's `unsure_below`, more likely wrong than right."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from photocap.catalog.edits import UserChange
from photocap.catalog.store import Catalog, CatalogError, PhotoRow
from photocap.edits import edit_photo, undo_last_edit
from photocap.model.calibration import unsure_below
from photocap.model.tag_vocabulary import normalize_tag
from photocap.show import details_of
from photocap.status import StatusReport, catalog_status


class NotFound(LookupError):
    """No such photo in the catalog."""


class Library:
    """The home's catalog, opened once for the server's life (SQLite in WAL mode: reads never wait for the
    indexer)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._catalog: Catalog | None = None
        self._opening = threading.Lock()

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
        """`photocap show --json` of the photo, with its id and the edits undo can take back, newest first."""
        return self._view(self.row(photo_id))

    def _view(self, row: PhotoRow) -> dict[str, Any]:
        history = self.catalog().edit_history(row["id"])
        detections = self.catalog().detections_of([row["id"]]).get(row["id"], [])
        return {"id": row["id"], **details_of(row, detections), "can_undo": bool(history), "edits": history}

    def edit(self, photo_id: int, caption: str | None, tags: list[str] | None) -> tuple[dict[str, Any], list[str]]:
        """Make the photo's caption `caption` (None or blank: the model's again) and its tags `tags` (None:
        unchanged), as the user's own, in one step of undo. Returns the photo's view and the notes the edit
        functions gave."""
        row = self.row(photo_id)
        notes: list[str] = []
        change = _change(row, caption, tags)
        if change != UserChange():
            edit_photo(self.home, Path(row["path"]), change, warn=notes.append, origin="web")
        return self._view(self.row(photo_id)), notes

    def undo(self, photo_id: int) -> tuple[dict[str, Any], list[str]]:
        """Put back the caption and tags the photo had before its newest edit, from here or the CLI."""
        notes: list[str] = []
        undo_last_edit(self.home, Path(self.row(photo_id)["path"]), warn=notes.append)
        return self._view(self.row(photo_id)), notes

    def to_review(self, limit: int, offset: int) -> tuple[list[PhotoRow], int]:
        """The photos whose caption is unsure, least confident first, `limit` of them from `offset`, and their total."""
        return self.catalog().captions_to_review(unsure_below(), limit, offset)

    def ids_to_review(self, limit: int, offset: int) -> list[int]:
        return self.catalog().ids_to_review(unsure_below(), limit, offset)

    def count_to_review(self) -> int:
        return self.catalog().count_captions_to_review(unsure_below())

    def unsure(self, ids: list[int]) -> dict[int, float]:
        """Of these photos, those whose caption is unsure (the ones to review), with its confidence."""
        return self.catalog().unsure_confidences(ids, unsure_below()) if ids else {}

    def status(self) -> dict[str, Any]:
        report: StatusReport = catalog_status(self.home)
        return {**report, "folders": top_folders(self.catalog().photo_folders())}

    def places(self) -> list[tuple[str, int]]:
        """The cities and countries the library's photos were taken in, with their counts, most first."""
        return self.catalog().place_counts()

    def roots(self) -> list[str]:
        """The folders indexed: the top ones among those holding photos."""
        return top_folders(self.catalog().photo_folders())


def _change(row: PhotoRow, caption: str | None, tags: list[str] | None) -> UserChange:
    """The edit that turns the photo's caption and tags into those the form asks for."""
    wanted = (caption or "").strip() or None
    current = row["caption"] if row["caption_source"] == "user" else None
    unchanged_model_caption = row["caption_source"] != "user" and wanted == row["caption"]
    set_caption = wanted != current and not unchanged_model_caption
    add: list[str] = []
    remove: list[str] = []
    if tags is not None:
        now = [tag["word"] for tag in details_of(row)["tags"]]
        wanted_tags = list(dict.fromkeys(t for t in (normalize_tag(word) for word in tags) if t))
        add = [word for word in wanted_tags if word not in now]
        remove = [word for word in now if word not in wanted_tags]
    return UserChange(set_caption, wanted if set_caption else None, tuple(add), tuple(remove))


def top_folders(folders: list[str]) -> list[str]:
    """`folders` without those inside another of them."""
    tops: list[str] = []
    for folder in sorted(folders):
        if not any(folder == top or folder.startswith(top.rstrip(os.sep) + os.sep) for top in tops):
            tops.append(folder)
    return tops

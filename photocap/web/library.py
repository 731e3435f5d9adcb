"""What the pages and the JSON API ask of a photocap home about its photos, through the CLI's own functions:
`details_of` (as `photocap show`), `save_user_caption` and `edit_user_tags` (as `photocap caption --set` and
`photocap tag`), `catalog_status` (as `photocap status`)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from photocap.catalog import Catalog, CatalogError, PhotoRow
from photocap.edits import EditError, edit_user_tags, save_user_caption
from photocap.show import details_of
from photocap.status import StatusReport, catalog_status
from photocap.tag_vocabulary import normalize_tag


class NotFound(LookupError):
    """No such photo in the catalog."""


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

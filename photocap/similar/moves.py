"""`duplicates --move-extras-to DIR` and `duplicates --undo MANIFEST`: the photos a group does not keep are moved
(never deleted) into DIR, under their own absolute path (DIR/home/me/Pictures/a.jpg), so that no two collide. A
manifest, written before the first move and again after the last, lists every move; undo puts the files back.
Each move is atomic (photocap.atomic.move_atomically), and the catalog follows it, as it follows a move a scan
finds: the photo keeps its caption, tags and edits."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from photocap.atomic import move_atomically, write_atomically
from photocap.catalog.rows import FileUpdate
from photocap.catalog.store import Catalog
from photocap.similar.duplicates import Group

MANIFEST_VERSION = 1


class Move(TypedDict):
    id: int
    source: str  # where the photo was (and goes back to on undo)
    target: str  # where it was moved
    keeper: str  # the photo its group keeps
    kind: str


class MoveReport(TypedDict):
    manifest: str
    moved: list[Move]
    skipped: list[dict]  # {"path", "reason"}: files that could not be moved (or put back)


class ManifestError(Exception):
    """A manifest that cannot be read as one: one line for the user."""


def target_for(folder: Path, path: str) -> Path:
    """Where `path` goes inside `folder`: its absolute path below it."""
    return folder / os.path.abspath(path).lstrip(os.sep)


def _write_manifest(path: Path, moves: Sequence[Move], done: bool) -> None:
    body = {"photocap": "duplicates", "version": MANIFEST_VERSION, "done": done,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"), "moves": list(moves)}
    write_atomically(str(path), json.dumps(body, indent=1).encode(), replace=True)


def _follow(catalog: Catalog, photo_id: int, new_path: str, content_hash: str) -> None:
    stat = os.stat(new_path)
    catalog.move_photos([FileUpdate(id=photo_id, path=new_path, size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                                    content_hash=content_hash)])


def move_extras(catalog: Catalog, groups: Sequence[Group], folder: Path) -> MoveReport:
    """Move every photo the `groups` do not keep into `folder`, writing `folder`/photocap-duplicates-<time>.json."""
    folder = Path(os.path.abspath(folder))
    folder.mkdir(parents=True, exist_ok=True)
    planned = [Move(id=member["id"], source=member["path"], target=str(target_for(folder, member["path"])),
                    keeper=group["keep"], kind=group["kind"])
               for group in groups for member in group["photos"] if not member["keep"]]
    planned = list({move["id"]: move for move in planned}.values())  # a photo in a copy group and a burst: once
    manifest = folder / f"photocap-duplicates-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.json"
    _write_manifest(manifest, planned, done=False)  # a crash midway still leaves the list to undo
    hashes = catalog.content_hashes_by_id([move["id"] for move in planned])
    moved, skipped = [], []
    for move in planned:
        try:
            Path(move["target"]).parent.mkdir(parents=True, exist_ok=True)
            move_atomically(move["source"], move["target"])
        except OSError as error:
            skipped.append({"path": move["source"], "reason": error.strerror or str(error)})
            continue
        _follow(catalog, move["id"], move["target"], hashes.get(move["id"], ""))
        moved.append(move)
    _write_manifest(manifest, moved, done=True)
    return MoveReport(manifest=str(manifest), moved=moved, skipped=skipped)


def read_manifest(path: Path) -> list[Move]:
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    if not isinstance(body, dict) or body.get("photocap") != "duplicates" or not isinstance(body.get("moves"), list):
        raise ManifestError(f"{path} is not a manifest of `photocap duplicates --move-extras-to`")
    return body["moves"]


def undo_moves(catalog: Catalog, manifest: Path) -> MoveReport:
    """Put back every photo `manifest` lists as moved; the catalog follows. Photos already back are skipped."""
    moves = read_manifest(manifest)
    hashes = catalog.content_hashes_by_id([move["id"] for move in moves])
    restored, skipped = [], []
    for move in moves:
        if not os.path.lexists(move["target"]):
            reason = "already back" if os.path.lexists(move["source"]) else "no longer in the folder it was moved to"
            skipped.append({"path": move["source"], "reason": reason})
            continue
        try:
            Path(move["source"]).parent.mkdir(parents=True, exist_ok=True)
            move_atomically(move["target"], move["source"])
        except OSError as error:
            skipped.append({"path": move["source"], "reason": error.strerror or str(error)})
            continue
        if move["id"] in hashes:
            _follow(catalog, move["id"], move["source"], hashes[move["id"]])
        restored.append(move)
    return MoveReport(manifest=str(manifest), moved=restored, skipped=skipped)

"""`photocap show`: what the catalog knows of single photos. Reads only; never imports torch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from photocap.catalog.store import Catalog, CatalogError, PhotoRow, camera_name
from photocap.catalog.tags import confident


def photo_details(home: Path, paths: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """The details of each catalogued photo among `paths`, in order, and the paths the catalog does not hold."""
    if not (home / "catalog.db").is_file():
        raise CatalogError(f"no catalog in {home}; run `photocap index FOLDER` first")
    found, unknown = [], []
    with Catalog.open(home) as catalog:
        for path in paths:
            absolute = os.path.abspath(path)
            row = catalog.photo_by_path(absolute) or catalog.photo_by_path(os.path.realpath(absolute))
            if row is None:
                unknown.append(absolute)
            else:
                found.append(details_of(row))
    return found, unknown


def details_of(row: PhotoRow) -> dict[str, Any]:
    return {
        "path": row["path"],
        "status": row["status"],
        "error": row["error"],
        "caption": row["caption"],
        "caption_source": row["caption_source"],
        "caption_origin": row["caption_origin"],  # where a caption the file carries was read
        "model": row["model_id"] if row["caption_source"] == "model" else None,
        "caption_model": row["model_id"],
        "confidence": None if row["confidence"] is None else round(row["confidence"], 3),
        "method": row["method"],
        "tags": [{"word": t["word"], "probability": round(t["probability"], 3), "source": t["source"]}
                 for t in confident(row["tags"])],
        "taken_at": row["taken_at"].isoformat(sep=" ") if row["taken_at"] else None,
        "date_source": row["date_source"] if row["taken_at"] else None,
        "camera": camera_name(row["camera_make"], row["camera_model"]),
        "width": row["width"],
        "height": row["height"],
        "size": row["size"],
        "folder": row["folder"],
        "indexed_at": row["updated_at"].isoformat(sep=" ") + " UTC",
    }


_TAG_SOURCE_NOTES = {"user": " (yours)", "file": " (from the file)"}


def details_text(details: dict[str, Any]) -> str:
    tags = ", ".join(f"{t['word']}" + ("" if t["source"] != "model" else f" {t['probability']:.2f}")
                     + _TAG_SOURCE_NOTES.get(t["source"], "") for t in details["tags"])
    by = {"user": "you", "file": f"from the file: {details['caption_origin']}"}.get(
        details["caption_source"], details["caption_model"] or "-")
    if details["caption_source"] == "model" and details["confidence"] is not None:
        by += f", confidence {details['confidence']:.2f} ({details['method']})"
    lines = [
        os.fsencode(details["path"]).decode("utf-8", "backslashreplace"),  # undecodable names as \\xNN
        f"  caption  {details['caption'] or '-'}" + (f"  [{by}]" if details["caption"] else ""),
        f"  tags     {tags or '-'}",
        f"  taken    {details['taken_at'] or '-'}" + (f" ({details['date_source']})" if details["taken_at"] else ""),
        f"  camera   {details['camera'] or '-'}",
        f"  size     {details['width'] or '?'}x{details['height'] or '?'} px, {details['size']} bytes",
        f"  status   {details['status']}" + (f": {details['error']}" if details["error"] else ""),
    ]
    return "\n".join(lines)

"""`photocap show`: what the catalog knows of single photos. Reads only; never imports torch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from photocap.catalog.detections import DetectionView
from photocap.catalog.store import Catalog, CatalogError, PhotoRow, camera_name
from photocap.catalog.tags import confident, less_sure
from photocap.metadata.places import Place
from photocap.model.calibration import is_unsure, unsure_below
from photocap.model.tag_vocabulary import OBJECT_TAG_MIN_SCORE


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
                found.append(details_of(row, catalog.detections_of([row["id"]]).get(row["id"], [])))
    return found, unknown


def details_of(row: PhotoRow, detections: list[DetectionView] | None = None) -> dict[str, Any]:
    """What `show --json` says of a photo; `objects` are its detections from OBJECT_TAG_MIN_SCORE (label, tag
    word, score, box as fractions of the upright image: x1, y1, x2, y2)."""
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
        # A model caption more likely wrong than right (photocap.model.calibration): export leaves it out.
        "unsure": is_unsure(row["caption_source"], row["confidence"], unsure_below()),
        "method": row["method"],
        "tags": [{"word": t["word"], "probability": round(t["probability"], 3), "source": t["source"],
                  **({"count": t["count"]} if "count" in t else {})}
                 for t in confident(row["tags"])],
        # Tags too weak to show that search still trusts: a search for their words finds the photo.
        "less_sure": [{"word": t["word"], "probability": round(t["probability"], 3), "source": t["source"]}
                      for t in less_sure(row["tags"])],
        "objects": [{"label": d["label"], "word": d["word"], "score": round(d["score"], 3),
                     "box": [round(v, 4) for v in d["box"]]}
                    for d in detections or [] if d["score"] >= OBJECT_TAG_MIN_SCORE],
        "detector": row["detector_id"],
        "taken_at": row["taken_at"].isoformat(sep=" ") if row["taken_at"] else None,
        "date_source": row["date_source"] if row["taken_at"] else None,
        "camera": camera_name(row["camera_make"], row["camera_model"]),
        "place": place.as_json() if (place := row.get("place")) is not None else None,
        "width": row["width"],
        "height": row["height"],
        "size": row["size"],
        "folder": row["folder"],
        "indexed_at": row["updated_at"].isoformat(sep=" ") + " UTC",
    }


_TAG_SOURCE_NOTES = {"user": " (yours)", "file": " (from the file)", "detector": " (seen)"}


def details_text(details: dict[str, Any]) -> str:
    tags = ", ".join(f"{t['word']}" + (f" x{t['count']}" if t.get("count", 1) > 1 else "")
                     + ("" if t["source"] not in ("model", "detector") else f" {t['probability']:.2f}")
                     + _TAG_SOURCE_NOTES.get(t["source"], "") for t in details["tags"])
    weak = ", ".join(f"{t['word']} {t['probability']:.2f}" + _TAG_SOURCE_NOTES.get(t["source"], "")
                     for t in details["less_sure"])
    objects = ", ".join(f"{o['label']} {o['score']:.2f} at ({', '.join(f'{v:.2f}' for v in o['box'])})"
                        for o in details["objects"])
    by = {"user": "you", "file": f"from the file: {details['caption_origin']}"}.get(
        details["caption_source"], details["caption_model"] or "-")
    if details["caption_source"] == "model" and details["confidence"] is not None:
        by += f", confidence {details['confidence']:.2f} ({details['method']})"
        if details["unsure"]:
            by += ", unsure: more likely wrong than right"
    lines = [
        os.fsencode(details["path"]).decode("utf-8", "backslashreplace"),  # undecodable names as \\xNN
        f"  caption  {details['caption'] or '-'}" + (f"  [{by}]" if details["caption"] else ""),
        f"  tags     {tags or '-'}",
        *([f"  less sure {weak}  [search finds the photo by these too]"] if weak else []),
        f"  objects  {objects or '-'}" + (f"  [{details['detector']}]" if details["detector"] else ""),
        f"  taken    {details['taken_at'] or '-'}" + (f" ({details['date_source']})" if details["taken_at"] else ""),
        f"  place    {_place_line(details['place'])}",
        f"  camera   {details['camera'] or '-'}",
        f"  size     {details['width'] or '?'}x{details['height'] or '?'} px, {details['size']} bytes",
        f"  status   {details['status']}" + (f": {details['error']}" if details["error"] else ""),
    ]
    return "\n".join(lines)


def _place_line(place: dict[str, Any] | None) -> str:
    if place is None:
        return "-"
    return Place(**{key: value for key, value in place.items() if key not in ("name", "source_name")}).described()

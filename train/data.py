"""Flickr8k with the standard Karpathy split (6,000 train / 1,000 val / 1,000 test images)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from photocap.model.vocab import tokenize

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "flickr8k"


def data_dir(override: str | Path | None = None) -> Path:
    """The Flickr8k folder: `override`, else $PHOTOCAP_DATA, else ../shared/data/flickr8k."""
    path = Path(override or os.environ.get("PHOTOCAP_DATA") or DEFAULT_DATA)
    if not (path / "dataset_flickr8k.json").is_file() or not (path / "Images").is_dir():
        raise FileNotFoundError(
            f"Flickr8k not found in {path} (needs dataset_flickr8k.json and Images/); set PHOTOCAP_DATA"
        )
    return path


@dataclass(frozen=True)
class Photo:
    index: int  # row in the feature cache
    filename: str
    split: str  # train, val or test
    captions: tuple[tuple[str, ...], ...]  # tokenised reference captions
    raw: tuple[str, ...]


def load_split(root: Path) -> list[Photo]:
    """Every image of the Karpathy split file, in the file's order (the feature cache's row order)."""
    with open(root / "dataset_flickr8k.json", encoding="utf-8") as f:
        images = json.load(f)["images"]
    return [
        Photo(
            index=i,
            filename=img["filename"],
            split="val" if img["split"] == "restval" else img["split"],
            captions=tuple(tuple(tokenize(s["raw"])) for s in img["sentences"]),
            raw=tuple(s["raw"] for s in img["sentences"]),
        )
        for i, img in enumerate(images)
    ]

"""The shapes of the rows the catalog reads and writes (photocap.catalog.store), as named tuples and typed dicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, NotRequired, TypedDict

from photocap.catalog.tags import TagView
from photocap.metadata.places import Place
from photocap.metadata.read import WrittenMetadata


class KnownFile(NamedTuple):
    """What the catalog remembers of a file, to tell unchanged files from changed ones without reading."""

    id: int
    size: int
    mtime_ns: int
    status: str
    content_hash: str | None  # None when the file could never be read (it is tried again on the next scan)
    metadata_stamp: str | None = None  # the sidecars its metadata was read with (None: never read)


class NewFile(TypedDict):
    path: str
    size: int
    mtime_ns: int
    content_hash: str


class FileUpdate(TypedDict):
    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str


class FileError(TypedDict):
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    error: str


class PhotoFile(TypedDict):
    id: int
    path: str
    status: str


class PhotoToCaption(NamedTuple):
    id: int
    path: str


@dataclass(frozen=True, kw_only=True)
class PhotoResult:
    """What the captioner made of one photo: a caption (error None), or the reason it failed (error set).

    `words` are the model's concept words and `tags` the tagger's, as (word, probability) pairs; either may
    be empty. `feature` is the tagger's pooled feature (fp16 bytes), kept so the photo can be tagged again
    without being decoded.
    """

    photo_id: int
    error: str | None = None
    caption: str | None = None
    score: float | None = None
    words: Sequence[tuple[str, float]] = field(default_factory=list)
    model_id: str | None = None
    model_checksum: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    date_source: str | None = None
    confidence: float | None = None
    method: str | None = None
    tags: Sequence[tuple[str, float]] = field(default_factory=list)
    tagger_id: str | None = None
    feature: bytes | None = None
    feature_encoder: str | None = None
    written: WrittenMetadata | None = None  # what the photo's files say (None: not read)
    # The objects the detector found, (label, score, (x1, y1, x2, y2) as fractions), and which detector looked
    # (None: none did, and the photo's earlier detections stay).
    detections: Sequence[tuple[str, float, tuple[float, float, float, float]]] = field(default_factory=list)
    detector_id: str | None = None
    phash: int | None = None  # the picture's perceptual hash (photocap.media.perceptual), kept by content hash


@dataclass(frozen=True)
class MetadataUpdate:
    """What a captioned photo's files say, read again (its sidecar changed), and the date that follows."""

    photo_id: int
    written: WrittenMetadata
    taken_at: datetime | None
    date_source: str | None


class SearchRow(TypedDict):
    """What the search index holds of a photo. `caption` is the effective one: the user's, else the model's."""

    id: int
    path: str
    folder: str
    caption: str | None
    caption_source: str | None  # 'user', 'file' (what the photo's files say), 'model' or None
    words: list[tuple[str, float]]  # the model's concept words (kept under a user caption)
    tags: list[TagView]  # effective tags: the user's, then the model's not taken away
    taken_at: datetime | None
    camera_make: str | None
    camera_model: str | None
    camera: str | None  # make and model in one string ("Canon" + "Canon EOS 5D" gives "Canon EOS 5D")
    status: str
    date_source: NotRequired[str | None]  # where taken_at comes from (photocap.metadata.dates.DATE_SOURCES)
    place: NotRequired[Place | None]  # where it was taken (filled in with the tags)


class PhotoRow(TypedDict):
    id: int
    path: str
    folder: str
    size: int
    mtime_ns: int
    content_hash: str | None
    width: int | None
    height: int | None
    taken_at: datetime | None
    date_source: str | None
    camera_make: str | None
    camera_model: str | None
    status: str
    error: str | None
    caption: str | None
    caption_source: str | None
    caption_origin: str | None  # where a 'file' caption was read ("embedded XMP", "XMP sidecar a.xmp", ...)
    score: float | None  # of the model caption
    confidence: float | None  # of the model caption: the chance that it is right (photocap.model.calibration)
    method: str | None  # how the model caption was chosen (photocap.model.chooser.METHODS)
    model_id: str | None
    model_checksum: str | None
    detector_id: str | None  # the detector that looked at the photo (None: none did)
    tags: list[TagView]
    place: NotRequired[Place | None]  # where it was taken (filled in with the tags)
    search_synced: bool
    created_at: datetime
    updated_at: datetime


class StatusCounts(TypedDict):
    photos: int  # every photo in the catalog, missing ones included
    ok: int
    error: int
    missing: int
    pending: int
    unsynced: int  # photos whose latest change the search index has not taken yet


class ModelUse(TypedDict):
    model_id: str | None
    model_checksum: str | None
    captions: int

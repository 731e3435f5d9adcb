"""The catalog's tables (SQLAlchemy models). `photocap.catalog.store` holds the queries; Alembic's migrations in
`migrations/versions` must create exactly these (tests/test_catalog.py compares them)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound variables


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """`ids` in lists of at most CHUNK."""
    chunk: list[int] = []
    for photo_id in ids:
        chunk.append(photo_id)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FsPath(TypeDecorator[str]):
    """A file-system path as `str`: TEXT when it is valid UTF-8, else its raw bytes (BLOB)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        if value is None or is_utf8(value):
            return value
        return os.fsencode(value)

    def process_result_value(self, value: str | bytes | None, dialect: Dialect) -> str | None:
        return os.fsdecode(value) if isinstance(value, bytes) else value


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (CheckConstraint("status IN ('pending', 'ok', 'error', 'missing')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    folder: Mapped[str] = mapped_column(FsPath, index=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(Text, index=True)  # blake2b-128 hex of the bytes
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)  # wall-clock time, no time zone
    date_source: Mapped[str | None] = mapped_column(Text)  # "exif", "file name" or "file time"
    camera_make: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(Text)
    # The sidecars read with the photo's own metadata (photocap.metadata.read.sidecar_stamp): "" for none, None
    # when its metadata was never read (a photo catalogued before photocap read metadata).
    metadata_stamp: Mapped[str | None] = mapped_column(Text)
    # The detector whose findings the photo's `detections` rows are; None: no detector has looked at it.
    detector_id: Mapped[str | None] = mapped_column(Text, index=True)
    status: Mapped[str] = mapped_column(Text, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # The scan's mark before 2026-12, no longer read or written (the scan marks in memory). Kept: dropping it would
    # rewrite the photos table.
    seen: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    search_synced: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", index=True)
    # UTC (naive), like SQLite's CURRENT_TIMESTAMP.
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, server_default=func.current_timestamp())


class Caption(Base):
    __tablename__ = "captions"
    __table_args__ = (
        UniqueConstraint("photo_id", "source"),
        CheckConstraint("source IN ('model', 'user')", name="source"),
        # The captions to review, least confident first, and their count (Catalog.captions_to_review), read from
        # this index alone rather than from every caption's row (migration 0009).
        Index("ix_captions_source_confidence", "source", "confidence", "photo_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    model_id: Mapped[str | None] = mapped_column(Text)
    model_checksum: Mapped[str | None] = mapped_column(Text)
    words: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")  # [[word, p], ...]
    # The chance that the model caption is right (0..1, photocap.model.calibration), and how the caption chooser
    # chose it (photocap.model.chooser.METHODS). None for user captions and older catalogs.
    confidence: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, server_default=func.current_timestamp())


class Tag(Base):
    """A word describing a photo. Model tags carry their probability and the tagger that made them; a user's
    row either adds a word (removed false) or takes a model tag away (removed true). The user's rows win and
    survive re-indexing; the model's are replaced whenever the photo is tagged again."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("photo_id", "source", "word"),
        CheckConstraint("source IN ('model', 'user')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(Text)
    word: Mapped[str] = mapped_column(Text, index=True)
    probability: Mapped[float | None] = mapped_column(Float)
    tagger_id: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, server_default=func.current_timestamp())


class PhotoFeature(Base):
    """The tagger's pooled image feature of a photo (fp16 bytes), kept so that photos can be tagged again
    (a new tag map, new thresholds) without being decoded again."""

    __tablename__ = "photo_features"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    encoder: Mapped[str] = mapped_column(Text)  # encoder name and weights checksum
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The tagger that last tagged the photo (from this feature): photos it gave no tag are tagged too.
    tagger_id: Mapped[str | None] = mapped_column(Text, index=True)


class Detection(Base):
    """An object the detector found in a photo: its COCO label, score and box (fractions of the upright image's
    width and height). Kept from a low score (photocap.model.tag_vocabulary.DETECTIONS_KEPT_FROM) so that the
    thresholds that make tags can change without decoding again; replaced whenever the photo is looked at again."""

    __tablename__ = "detections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)


class WrittenText(Base):
    """A caption or keyword a photo's files carry (photocap.metadata.read): what people wrote before photocap saw
    it. It wins over the model's, as the user's own edits do (which win over it). Replaced whenever the photo's
    files or sidecars are read again."""

    __tablename__ = "written_metadata"
    __table_args__ = (
        UniqueConstraint("photo_id", "field", "text"),
        CheckConstraint("field IN ('caption', 'keyword')", name="field"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)  # "embedded XMP", "IPTC", "EXIF", "XMP sidecar photo.xmp"


class PhotoPlace(Base):
    """Where a photo was taken (photocap.metadata.places.Place): its GPS position, if any, and the names of its place,
    either what location fields another application wrote (source 'xmp' or 'iptc', which win) or the position's
    place found offline (source 'gps'; names empty at sea). Replaced whenever the photo's files are read again."""

    __tablename__ = "places"
    __table_args__ = (CheckConstraint("source IN ('gps', 'xmp', 'iptc')", name="source"),)

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(Text)
    county: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    country_code: Mapped[str | None] = mapped_column(Text)
    sublocation: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)


class Edit(Base):
    """One edit of a photo's caption or tags by its user (`caption --set`, `tag`, the web app), with what the
    user's own caption and tags were before it: undo puts them back, newest edit first, and forgets the edit."""

    __tablename__ = "edits"
    __table_args__ = (CheckConstraint("origin IN ('cli', 'web')", name="origin"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # newer edits have larger ids
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    made_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, server_default=func.current_timestamp())
    origin: Mapped[str] = mapped_column(Text)
    changed: Mapped[str] = mapped_column(Text)  # "caption", "tags" or "caption and tags"
    caption_before: Mapped[str | None] = mapped_column(Text)  # the user's caption; None: they had none
    # The user's tag rows before: [[word, removed], ...] (removed: a model or file tag the user took away).
    tags_before: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")


class VectorChange(Base):
    """A photo whose kept feature, or whose place in `photocap similar`, may have changed: written by triggers
    (migration 0007) on photo_features and photos, read and cleared by the vector index (photocap.similar)."""

    __tablename__ = "vector_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(Integer)


class PerceptualHash(Base):
    """A picture's 64-bit DCT perceptual hash (photocap.similar.phash), by the content hash of its file: computed
    by indexing as it decodes the photo (by `photocap duplicates` for photos indexed before), shared by exact copies,
    and kept while the file's bytes stay the same."""

    __tablename__ = "perceptual_hashes"

    content_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    phash: Mapped[int] = mapped_column(Integer)  # the 64 bits as a signed integer


photos = Photo.__table__
captions = Caption.__table__
tags = Tag.__table__
photo_features = PhotoFeature.__table__
written_metadata = WrittenText.__table__
edits = Edit.__table__
detections = Detection.__table__
vector_changes = VectorChange.__table__
perceptual_hashes = PerceptualHash.__table__
places = PhotoPlace.__table__


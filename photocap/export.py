"""`photocap export`: alt text and keywords for photos that leave the library, taken from the catalog.

Three outputs, alone or together:
- copies in a folder (`--to DIR`) with the alt text and keywords embedded (see metadata_writers), pixels
  untouched; HEIC/HEIF, AVIF and RAW files are never rewritten: their copy is exact and its alt text goes
  to an XMP sidecar beside it (copy.heic.xmp);
- XMP sidecars beside the originals (`--sidecar`), merged into a sidecar that is already there;
- a manifest of file, alt text, caption model, tags and place: JSON, CSV, or an HTML page that opens offline.

Where a photo was taken (the catalog's place: from GPS, or the location fields another application wrote) goes
into the location fields of the XMP (embedded and sidecars) and, in JPEG copies, IPTC-IIM City, Sub-location,
Province-State and Country (photocap.metadata.xmp_write, photocap.metadata.iptc). With `place_in_alt_text` (the
setting `alt_text_place`, off by default: alt text describes the image, the place is context) the alt text ends
with it: "two people on a beach in Nazaré, Portugal".

A model's caption less sure than `min_confidence` (`--min-confidence`; by default the shipped calibration's
`unsure_below`, the confidence under which a caption is more likely wrong than right, photocap.model.calibration)
is not written: the photo gets its tags as a short alt text ("giraffe, tree, grass"), or, with `unsure_alt`
"none", no alt text (its description fields are left as they are). Your own captions and the file's are always
written.

Captions and tags come from the catalog only (a user's own caption wins over the model's; the keywords are
the photo's effective tags: the user's own, then the model's the user did not take away, which indexing
already kept to those above the tag threshold); no model is loaded. A tag's hierarchy for
lr:hierarchicalSubject comes from the shipped tag map. Keywords merge with those a file already holds
(see photocap.metadata.xmp_write).
Originals are only read. Every file is written atomically (a temp file in the same folder, fsync, rename),
so a destination is absent, as it was, or complete; temp files left by a killed export are removed by the
next export into the same folder.
"""

from __future__ import annotations

import base64
import csv
import errno
import html
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

from photocap.atomic import remove_stale_temp_files, write_atomically
from photocap.catalog.store import Catalog, PhotoRow
from photocap.catalog.tags import confident
from photocap.media.thumbnails import ThumbnailError, browser_shows, preview_bytes
from photocap.metadata.embed import CannotEmbed, MetadataError, embed_metadata, image_kind
from photocap.metadata.formats import SIDECAR_ONLY_KINDS
from photocap.metadata.places import Place
from photocap.metadata.xmp_write import Keyword, PhotoMetadata, XmpError, sidecar_bytes, with_metadata
from photocap.model.calibration import is_unsure
from photocap.model.tag_vocabulary import TagMapError, vocabulary
from photocap.wording import counted

SIDECAR_STYLES = ("darktable", "lightroom")  # photo.jpg.xmp (darktable, digiKam) or photo.xmp (Lightroom)
MANIFEST_FORMATS = ("json", "csv", "html")
# New fields go at the end: a CSV manifest may be read by position.
MANIFEST_FIELDS = ("file", "source", "alt_text", "model", "caption_source", "tags", "place", "alt_text_from",
                   "confidence")
UNSURE_ALT_CHOICES = ("tags", "none")  # what a photo with an unsure caption gets: its tags, or no alt text
TAGS_IN_ALT_TEXT = 4
TAG_SEPARATOR = "; "  # between tags in a CSV manifest


class ExportError(Exception):
    """The export cannot run at all (bad options, files in the way); the message is one line."""


class NothingToExport(ExportError):
    """The search found no photo to export."""


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    paths: Sequence[str | os.PathLike[str]] = ()  # photos, or folders of catalogued photos
    query: str | None = None  # and/or the photos this search finds
    limit: int | None = None  # most photos taken from the search (None: every match)
    to: Path | None = None  # copy into this folder, alt text embedded
    sidecar_style: str | None = None  # write sidecars of this style instead (None: no sidecars)
    manifest: str | None = None  # json, csv or html
    manifest_file: Path | None = None  # default: <to>/manifest.<format>
    overwrite: bool = False  # replace copies and a manifest that already exist
    place_in_alt_text: bool = False  # end the alt text with where the photo was taken
    min_confidence: float | None = None  # a model caption less sure than this is not written (None: every one)
    unsure_alt: str = "tags"  # what such a photo gets instead: its tags ("tags") or no alt text ("none")

    def check(self) -> None:
        if not self.paths and self.query is None:
            raise ExportError("name the photos to export: PATH arguments and/or --query")
        if self.to is not None and self.sidecar_style is not None:
            raise ExportError("choose one of --to DIR (copies) and --sidecar (XMP files beside the originals)")
        if self.to is None and self.sidecar_style is None and self.manifest is None:
            raise ExportError("nothing to write: give --to DIR, --sidecar or --manifest FORMAT")
        if self.sidecar_style is not None and self.sidecar_style not in SIDECAR_STYLES:
            raise ExportError(f"unknown sidecar style {self.sidecar_style!r} (known: {', '.join(SIDECAR_STYLES)})")
        if self.manifest is not None and self.manifest not in MANIFEST_FORMATS:
            raise ExportError(f"unknown manifest format {self.manifest!r} (known: {', '.join(MANIFEST_FORMATS)})")
        if self.manifest_file is not None and self.manifest is None:
            raise ExportError("--manifest-file needs --manifest json|csv|html")
        if self.manifest is not None and self.to is None and self.manifest_file is None:
            raise ExportError("--manifest needs --manifest-file PATH when there is no --to DIR to put it in")
        if self.limit is not None and self.query is None:
            raise ExportError("--limit applies to --query only")
        if self.unsure_alt not in UNSURE_ALT_CHOICES:
            raise ExportError(f"unknown choice {self.unsure_alt!r} for unsure captions (known: tags, none)")

    def manifest_path(self) -> str | None:
        if self.manifest is None:
            return None
        if self.manifest_file is not None:
            return os.path.abspath(self.manifest_file)
        assert self.to is not None  # check() saw to it
        return os.path.join(os.path.abspath(self.to), f"manifest.{self.manifest}")


@dataclass(frozen=True)
class AltText:
    """A photo's effective caption, to be exported as its alt text, and its effective tags."""

    source: str  # the original's path, as catalogued
    text: str | None  # None: no alt text (the caption was unsure and the user asked for none instead)
    model: str | None  # the model that wrote it; None for the user's own caption and the file's
    caption_source: str  # 'user', 'file' (what the photo's files said) or 'model'
    keywords: tuple[Keyword, ...] = ()  # the tags: the user's own first, then the model's
    place: Place | None = None  # where it was taken
    text_from: str = "caption"  # "caption", or for an unsure caption "tags" or "none"
    confidence: float | None = None  # of the model's caption

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(keyword.word for keyword in self.keywords)

    @property
    def place_label(self) -> str | None:
        return self.place.label() or None if self.place is not None else None

    def metadata(self) -> PhotoMetadata:
        return PhotoMetadata(self.text, self.keywords, self.place)


def with_place(text: str, place: Place | None) -> str:
    """The alt text ending with where the photo was taken, "... in Nazaré, Portugal", unless it names the place
    already or the place has no name."""
    if place is None:
        return text
    names = [name for name in (place.city or place.sublocation or place.region, place.country) if name]
    if not names or any(name.casefold() in text.casefold() for name in names[:1]):
        return text
    body, end = (text[:-1], text[-1]) if text.endswith((".", "!")) else (text, "")
    return f"{body} in {', '.join(dict.fromkeys(names))}{end}"


class ManifestRow(TypedDict):
    file: str  # relative to the manifest's folder
    source: str
    alt_text: str  # "" when none was written
    model: str | None
    caption_source: str
    tags: list[str]
    place: str | None  # where it was taken, "Nazaré, Leiria, Portugal"
    alt_text_from: str  # "caption"; for an unsure caption "tags" or "none"
    confidence: float | None  # of the model's caption


@dataclass(frozen=True)
class Exported:
    source: str
    path: str | None  # the file written for the photo (copy or sidecar); None when only a manifest is made
    alt_text: str | None  # None: none written (an unsure caption, and "none" asked for)
    model: str | None
    caption_source: str
    embedded: bool  # False: a copy in a format that cannot carry alt text, made unchanged
    tags: tuple[str, ...] = ()
    sidecar: str | None = None  # the XMP sidecar written beside a copy that is never rewritten (HEIC, RAW)
    place: str | None = None  # where it was taken, as written into the location fields
    alt_text_from: str = "caption"  # "caption"; for an unsure caption "tags" or "none"
    confidence: float | None = None  # of the model's caption (None: the user's or the file's, or not known)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class ExportReport:
    exported: list[Exported] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    unembedded: list[tuple[str, str]] = field(default_factory=list)  # copies without alt text: (source, why)
    manifest: str | None = None

    def unsure(self, alt_text_from: str) -> int:
        """How many photos with an unsure caption got their tags ("tags") or no alt text ("none")."""
        return sum(item.alt_text_from == alt_text_from for item in self.exported)


def run_export(home: Path, request: ExportRequest, on_plan: Callable[[int], None] | None = None) -> ExportReport:
    """Export what `request` asks for. Problems with single photos are listed in the report; problems
    with the whole export (options, a missing catalog, files already there) raise ExportError first,
    before anything is written. `on_plan` hears how many photos will be exported, before any is."""
    request.check()
    report = ExportReport()
    photos = _alt_texts(Path(home), request, report)
    targets = _plan(photos, request, report)
    if on_plan is not None:
        on_plan(len(targets))
    manifest = request.manifest_path()
    _refuse_to_clobber(targets, manifest, request, [photo.source for photo in photos])
    if request.to is not None:
        try:
            os.makedirs(request.to, exist_ok=True)
        except OSError as error:
            raise ExportError(f"cannot create {os.path.abspath(request.to)}: {error.strerror}") from None
    for folder in sorted({os.path.dirname(target) for _, target in targets if target}):
        remove_stale_temp_files(folder)
    for photo, target in targets:
        try:
            report.exported.append(_export_one(photo, target, request, report))
        except (OSError, MetadataError, XmpError) as error:
            report.failed.append((photo.source, _reason(error, photo.source)))
    if manifest is not None and report.exported:
        try:
            page = render_manifest(report.exported, request.manifest, manifest, copies=request.to is not None)
            write_atomically(manifest, page, replace=request.overwrite)
            report.manifest = manifest
        except OSError as error:
            report.failed.append((manifest, _reason(error, manifest)))
    return report


# ---------------------------------------------------------------------------------- choosing photos


def _alt_texts(home: Path, request: ExportRequest, report: ExportReport) -> list[AltText]:
    if not (home / "catalog.db").is_file():
        raise ExportError(f"no catalog in {home}; run `photocap index FOLDER` first")
    with Catalog.open(home) as catalog:
        rows = list(_rows_for_paths(catalog, request.paths, report))
        if request.query is not None:
            found = _rows_for_query(catalog, home, request.query, request.limit)
            if not found and not request.paths:
                raise NothingToExport(f"no photo matches {request.query!r}")
            rows.extend(found)
    photos: list[AltText] = []
    seen: set[int] = set()
    paths = _keyword_paths({tag["word"] for row in rows for tag in confident(row["tags"])})
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        problem = _why_not_exportable(row)
        if problem is not None:
            report.failed.append((row["path"], problem))
            continue
        assert row["caption"] is not None and row["caption_source"] is not None
        model = row["model_id"] if row["caption_source"] == "model" else None
        keywords = tuple(Keyword(tag["word"], paths[tag["word"]]) for tag in confident(row["tags"]))
        place = row.get("place")
        confidence = row["confidence"] if row["caption_source"] == "model" else None
        text: str | None = row["caption"]
        text_from = "caption"
        if request.min_confidence is not None and is_unsure(row["caption_source"], confidence, request.min_confidence):
            text = tags_alt_text(keywords) if request.unsure_alt == "tags" else None
            text_from = "tags" if text is not None else "none"
        if text is not None and request.place_in_alt_text:
            text = with_place(text, place)
        photos.append(AltText(row["path"], text, model, row["caption_source"], keywords, place, text_from,
                              confidence))
    return photos


def tags_alt_text(keywords: Sequence[Keyword]) -> str | None:
    """A short alt text of a photo's first tags (the user's first, then the most likely): "giraffe, tree". A kind
    that another tag names more closely is left out ("elephant", not "animal, elephant"); a tag in between stays
    ("dog, golden retriever": the breed may be a guess where the dog is not). None without tags."""
    kinds = {keyword.path.split("|")[0] for keyword in keywords if "|" in keyword.path}
    return ", ".join([keyword.word for keyword in keywords if keyword.word not in kinds][:TAGS_IN_ALT_TEXT]) or None


def _keyword_paths(words: set[str]) -> dict[str, str]:
    """Each tag's lr:hierarchicalSubject path: its place in the tag map, ending in the tag itself (a plural
    or synonym takes the place of the word it names); just the tag when the map does not know it."""
    if not words:
        return {}
    try:
        known = vocabulary()
    except TagMapError as error:
        raise ExportError(str(error)) from None
    paths = {}
    for word in words:
        parents, _, _ = (known.path(word) or "").rpartition("|")
        paths[word] = f"{parents}|{word}" if parents else word
    return paths


def _rows_for_paths(
    catalog: Catalog, paths: Sequence[str | os.PathLike[str]], report: ExportReport
) -> Iterator[PhotoRow]:
    for given in paths:
        path = os.path.abspath(os.fspath(given))
        if os.path.isdir(path):
            rows = catalog.photos_under([path])
            if not rows:
                report.failed.append((path, "no catalogued photo in this folder"))
            yield from rows
            continue
        row = catalog.photo_by_path(path) or catalog.photo_by_path(os.path.realpath(path))
        if row is not None:
            yield row
        elif not os.path.lexists(path):
            report.failed.append((path, "no such file"))
        else:
            report.failed.append((path, "not in the catalog (run `photocap index` on its folder first)"))


def _rows_for_query(catalog: Catalog, home: Path, query: str, limit: int | None) -> list[PhotoRow]:
    from photocap.search.index import SearchIndex, SearchIndexError, SearchQueryError

    index_dir = home / "index"
    if not index_dir.exists():
        raise ExportError(f"no search index in {home}; run `photocap index FOLDER` first")
    try:
        with SearchIndex.open(index_dir, create=False) as search_index:
            hits = search_index.search(query, limit=limit)
    except SearchQueryError as error:
        raise ExportError(f"bad query: {error}") from None
    except SearchIndexError as error:
        raise ExportError(str(error)) from None
    return catalog.photos_by_ids([hit.photo_id for hit in hits])


def _why_not_exportable(row: PhotoRow) -> str | None:
    if row["status"] == "missing":
        return "missing from disk"
    if row["caption"] is None:
        if row["status"] == "error":
            return f"no caption: {row['error']}"
        return "no caption yet (run `photocap index`)"
    try:
        stat = os.stat(row["path"])
    except FileNotFoundError:
        return "missing from disk"
    except OSError as error:
        return error.strerror or str(error)
    # A model caption describes the content it was made from; a user's caption survives edits by design.
    if row["caption_source"] == "model" and (stat.st_size, stat.st_mtime_ns) != (row["size"], row["mtime_ns"]):
        return "changed since it was captioned (run `photocap index` to caption it again)"
    return None


# --------------------------------------------------------------------------------------- destinations


def copy_names(sources: Sequence[str]) -> list[str]:
    """A file name in the export folder for each source: its own, with " (2)", " (3)"... added when an
    earlier source has the same name (compared without case, for case-insensitive file systems)."""
    taken: set[str] = set()
    names = []
    for source in sources:
        name = os.path.basename(source)
        stem, extension = os.path.splitext(name)
        candidate, number = name, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{stem} ({number}){extension}"
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


def sidecar_path(source: str, style: str) -> str:
    """photo.jpg.xmp (darktable, digiKam) or photo.xmp (Lightroom)."""
    return (source if style == "darktable" else os.path.splitext(source)[0]) + ".xmp"


def _plan(photos: list[AltText], request: ExportRequest, report: ExportReport) -> list[tuple[AltText, str | None]]:
    if request.to is not None:
        folder = os.path.abspath(request.to)
        names = copy_names([photo.source for photo in photos])
        return [(photo, os.path.join(folder, name)) for photo, name in zip(photos, names, strict=True)]
    if request.sidecar_style is not None:
        planned: list[tuple[AltText, str | None]] = []
        owners: dict[str, str] = {}
        for photo in photos:
            target = sidecar_path(photo.source, request.sidecar_style)
            if target in owners:
                report.failed.append((photo.source, f"its sidecar {target} is already {owners[target]}'s"))
                continue
            owners[target] = photo.source
            planned.append((photo, target))
        return planned
    return [(photo, None) for photo in photos]


def _refuse_to_clobber(
    targets: list[tuple[AltText, str | None]], manifest: str | None, request: ExportRequest, sources: list[str]
) -> None:
    """Refuse the whole export, before writing anything, if it would replace files without --overwrite.

    Sidecars are merged into, never replaced, so they do not count. The manifest may never be a photo.
    """
    if manifest is not None and any(_same_file(manifest, source) for source in sources):
        raise ExportError(f"the manifest file {manifest} is one of the photos")
    if request.overwrite:
        return
    copies = [target for _, target in targets] if request.to is not None else []
    existing = [path for path in [*copies, manifest] if path is not None and os.path.lexists(path)]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ExportError(f"{existing[0]} already exists{more}; nothing was written (--overwrite replaces)")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ------------------------------------------------------------------------------------------- writing


def _export_one(photo: AltText, target: str | None, request: ExportRequest, report: ExportReport) -> Exported:
    embedded, sidecar = True, None
    if target is not None and request.sidecar_style is not None:
        _write_sidecar(target, photo.metadata())
    elif target is not None:
        embedded, sidecar = _write_copy(photo, target, request.overwrite, report)
    return Exported(photo.source, target, photo.text, photo.model, photo.caption_source, embedded, photo.tags,
                    sidecar, photo.place_label, photo.text_from, photo.confidence)


def _write_copy(photo: AltText, target: str, overwrite: bool, report: ExportReport) -> tuple[bool, str | None]:
    """Copy the photo to `target` with its alt text and keywords embedded, or (HEIC, AVIF, RAW) unchanged with
    an XMP sidecar beside it; returns whether the copy itself carries them, and the sidecar written."""
    if _same_file(target, photo.source):
        raise OSError(errno.EEXIST, "the destination is the original photo itself", target)
    with open(photo.source, "rb") as file:
        stat = os.fstat(file.fileno())
        data = file.read()
    times = (stat.st_atime_ns, stat.st_mtime_ns)
    kind = image_kind(data, photo.source)
    if kind in SIDECAR_ONLY_KINDS:
        sidecar = sidecar_path(target, "darktable")
        write_atomically(target, data, replace=overwrite, times_ns=times)
        _write_sidecar(sidecar, photo.metadata())
        report.unembedded.append((photo.source, f"{kind.upper()} files are never rewritten; the alt text is in "
                                                f"{sidecar}"))
        return False, sidecar
    embedded = True
    try:
        data = embed_metadata(data, photo.metadata(), photo.source)
    except CannotEmbed as reason:
        embedded = False
        report.unembedded.append((photo.source, f"{reason}; copied unchanged"))
    write_atomically(target, data, replace=overwrite, times_ns=times)
    return embedded, None


def _write_sidecar(target: str, metadata: PhotoMetadata) -> None:
    try:
        with open(target, "rb") as file:
            existing: bytes | None = file.read()
    except FileNotFoundError:
        existing = None
    try:
        document = with_metadata(existing, metadata).document
    except XmpError as error:
        raise XmpError(f"existing sidecar {target} left unchanged: {error}") from None
    write_atomically(target, sidecar_bytes(document), replace=True)


def _reason(error: Exception, about: str) -> str:
    """One line for a failure reported against the path `about`."""
    if isinstance(error, OSError) and error.strerror:
        if error.filename and error.filename != about and os.path.isdir(error.filename):
            return f"cannot write in {error.filename}: {error.strerror}"
        if error.filename and error.filename != about:
            return f"{error.filename}: {error.strerror}"
        return error.strerror
    return str(error)


# ------------------------------------------------------------------------------------------ manifests


def render_manifest(exported: Sequence[Exported], form: str | None, manifest: str, *, copies: bool) -> bytes:
    """The manifest of `exported` in `form`. Each row's file is the image the alt text belongs to (the copy
    with `copies`, else the original), relative to the manifest's folder."""
    folder = os.path.dirname(manifest)
    rows = [
        ManifestRow(file=os.path.relpath(item.path if copies and item.path else item.source, folder),
                    source=item.source, alt_text=item.alt_text or "", model=item.model,
                    caption_source=item.caption_source, tags=list(item.tags), place=item.place,
                    alt_text_from=item.alt_text_from, confidence=item.confidence)
        for item in exported
    ]
    if form == "json":
        # Names that are not UTF-8 keep their lone surrogates as JSON \udcXX escapes.
        return (json.dumps(rows, ensure_ascii=False, indent=2) + "\n").encode("utf-8", "backslashreplace")
    if form == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "tags": TAG_SEPARATOR.join(row["tags"])} for row in rows)
        return buffer.getvalue().encode("utf-8", "surrogateescape")  # file names byte for byte as on disk
    if form == "html":
        return _html_page(rows, [_preview_of(item.source) for item in exported]).encode("utf-8")
    raise ValueError(f"unknown manifest format {form!r}")


_PAGE_STYLE = """body{font-family:system-ui,sans-serif;margin:1rem;background:#fafafa}
figure{display:inline-block;vertical-align:top;width:16rem;margin:.5rem;padding:.5rem;background:#fff}
img{display:block;max-width:16rem;max-height:12rem;margin:auto}
figcaption{font-size:.85rem;overflow-wrap:anywhere}
.tags{list-style:none;margin:.3rem 0;padding:0}
.tags li{display:inline-block;margin:0 .25rem .25rem 0;padding:0 .3rem;border-radius:.2rem;background:#e8eef7}
.file{color:#555}"""


def _preview_of(source: str) -> str | None:
    """For a photo a browser cannot show (HEIC, TIFF, RAW), a small WebP of it as a data: URL, so that the page
    shows it with no file beside it; None for the others (and when it cannot be read)."""
    if browser_shows(source):
        return None
    try:
        return "data:image/webp;base64," + base64.b64encode(preview_bytes(source)).decode("ascii")
    except ThumbnailError:
        return None


def _html_page(rows: list[ManifestRow], previews: Sequence[str | None]) -> str:
    figures = []
    for row, preview in zip(rows, previews, strict=True):
        file = row["file"] or ""
        # The file itself, as percent-encoded bytes (any file name, relative, offline); a preview where a browser
        # cannot show it.
        src = preview or quote(os.fsencode(file), safe="/")
        alt = html.escape(row["alt_text"] or "")
        by = {"user": "your caption", "file": "caption from the file"}.get(
            row["caption_source"], f"model {row['model'] or 'unknown'}")
        if row["alt_text_from"] != "caption":
            by += " · caption unsure: " + ("tags as alt text" if row["alt_text_from"] == "tags" else "no alt text")
        # The alt text is shown for proofreading; hidden from screen readers, which read it from alt=.
        figures.append(
            f'<figure><img src="{html.escape(src)}" alt="{alt}" loading="lazy">'
            f'<figcaption><span aria-hidden="true">{alt}</span>{_tag_list(row["tags"])}'
            f'{_place_line(row["place"])}'
            f'<span class="file">{html.escape(_printable(file))} · {html.escape(by)}</span></figcaption></figure>'
        )
    count = counted(len(rows), "photo")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>photocap export: {count}</title>\n<style>\n{_PAGE_STYLE}\n</style>\n</head>\n<body>\n"
        f"<h1>Alt text of {count}</h1>\n" + "\n".join(figures) + "\n</body>\n</html>\n"
    )


def _place_line(place: str | None) -> str:
    return f'<span class="place">{html.escape(place)}</span><br>' if place else ""


def _tag_list(tags: list[str]) -> str:
    """The tags as a list shown under the caption (a block, so the file's line starts below it)."""
    if not tags:
        return "<br>"
    items = "".join(f"<li>{html.escape(tag)}</li>" for tag in tags)
    return f'<ul class="tags" aria-label="tags">{items}</ul>'


def _printable(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "replace")

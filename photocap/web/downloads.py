"""Downloads made with `photocap export`'s own function: a copy of a photo with its alt text embedded, and a
manifest of search results."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from photocap.export import MANIFEST_FORMATS, ExportError, ExportRequest, render_manifest, run_export


def exported_copy(home: Path, path: str) -> tuple[bytes, str]:
    """A copy of the photo at `path` with its alt text and keywords embedded, as `photocap export --to`
    makes it; returns its bytes and file name. Raises ExportError (one line) when it cannot be made."""
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
    if form not in MANIFEST_FORMATS:
        raise ExportError(f"unknown manifest format {form!r} (known: {', '.join(MANIFEST_FORMATS)})")
    with tempfile.TemporaryDirectory(prefix="photocap-serve-") as folder:
        report = run_export(home, ExportRequest(paths=paths, manifest=form,
                                                manifest_file=Path(folder) / f"manifest.{form}"))
    if not report.exported:
        raise ExportError("none of these photos can be exported (" + "; ".join(r for _p, r in report.failed[:1]) + ")")
    shared = os.path.commonpath([os.path.dirname(item.source) for item in report.exported])
    return render_manifest(report.exported, form, os.path.join(shared, f"manifest.{form}"), copies=False)

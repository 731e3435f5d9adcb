"""When a photo was taken: its EXIF date, else its XMP date (embedded or in a sidecar: exif:DateTimeOriginal,
photoshop:DateCreated, xmp:CreateDate; see photocap.metadata.xmp_read), else a date its file name spells
(IMG_20230714_153000.jpg, 2023-07-14 12.30.45.jpg), else the file's modification time. Each date comes with its
source, which `photocap show` prints and `--after`/`--before` filter on. Times are wall-clock times, without a time
zone, as cameras write them."""

from __future__ import annotations

import os
import re
from datetime import datetime

DATE_SOURCES = ("exif", "xmp", "file name", "file time")
# A year 1990-2099, month and day, optionally separated, then optionally a time: the shapes phones, cameras
# and screenshot tools give file names.
_DATE_IN_NAME = re.compile(
    r"(?<!\d)(?P<year>19[9]\d|20\d\d)[-_.]?(?P<month>0[1-9]|1[0-2])[-_.]?(?P<day>0[1-9]|[12]\d|3[01])"
    r"(?:[ T_-]?(?:at )?(?P<hour>[01]\d|2[0-3])[-_.:h]?(?P<minute>[0-5]\d)[-_.:m]?(?P<second>[0-5]\d))?(?!\d{3})"
)


def date_from_name(name: str) -> datetime | None:
    """The first valid date (and time, if there is one) a file name spells, or None."""
    for match in _DATE_IN_NAME.finditer(name):
        parts = {key: int(value) for key, value in match.groupdict().items() if value is not None}
        try:
            return datetime(parts["year"], parts["month"], parts["day"], parts.get("hour", 0),
                            parts.get("minute", 0), parts.get("second", 0))
        except ValueError:  # 2023-02-30
            continue
    return None


def photo_date(path: str | os.PathLike[str], exif_date: datetime | None,
               xmp_date: datetime | None = None) -> tuple[datetime | None, str | None]:
    """The date a photo was taken and where it comes from (one of DATE_SOURCES), or (None, None)."""
    if exif_date is not None:
        return exif_date, "exif"
    if xmp_date is not None:
        return xmp_date, "xmp"
    from_name = date_from_name(os.path.basename(os.fsdecode(path)))
    if from_name is not None:
        return from_name, "file name"
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime).replace(microsecond=0), "file time"
    except (OSError, ValueError, OverflowError):
        return None, None

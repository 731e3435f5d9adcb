"""Words people read: counts ("1 photo", "2 photos"), articles ("an airplane"), and why a photo cannot be used
(not catalogued, not yet captioned, unreadable, missing), in the same words wherever a command refuses one."""

from __future__ import annotations

import os
import re


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: counted(1, "photo") -> "1 photo"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def article(word: str) -> str:
    """"a" or "an", as `word` sounds: "an airplane", "a unicorn", "an umbrella"."""
    return "an" if re.match(r"[aeio]|u(?!ni|se|ku|r)", word) else "a"


def not_catalogued(path: str) -> str:
    """Why a path the catalog does not hold cannot be used: no such file, or not indexed yet."""
    if not os.path.lexists(path):
        return f"no such file: {path}"
    return f"not in the catalog: {path} (run `photocap index` on its folder first)"


def not_usable(path: str, status: str, error: str | None) -> str | None:
    """Why a catalogued photo of `status` cannot be used (None when it is captioned: status ok)."""
    if status == "pending":
        return f"not captioned yet: {path} (catalogued, waiting for `photocap index` on its folder)"
    if status == "error":
        return f"{path} could not be read when it was indexed ({error}); fix or replace it, then run `photocap index`"
    if status == "missing":
        return f"{path} is missing from disk since the last index run"
    return None

"""Counts and articles in words people read: "1 photo", "2 photos", "an airplane"."""

from __future__ import annotations

import re


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: counted(1, "photo") -> "1 photo"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def article(word: str) -> str:
    """"a" or "an", as `word` sounds: "an airplane", "a unicorn", "an umbrella"."""
    return "an" if re.match(r"[aeio]|u(?!ni|se|ku|r)", word) else "a"

"""Counts in words people read: "1 photo", "2 photos"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, the noun plural unless the count is one: counted(1, "photo") -> "1 photo"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"

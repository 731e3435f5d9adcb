"""The words of the shipped tag map (`assets/imagenet_tags.json`, made by `train/tag_map.py`), for the parts
that need no model: the synonyms search indexes beside a tag, its place in the hierarchy for keywords, and
its kind. Reads only the JSON file, never torch, so `photocap search`, `tag` and `export` start fast.
A word the map does not know (a user's own tag) has no synonyms, its own path and no kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

TAG_MAP_FILE = "imagenet_tags.json"


@dataclass(frozen=True)
class TagEntry:
    word: str
    synonyms: tuple[str, ...]
    path: str  # from the most general kept word down to this one, "|"-separated (lr:hierarchicalSubject)
    kind: str


class TagVocabulary:
    def __init__(self, entries: dict[str, TagEntry]) -> None:
        self._entries = entries

    @classmethod
    def from_file(cls, path: Path) -> TagVocabulary:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = {
            tag["word"]: TagEntry(tag["word"], tuple(tag.get("synonyms", ())), tag.get("path") or tag["word"],
                                  tag.get("kind", "other"))
            for tag in data["tags"]
        }
        return cls(entries)

    def __contains__(self, word: str) -> bool:
        return word in self._entries

    def synonyms(self, word: str) -> tuple[str, ...]:
        entry = self._entries.get(word)
        return entry.synonyms if entry else ()

    def path(self, word: str) -> str:
        entry = self._entries.get(word)
        return entry.path if entry else word

    def kind(self, word: str) -> str | None:
        entry = self._entries.get(word)
        return entry.kind if entry else None

    def words(self) -> list[str]:
        return list(self._entries)


def tag_map_path() -> Path:
    return Path(str(resources.files("photocap") / "assets" / TAG_MAP_FILE))


@lru_cache(maxsize=1)
def tag_vocabulary() -> TagVocabulary:
    return TagVocabulary.from_file(tag_map_path())

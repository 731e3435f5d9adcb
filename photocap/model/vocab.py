"""Caption vocabulary: tokenisation and the word <-> id mapping, stored as plain JSON."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL_TOKENS = (PAD, START, END, UNK)

_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with punctuation stripped (the evaluation protocol's tokenisation)."""
    return _WORD.findall(text.lower().replace("'", ""))


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.words[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(f"vocabulary must start with {SPECIAL_TOKENS}")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def build(cls, captions: Iterable[list[str]], min_count: int = 5) -> Vocabulary:
        """Words seen at least `min_count` times, most frequent first (ties alphabetical)."""
        counts = Counter(word for tokens in captions for word in tokens)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIAL_TOKENS),
                      key=lambda w: (-counts[w], w))
        return cls(SPECIAL_TOKENS + tuple(kept))

    pad_id = property(lambda self: 0)
    start_id = property(lambda self: 1)
    end_id = property(lambda self: 2)
    unk_id = property(lambda self: 3)

    def __len__(self) -> int:
        return len(self.words)

    def id_of(self, word: str) -> int:
        return self._index.get(word, self.unk_id)  # type: ignore[attr-defined]

    def encode(self, tokens: list[str]) -> list[int]:
        """<start> tokens <end>, unknown words mapped to <unk>."""
        return [self.start_id, *(self.id_of(t) for t in tokens), self.end_id]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of the ids up to the first <end>, special tokens dropped."""
        out = []
        for i in ids:
            if i == self.end_id:
                break
            if i >= len(SPECIAL_TOKENS):
                out.append(self.words[i])
        return " ".join(out)

    def to_json(self) -> list[str]:
        return list(self.words)

    @classmethod
    def from_json(cls, words: list[str]) -> Vocabulary:
        return cls(tuple(words))

"""What a mistyped query word may have meant: "dgo" -> "dog", "bycicle" -> "bicycle", "elephnats" -> "elephants".

Only for words the library has no evidence for (SearchIndex.unknown_words) that are not words the models write
themselves (those are spelt right: the library lacks them), and only words the library does have:
the candidates are the words photocap's captions and tags can hold (assets/search_words.txt, written by
train.search_words), within one edit of the typed word (two for words of six letters or more; a swap of two
neighbouring letters is one edit), kept where the index holds them, the closest first, then the commonest.
The list is read only when a query has an unknown word: a search that finds its words never reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

# Beside this package, not through importlib.resources (its import costs a search's start-up).
SEARCH_WORDS_PATH = Path(__file__).resolve().parent.parent / "assets" / "search_words.txt"
SUGGESTED = 3  # at most this many suggestions a word
WORDS_LOOKED_AT = 5  # and for the first this many mistyped words of a query (about 20 ms each for long words)


@lru_cache(maxsize=1)
def search_words(path: Path = SEARCH_WORDS_PATH) -> tuple[str, ...]:
    return tuple(path.read_text(encoding="utf-8").split())


@lru_cache(maxsize=1)
def _spelt_right() -> frozenset[str]:
    return frozenset(search_words())


def suggestions(unknown: Iterable[str], photos_with: Callable[[str], int],
                term_of: Callable[[str], str] = str) -> dict[str, list[str]]:
    """For each unknown word, the closest words that `photos_with(word)` (how many photos the index finds by the
    word) says the library has: at most SUGGESTED, the fewest edits first, then the most photos, one word for each
    index term (`term_of`: "elephants" and "elephant" are one). Words of several parts ("hot dog"), words of
    fewer than three letters and words spelt right (in the list: a library without a beach is told nothing of
    "each") get none."""
    candidates = search_words()
    found: dict[str, list[str]] = {}
    mistyped = [typed for typed in unknown if typed.isalpha() and len(typed) >= 3
                and typed.lower() not in _spelt_right()]  # "beach" is no typo of "each"
    for typed in mistyped[:WORDS_LOOKED_AT]:
        word = typed.lower()
        allowed = 1 if len(word) < 6 else 2
        near = [(distance, candidate) for candidate in candidates if abs(len(candidate) - len(word)) <= allowed
                and (distance := edits(word, candidate, allowed)) <= allowed]
        counted = [(distance, -photos, candidate) for distance, candidate in near
                   if (photos := photos_with(candidate)) > 0]
        chosen: dict[str, str] = {}
        for _distance, _photos, candidate in sorted(counted):
            chosen.setdefault(term_of(candidate), candidate)
        if chosen:
            found[typed] = list(chosen.values())[:SUGGESTED]
    return found


def edits(first: str, second: str, limit: int) -> int:
    """The optimal string alignment distance between two words (insertions, deletions, substitutions and swaps
    of neighbouring letters), or limit + 1 as soon as it must exceed `limit`."""
    before: list[int] | None = None
    previous = list(range(len(second) + 1))
    for i, letter in enumerate(first, 1):
        current = [i] + [0] * len(second)
        for j, other in enumerate(second, 1):
            cost = 0 if letter == other else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and letter == second[j - 2] and first[i - 2] == other:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]

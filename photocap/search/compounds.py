"""Names of one thing in more than one word ("hot dog", "teddy bear", "dining table"): the index holds each as a
term of its own where a caption or a tag says it, and a plain query looks for that term.

A machine tag is evidence as a whole ("teddy bear" is the evidence term `teddi_bear`: photocap.search.evidence),
so a query must say the whole name to reach it. And where the name's last word alone names another thing, the name
replaces its words in the query: "hot dog" is not about dogs, nor "teddy bear" about bears, nor "sea lion" about
lions, and a library without a hot dog must not answer "hot dog" with its dogs. Where the last word is what the
thing is ("dining table", "polar bear"), its words stay in the query beside the name: a caption's "table" is still
evidence of a dining table. The names and their kind: assets/compound_names.txt, from the vocabulary
(photocap.model.tag_vocabulary.compound_names, written by train.compound_names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

COMPOUND_NAMES_PATH = Path(str(resources.files("photocap") / "assets" / "compound_names.txt"))
JOINER = "_"  # a compound's term: its words as the field's analyser gives them, joined ("teddi_bear")


def read_compound_names(path: Path = COMPOUND_NAMES_PATH) -> dict[str, bool]:
    """Each name, and whether it stands for the whole (its last word alone names another thing)."""
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, kind = line.partition("\t")
        if len(name.split()) > 1:
            names[name] = kind == "whole"
    return names


def compound_terms(analyse: Callable[[str], list[str]]) -> dict[tuple[str, ...], str]:
    """Each name's words as `analyse` (a field's analyser without this filter) gives them, and the name's term."""
    terms = {}
    for name in read_compound_names():
        words = tuple(analyse(name))
        if len(words) > 1:
            terms[words] = JOINER.join(words)
    return terms


def compound_filter_class() -> type:
    """A Whoosh filter that, after the words of a compound name, adds the name's term at its first word's position
    (with that word's boost), in what is indexed, not in queries (a quoted phrase's words are
    its words). Defined in a function so that importing this module does not import
    Whoosh; the class is cached, so that indexes pickle and compare it as one class."""
    return _compound_filter_class()


@lru_cache(maxsize=1)
def _compound_filter_class() -> type:
    from whoosh.analysis import Filter

    class CompoundFilter(Filter):
        def __init__(self, terms: dict[tuple[str, ...], str]) -> None:
            self.terms = terms
            self.longest = max((len(words) for words in terms), default=0)

        def __eq__(self, other: object) -> bool:
            return type(other) is type(self) and other.terms == self.terms  # type: ignore[attr-defined]

        def __hash__(self) -> int:
            return hash(len(self.terms))

        def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
            recent: list[Any] = []
            for token in tokens:
                if token.stopped or token.mode == "query":  # a query's names are its own (with_compound_terms)
                    yield token
                    continue
                recent = [*recent[1 - self.longest:], token.copy()] if self.longest > 1 else []
                yield token
                for size in range(2, len(recent) + 1):
                    term = self.terms.get(tuple(t.text for t in recent[-size:]))
                    if term is not None:
                        whole = recent[-size].copy()
                        whole.text = term
                        yield whole

    CompoundFilter.__module__ = __name__
    CompoundFilter.__qualname__ = "CompoundFilter"
    return CompoundFilter


def __getattr__(name: str) -> Any:
    if name == "CompoundFilter":  # how a pickled index finds the class
        return _compound_filter_class()
    raise AttributeError(name)


@lru_cache(maxsize=1)
def _names_by_first_word() -> dict[str, list[tuple[list[str], bool]]]:
    """Each name's words and kind, under its first word, longest first ("granny smith apple" before "granny smith")."""
    by_first: dict[str, list[tuple[list[str], bool]]] = {}
    for name, whole in read_compound_names().items():
        words = name.split()
        by_first.setdefault(words[0], []).append((words, whole))
    for names in by_first.values():
        names.sort(key=lambda entry: len(entry[0]), reverse=True)
    return by_first


def _parts(plain: str) -> list[tuple[str, bool | None]]:
    """`plain`'s words and compound names in order, each with its kind (None: a word)."""
    words = plain.split()
    by_first = _names_by_first_word() if len(words) > 1 else {}
    parts: list[tuple[str, bool | None]] = []
    position = 0
    while position < len(words):
        match = next(((name, whole) for name, whole in by_first.get(words[position], ())
                      if words[position:position + len(name)] == name), None)
        if match is None:
            parts.append((words[position], None))
            position += 1
        else:
            parts.append((" ".join(match[0]), match[1]))
            position += len(match[0])
    return parts


def compounds_in(plain: str) -> list[tuple[str, bool]]:
    """The compound names in `plain` (a query as plain words: lower case, no punctuation), in order, with whether
    each stands for the whole: "a hot dog on a dining table" -> [("hot dog", True), ("dining table", False)]."""
    return [(text, whole) for text, whole in _parts(plain) if whole is not None]


def without_whole_names(plain: str) -> str:
    """`plain` without the compound names that stand for the whole (their words are not searched)."""
    return " ".join(text for text, whole in _parts(plain) if whole is not True)


def with_compound_terms(plain: str, term_of: Callable[[str], str]) -> str:
    """`plain` with each compound name's term (`term_of(name)`) in place of its words where it stands for the whole,
    beside them elsewhere: "a hot dog on a dining table" -> "a hot_dog on a dining table dine_tabl"."""
    out = []
    for text, whole in _parts(plain):
        if whole is None:
            out.append(text)
        else:
            out.append(term_of(text) if whole else f"{text} {term_of(text)}")
    return " ".join(out)

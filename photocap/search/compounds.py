"""Names of one thing in more than one word ("hot dog", "teddy bear", "dining table"): the index holds each as a
term of its own where a caption or a tag says it, and a plain query looks for that term.

A machine tag is evidence as a whole ("teddy bear" is the evidence term `teddi_bear`: photocap.search.evidence),
so a query must say the whole name to reach it. And where the name's last word alone names another thing, the name
replaces its words in the query: "hot dog" is not about dogs, nor "teddy bear" about bears, nor "sea lion" about
lions, and a library without a hot dog must not answer "hot dog" with its dogs. Where the last word is what the
thing is ("dining table", "polar bear"), its words stay in the query beside the name: a caption's "table" is still
evidence of a dining table. The names, their kind and their terms: assets/compound_names.txt, from the vocabulary
(train.compound_names writes it). A search reads the file only for a query of two words or more, and never analyses
it: start-up stays as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

# Beside this package, not through importlib.resources: importing that costs a search's start-up 6 ms.
COMPOUND_NAMES_PATH = Path(__file__).resolve().parent.parent / "assets" / "compound_names.txt"
VOCABULARY_LINE = "# vocabulary "  # the file's first line: this, then the vocabulary's sha256
JOINER = "_"  # a compound's term: its words as the caption and tags fields analyse them, joined ("teddi_bear")


class CompoundName(NamedTuple):
    whole: bool  # its last word alone names another thing: the name replaces its words in a query
    term: str  # the index's term for it


@lru_cache(maxsize=1)
def read_compound_names(path: Path = COMPOUND_NAMES_PATH) -> dict[str, CompoundName]:
    """Each name ("hot dog"), whether it stands for the whole, and its term ("hot_dog"): lines "name<TAB>whole|also
    <TAB>term", after a first line naming the vocabulary's digest (VOCABULARY_LINE)."""
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(VOCABULARY_LINE):
            continue
        name, kind, term = line.split("\t")
        names[name] = CompoundName(kind == "whole", term)
    return names


def compound_names_digest(path: Path = COMPOUND_NAMES_PATH) -> str:
    """What the index's analysis depends on: the compound names, and the vocabulary whose synonyms and broader words
    the index holds beside each tag (the file's first line), so that an index made with other names or another
    vocabulary is outdated. The vocabulary itself is not read: that would cost every search's start-up."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compound_filter_class() -> type:
    """A Whoosh filter that, after the words of a compound name, adds the name's term at its first word's position
    (with that word's boost), in what is indexed, not in queries (a quoted phrase's words are its words). It reads
    the names when it first indexes something, so a search never reads them for that; the schema names their
    digest (photocap.search.schema.analysis_field). Defined in a function so that importing this module does not
    import Whoosh; the class is cached, so that indexes pickle and compare it as one class."""
    return _compound_filter_class()


@lru_cache(maxsize=1)
def _compound_filter_class() -> type:
    from whoosh.analysis import Filter

    class CompoundFilter(Filter):
        def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
            terms, longest = _terms_by_words()
            recent: list[Any] = []
            for token in tokens:
                if token.stopped or token.mode == "query":  # a query's names are its own (with_compound_terms)
                    yield token
                    continue
                recent = [*recent[1 - longest:], token.copy()]
                yield token
                for size in range(2, len(recent) + 1):
                    term = terms.get(tuple(t.text for t in recent[-size:]))
                    if term is not None:
                        whole = recent[-size].copy()
                        whole.text = term
                        yield whole

    CompoundFilter.__module__ = __name__
    CompoundFilter.__qualname__ = "CompoundFilter"
    return CompoundFilter


@lru_cache(maxsize=1)
def _terms_by_words() -> tuple[dict[tuple[str, ...], str], int]:
    """Each name's term by its analysed words (the term split at JOINER), and the most words a name has."""
    terms = {tuple(name.term.split(JOINER)): name.term for name in read_compound_names().values()
             if JOINER in name.term}
    return terms, max((len(words) for words in terms), default=2)


def __getattr__(name: str) -> Any:
    if name == "CompoundFilter":  # how a pickled index finds the class
        return _compound_filter_class()
    raise AttributeError(name)


class Found(NamedTuple):
    """A compound name in a query: as typed ("traffic lights"), whether it stands for the whole, and its term."""

    typed: str
    whole: bool
    term: str


@lru_cache(maxsize=1)
def _names_by_first_stem() -> dict[str, list[tuple[tuple[str, ...], bool, str]]]:
    """Each name's analysed words, kind and term, under its first analysed word, longest first ("granny smith apple"
    before "granny smith")."""
    by_first: dict[str, list[tuple[tuple[str, ...], bool, str]]] = {}
    for found in read_compound_names().values():
        stems = tuple(found.term.split(JOINER))
        by_first.setdefault(stems[0], []).append((stems, found.whole, found.term))
    for names in by_first.values():
        names.sort(key=lambda entry: len(entry[0]), reverse=True)
    return by_first


@lru_cache(maxsize=64)  # a search asks for the same query's parts to parse it, explain its hits and name unknowns
def _parts(plain: str) -> tuple[tuple[str, Found | None], ...]:
    """`plain`'s words and compound names in order, a name with what was found (None: a word). Words are compared
    as the index analyses them, so "traffic lights" and "birds of prey" are names too."""
    words = plain.split()
    if len(words) < 2:
        return tuple((word, None) for word in words)
    from photocap.search.schema import schema  # a query of two words or more: Whoosh is loaded to parse it anyway

    analyzer = schema()["tags"].analyzer
    analysed = [(position, token.text) for position, word in enumerate(words) for token in analyzer(word)]
    by_first = _names_by_first_stem()
    parts: list[tuple[str, Found | None]] = []
    done = 0  # words[:done] are in parts
    at = 0  # analysed[at] is the next analysed word to try
    while at < len(analysed):
        position, stem = analysed[at]
        stems = [text for _, text in analysed[at:]]
        match = next(((names, whole, term) for names, whole, term in by_first.get(stem, ())
                      if tuple(stems[:len(names)]) == names), None)
        if match is None:
            at += 1
            continue
        last = analysed[at + len(match[0]) - 1][0]
        parts += [(word, None) for word in words[done:position]]
        typed = " ".join(words[position:last + 1])
        parts.append((typed, Found(typed, match[1], match[2])))
        done, at = last + 1, at + len(match[0])
    return (*parts, *((word, None) for word in words[done:]))


def compounds_in(plain: str) -> list[Found]:
    """The compound names in `plain` (a query as plain words: lower case, no punctuation), in order:
    "a hot dog on dining tables" -> [Found("hot dog", True, "hot_dog"), Found("dining tables", False, "dine_tabl")]."""
    return [found for _text, found in _parts(plain) if found is not None]


def without_whole_names(plain: str) -> str:
    """`plain` without the compound names that stand for the whole (their words are not searched)."""
    return " ".join(text for text, found in _parts(plain) if found is None or not found.whole)


def with_compound_terms(plain: str) -> str:
    """`plain` with each compound name's term in place of its words where it stands for the whole, beside them
    elsewhere: "a hot dog on a dining table" -> "a hot_dog on a dining table dine_tabl"."""
    out = []
    for text, found in _parts(plain):
        if found is None:
            out.append(text)
        else:
            out.append(found.term if found.whole else f"{text} {found.term}")
    return " ".join(out)

"""Write photocap/assets/compound_names.txt: the tag names of more than one word (photocap.search.compounds), one a
line, then a tab and "whole" (its last word alone names another thing: "hot dog") or "also", then a tab and its term
(its words as the index analyses them, joined: "hot_dog"), from the shipped vocabulary, after a first line with
the vocabulary's sha256 (an index analysed with another vocabulary is outdated). Run after the tag map or the object
words change:

    python -m train.compound_names
"""

from __future__ import annotations

import argparse
from pathlib import Path

from photocap.model.tag_vocabulary import TagMap, vocabulary
from photocap.search.compounds import COMPOUND_NAMES_PATH, JOINER, VOCABULARY_LINE
from photocap.search.query import plain_words
from photocap.search.schema import schema


def compound_names(tags: TagMap) -> list[tuple[str, bool]]:
    """Every tag name and synonym of more than one word, as a plain query spells it (plain_words), sorted, each with
    whether its last word alone names another thing: "hot dog" (a dog), "teddy bear" (a bear), "sea lion" (a lion)
    are; "dining table" (a table) and "polar bear" (a bear) are not."""
    names: dict[str, bool] = {}
    for entry in tags.entries:
        itself_and_above = {entry.word, *entry.path.split("|")}
        for name in (entry.word, *entry.synonyms):
            words = plain_words(name).split()
            if len(words) < 2:
                continue
            named_by_last = tags.lookup(words[-1])
            another = bool(named_by_last) and not any(other.word in itself_and_above for other in named_by_last)
            names[" ".join(words)] = names.get(" ".join(words), False) or another
    return sorted(names.items())


def compound_lines() -> list[str]:
    """The file's lines: the vocabulary's digest, then the names whose words analyse to two or more ("garbage can"
    is "garbag" alone: "can" is a stop word), each with its kind and term."""
    analyzer = schema()["tags"].analyzer  # as the tags and the caption analyse words (the caption adds the terms)
    lines = [f"{VOCABULARY_LINE}{vocabulary().sha256}\n"]
    for name, whole in compound_names(vocabulary()):
        words = [token.text for token in analyzer(name)]
        if len(words) > 1:
            lines.append(f"{name}\t{'whole' if whole else 'also'}\t{JOINER.join(words)}\n")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=COMPOUND_NAMES_PATH)
    args = parser.parse_args(argv)
    lines = compound_lines()
    args.out.write_text("".join(lines), encoding="utf-8")
    print(f"{len(lines) - 1} names -> {args.out}")


if __name__ == "__main__":
    main()

"""Write photocap/assets/compound_names.txt: the tag names of more than one word (photocap.search.compounds), one a
line, each followed by a tab and "whole" (its last word alone names another thing: "hot dog") or "also", from the
shipped vocabulary. Run after the tag map or the object words change:

    python -m train.compound_names
"""

from __future__ import annotations

import argparse
from pathlib import Path

from photocap.model.tag_vocabulary import compound_names, vocabulary
from photocap.search.compounds import COMPOUND_NAMES_PATH


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=COMPOUND_NAMES_PATH)
    args = parser.parse_args(argv)
    names = compound_names(vocabulary())
    args.out.write_text("".join(f"{name}\t{'whole' if whole else 'also'}\n" for name, whole in names), encoding="utf-8")
    print(f"{len(names)} names -> {args.out}")


if __name__ == "__main__":
    main()

"""Write photocap/assets/search_words.txt: the words photocap's captions and tags can hold, one a line, from which
search suggests what a mistyped query word may have meant (photocap.search.suggest: "dgo" -> "dog"). The words of
the shipped decoders' vocabularies, of the describer's captions and of the tag vocabulary's names and synonyms; only
letters, three or more of them, stop words left out. Run after any of those change:

    python -m train.search_words
"""

from __future__ import annotations

import argparse
import re

from photocap.model.captioner import shipped_models
from photocap.model.checkpoint import load_checkpoint
from photocap.model.describer import Describer
from photocap.model.tag_vocabulary import vocabulary
from photocap.model.vocab import SPECIAL_TOKENS
from photocap.search.suggest import SEARCH_WORDS_PATH

_WORD = re.compile(r"[a-z]{3,}")


def search_words() -> list[str]:
    """Every word the shipped models can write into a caption or a tag, sorted."""
    from whoosh.analysis import STOP_WORDS

    texts: list[str] = []
    for path in sorted(shipped_models().values()):
        texts.extend(word for word in load_checkpoint(path).vocab.words if word not in SPECIAL_TOKENS)
    describer = Describer.load()
    if describer is not None:
        texts.extend(caption for captions in describer.signatures.values() for caption in captions)
    texts.extend(word for entry in vocabulary().entries for word in (entry.word, *entry.synonyms))
    return sorted({word for text in texts for word in _WORD.findall(text.lower())} - set(STOP_WORDS))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    words = search_words()
    SEARCH_WORDS_PATH.write_text("".join(f"{word}\n" for word in words), encoding="utf-8")
    print(f"{len(words)} words -> {SEARCH_WORDS_PATH}")


if __name__ == "__main__":
    main()

"""BLEU-1..4 and CIDEr-D with pycocoevalcap's pure-Python scorers, on lower-cased word tokens."""

from __future__ import annotations

import contextlib
import io

from photocap.model.vocab import tokenize


def caption_scores(predictions: dict[str, str], references: dict[str, list[str]]) -> dict[str, float]:
    """Corpus scores of one predicted caption per image against that image's reference captions."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    keys = sorted(predictions)
    hypotheses = {k: [" ".join(tokenize(predictions[k]))] for k in keys}
    refs = {k: [" ".join(tokenize(r)) for r in references[k]] for k in keys}
    with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its internals
        bleu, _ = Bleu(4).compute_score(refs, hypotheses)
    cider, _ = Cider().compute_score(refs, hypotheses)
    scores = {f"BLEU-{n + 1}": 100 * b for n, b in enumerate(bleu)}
    scores["CIDEr-D"] = float(cider)
    return scores

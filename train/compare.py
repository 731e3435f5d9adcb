"""Benchmark: is one model's caption quality really better than another's? A paired bootstrap on the test split.

    python -m train.evaluate --model A.pt --json-out a.json
    python -m train.evaluate --model B.pt --json-out b.json
    python -m train.compare a.json b.json --beam 3

Resamples the test images (with replacement, the same images for both models) and prints the difference
B - A in corpus BLEU-4 and in CIDEr-D, with its 95% interval and how often B came out ahead. An interval
that contains 0 means the test split cannot tell the two apart.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import random
from collections import Counter
from pathlib import Path

from photocap.model.vocab import tokenize
from train.data import data_dir, load_split


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def bleu_statistics(hypothesis: str, references: list[str]) -> tuple[int, int, list[int], list[int]]:
    """One image's share of corpus BLEU-4, as pycocoevalcap counts it ("closest" reference length):
    hypothesis length, reference length, clipped n-gram matches and n-gram counts for n = 1..4."""
    words = tokenize(hypothesis)
    refs = [tokenize(r) for r in references]
    ref_length = min((abs(len(r) - len(words)), len(r)) for r in refs)[1]
    matches, counts = [], []
    for n in range(1, 5):
        most = Counter()
        for ref in refs:
            for gram, count in _ngrams(ref, n).items():
                most[gram] = max(most[gram], count)
        own = _ngrams(words, n)
        matches.append(sum(min(count, most[gram]) for gram, count in own.items()))
        counts.append(max(len(words) - n + 1, 0))
    return len(words), ref_length, matches, counts


def corpus_bleu4(stats: list[tuple[int, int, list[int], list[int]]]) -> float:
    length = sum(s[0] for s in stats)
    ref_length = sum(s[1] for s in stats)
    log_precision = sum(math.log((sum(s[2][n] for s in stats) + 1e-15) / (sum(s[3][n] for s in stats) + 1e-9))
                        for n in range(4)) / 4
    brevity = min(0.0, 1 - ref_length / length) if length else -math.inf
    return 100 * math.exp(log_precision + brevity)


def cider_per_image(predictions: dict[str, str], references: dict[str, list[str]], keys: list[str]) -> list[float]:
    from pycocoevalcap.cider.cider import Cider

    hypotheses = {k: [" ".join(tokenize(predictions[k]))] for k in keys}
    refs = {k: [" ".join(tokenize(r)) for r in references[k]] for k in keys}
    with contextlib.redirect_stdout(io.StringIO()):
        _, scores = Cider().compute_score(refs, hypotheses)
    return [float(s) for s in scores]  # in the sorted order of keys, which compute_score also uses


def captions_of(report: Path, beam: int) -> tuple[str, dict[str, str]]:
    models = json.loads(report.read_text())
    if len(models) != 1:
        raise SystemExit(f"{report} holds {len(models)} models; evaluate one model per file")
    (model, entry), = models.items()
    return model, entry["beams"][str(beam)]["captions"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", type=Path, help="train.evaluate --json-out file of model A")
    parser.add_argument("candidate", type=Path, help="the same for model B")
    parser.add_argument("--beam", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()

    name_a, captions_a = captions_of(args.baseline, args.beam)
    name_b, captions_b = captions_of(args.candidate, args.beam)
    keys = sorted(captions_a)
    if sorted(captions_b) != keys:
        raise SystemExit("the two reports captioned different images")
    references = {p.filename: list(p.raw) for p in load_split(data_dir(args.data)) if p.filename in captions_a}
    bleu_a = [bleu_statistics(captions_a[k], references[k]) for k in keys]
    bleu_b = [bleu_statistics(captions_b[k], references[k]) for k in keys]
    cider_a = cider_per_image(captions_a, references, keys)
    cider_b = cider_per_image(captions_b, references, keys)

    rng = random.Random(1234)
    bleu_gains, cider_gains = [], []
    for _ in range(args.samples):
        rows = [rng.randrange(len(keys)) for _ in keys]
        bleu_gains.append(corpus_bleu4([bleu_b[i] for i in rows]) - corpus_bleu4([bleu_a[i] for i in rows]))
        cider_gains.append(sum(cider_b[i] - cider_a[i] for i in rows) / len(rows))
    print(f"A {name_a}\nB {name_b}\n{len(keys)} images, beam {args.beam}, {args.samples} paired resamples")
    for metric, a, b, gains in (("BLEU-4", corpus_bleu4(bleu_a), corpus_bleu4(bleu_b), bleu_gains),
                                ("CIDEr-D", sum(cider_a) / len(keys), sum(cider_b) / len(keys), cider_gains)):
        gains.sort()
        low, high = gains[int(0.025 * len(gains))], gains[int(0.975 * len(gains)) - 1]
        ahead = sum(g > 0 for g in gains) / len(gains)
        print(f"  {metric:8} A {a:7.3f}  B {b:7.3f}  B-A {b - a:+.3f}  95% interval [{low:+.3f}, {high:+.3f}]  "
              f"B ahead in {100 * ahead:.0f}% of resamples")


if __name__ == "__main__":
    main()

"""Text-to-image retrieval on the Flickr8k Karpathy test split, the way DESIGN.md section 5 measures it.

The 1,000 test images are indexed with the model's output (caption and concept words); each of their
5,000 human captions is a query; R@K is the percentage of queries whose image is among the first K hits.

    python -m benchmarks.retrieval --model default                          # caption with the shipped model
    python -m benchmarks.retrieval --model default --save-captions out.json # ... and keep its output
    python -m benchmarks.retrieval --captions test_captions.json            # R@1, R@5, R@10 of saved output
    python -m benchmarks.retrieval --captions test_captions.json --sweep    # also tune the ranking
    python -m benchmarks.retrieval --stand-in-references                    # harness check, no model

FILE.json maps each test image's file name to {"caption": str, "words": [[word, probability], ...],
"tags": [[tag, probability], ...]} (tags optional).
`--stand-in-references` indexes each image's first human caption instead and queries with the other
four: it only checks that the harness runs, and its figures are not comparable with the model's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any

from photocap.search.index import DEFAULT_RANKING, Ranking, SearchDoc, SearchIndex, SearchQueryError

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "flickr8k"
SPLIT_FILE = "dataset_flickr8k.json"
SWEEP_WORDS_BOOSTS = (0.5, 1.0, 2.0, 3.0, 4.0)
SWEEP_OR_FACTORS = (0.0, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Flickr8kImage:
    filename: str
    sentences: tuple[str, ...]  # the human captions, as written


def recall_at_k(
    index: SearchIndex, queries: Sequence[tuple[str, int]], ks: Iterable[int] = (1, 5, 10), **search_kwargs: Any
) -> dict[str, float]:
    """R@K in percent for queries of (text, the photo_id it should find), plus search latency.

    Queries are plain words (`syntax=False`) unless `search_kwargs` says otherwise; a query the index
    refuses (only stop words, say) counts as a miss and is reported under "refused".
    """
    ks = sorted(set(ks))
    search_kwargs.setdefault("syntax", False)
    ranks: list[int | None] = []
    latencies: list[float] = []
    refused = 0
    for text, photo_id in queries:
        started = time.perf_counter()
        try:
            hits = index.search(text, limit=ks[-1], **search_kwargs)
        except SearchQueryError:
            refused += 1
            hits = []
        latencies.append(time.perf_counter() - started)
        found = [position for position, hit in enumerate(hits, start=1) if hit.photo_id == photo_id]
        ranks.append(found[0] if found else None)
    results: dict[str, float] = {
        f"R@{k}": 100.0 * sum(rank is not None and rank <= k for rank in ranks) / max(len(ranks), 1) for k in ks
    }
    results |= {"queries": len(ranks), "refused": refused, **latency_summary(latencies)}
    return results


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    if not seconds:
        return {}
    milliseconds = sorted(1000 * s for s in seconds)
    return {
        "ms_mean": statistics.fmean(milliseconds),
        "ms_p50": milliseconds[len(milliseconds) // 2],
        "ms_p95": milliseconds[int(0.95 * (len(milliseconds) - 1))],
        "ms_max": milliseconds[-1],
    }


def split_file(data: Path | None) -> Path:
    """The Karpathy split file: `data` (the file or its folder), else $PHOTOCAP_DATA, else ../shared."""
    path = Path(data or os.environ.get("PHOTOCAP_DATA") or DEFAULT_DATA)
    return path / SPLIT_FILE if path.is_dir() else path


def load_test_images(path: Path) -> list[Flickr8kImage]:
    with open(path, encoding="utf-8") as f:
        images = json.load(f)["images"]
    return [
        Flickr8kImage(image["filename"], tuple(sentence["raw"] for sentence in image["sentences"]))
        for image in images
        if image["split"] == "test"
    ]


def load_model_output(path: Path, images: Sequence[Flickr8kImage]) -> dict[str, dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        output = json.load(f)
    missing = [image.filename for image in images if image.filename not in output]
    if missing:
        raise SystemExit(f"{path} lacks {len(missing)} of the {len(images)} test images (e.g. {missing[0]})")
    return output


def stand_in_output(images: Sequence[Flickr8kImage]) -> dict[str, dict[str, Any]]:
    return {image.filename: {"caption": image.sentences[0], "words": []} for image in images}


def model_output(model: str, images: Sequence[Flickr8kImage], root: Path, beam_size: int,
                 batch_size: int = 50) -> dict[str, dict[str, Any]]:
    """Caption and concept words of each test image, from the model as `photocap index` runs it."""
    from photocap.model.captioner import Captioner

    captioner = Captioner.load(None if model == "default" else model, device="auto")
    print(f"captioning {len(images)} test images with {captioner.model_id}", file=sys.stderr)
    output: dict[str, dict[str, Any]] = {}
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        paths = [root / "Images" / image.filename for image in chunk]
        for image, caption in zip(chunk, captioner.caption_files(paths, beam_size), strict=True):
            if isinstance(caption, Exception):
                raise SystemExit(f"{image.filename}: {caption}")
            output[image.filename] = {"caption": caption.text, "words": [list(w) for w in caption.words],
                                      "tags": [[tag.word, tag.probability] for tag in caption.tags]}
    return output


def documents(images: Sequence[Flickr8kImage], output: dict[str, dict[str, Any]]) -> list[SearchDoc]:
    """The search documents `photocap index` writes for these captions, words and tags (all as the model's)."""
    from photocap.search.sync import tag_search_terms

    docs = []
    for photo_id, image in enumerate(images):
        result = output[image.filename]
        tags = [(str(word), float(probability), "model") for word, probability in result.get("tags", [])]
        docs.append(SearchDoc(
            photo_id=photo_id, path=f"/flickr8k/{image.filename}", folder="/flickr8k", caption=result["caption"],
            words=[(word, float(probability)) for word, probability in result.get("words", [])],
            tags=tags, tag_terms=tag_search_terms(tags), taken_at=None, camera=None,
        ))
    return docs


def queries_for(images: Sequence[Flickr8kImage], skip_first: bool) -> list[tuple[str, int]]:
    return [
        (sentence, photo_id)
        for photo_id, image in enumerate(images)
        for sentence in image.sentences[1 if skip_first else 0 :]
    ]


def sample(queries: list[tuple[str, int]], one_in: int) -> list[tuple[str, int]]:
    """One query in `one_in`, chosen at random (seeded) rather than by stride, which would keep the same
    sentence of every image."""
    if one_in <= 1:
        return queries
    return sorted(random.Random(0).sample(queries, len(queries) // one_in), key=lambda query: query[1])


def describe(ranking: Ranking, results: dict[str, float]) -> str:
    recalls = "  ".join(f"{key} {value:5.1f}" for key, value in results.items() if key.startswith("R@"))
    return (
        f"words_boost {ranking.words_boost:<4} or_factor {ranking.or_factor:<4}  {recalls}"
        f"  ({results['queries']:.0f} queries, {results['refused']:.0f} refused,"
        f" {results['ms_p50']:.1f} ms/query p50, {results['ms_p95']:.1f} ms p95)"
    )


def sweep(index: SearchIndex, queries: Sequence[tuple[str, int]], base: Ranking) -> str:
    """Try each words-field boost and OR-group factor; returns the description of the best (by R@10,
    then R@1)."""
    best: tuple[tuple[float, float], str] | None = None
    for words_boost, or_factor in product(SWEEP_WORDS_BOOSTS, SWEEP_OR_FACTORS):
        ranking = replace(base, words_boost=words_boost, or_factor=or_factor)
        results = recall_at_k(index, queries, ranking=ranking)
        print(describe(ranking, results), flush=True)
        if best is None or (results["R@10"], results["R@1"]) > best[0]:
            best = ((results["R@10"], results["R@1"]), describe(ranking, results))
    assert best is not None
    return best[1]


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--captions", type=Path, help="the model's output for the test images (JSON)")
    source.add_argument("--model", help="caption the test images with this model ('default', a shipped name or a .pt)")
    source.add_argument(
        "--stand-in-references",
        action="store_true",
        help="index each image's first human caption and query with the other four (harness check)",
    )
    parser.add_argument("--data", type=Path, help="Flickr8k folder or its split file (default $PHOTOCAP_DATA)")
    parser.add_argument("--words-boost", type=float, default=DEFAULT_RANKING.words_boost)
    parser.add_argument("--or-factor", type=float, default=DEFAULT_RANKING.or_factor)
    parser.add_argument("--sweep", action="store_true", help="also try a grid of words boosts and OR factors")
    parser.add_argument(
        "--sample", type=int, default=1, metavar="N", help="use one query in N, at random (quicker sweeps)"
    )
    parser.add_argument("--beam-size", type=int, default=3, help="with --model")
    parser.add_argument("--save-captions", type=Path, help="with --model: write its output here (JSON)")
    parser.add_argument("--keep-index", type=Path, help="build the index here and keep it (default: a temp dir)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)
    images = load_test_images(split_file(args.data))
    if args.stand_in_references:
        output = stand_in_output(images)
    elif args.model:
        output = model_output(args.model, images, split_file(args.data).parent, args.beam_size)
        if args.save_captions:
            args.save_captions.write_text(json.dumps(output, indent=0))
    else:
        output = load_model_output(args.captions, images)
    queries = sample(queries_for(images, skip_first=args.stand_in_references), args.sample)
    ranking = replace(DEFAULT_RANKING, words_boost=args.words_boost, or_factor=args.or_factor)

    with tempfile.TemporaryDirectory(prefix="photocap-retrieval-") as scratch:
        index_dir = args.keep_index or Path(scratch) / "index"
        started = time.perf_counter()
        with SearchIndex.rebuild_at(index_dir, documents(images, output)) as index:
            print(f"indexed {index.doc_count()} test images in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            print(describe(ranking, recall_at_k(index, queries, ranking=ranking)), flush=True)
            if args.sweep:
                print(f"best: {sweep(index, queries, ranking)}")


if __name__ == "__main__":
    main()

"""Choosing the evidence thresholds of search (issue 20): from which strength a detection, an ImageNet tag or a
likely word of the captioner makes a photo a result for a word, rather than only ranking the results.

    python -m benchmarks.everyday --set flickr8k-val --keep-home /tmp/everyday-home     # index the val split once
    python -m benchmarks.match_thresholds --keep-home /tmp/everyday-home --set flickr8k-val
    python -m benchmarks.match_thresholds --keep-home /tmp/everyday-home --set flickr8k-test --only 0.3,0.1,none

Reads the catalog of a home `benchmarks.everyday --keep-home` kept (or is still filling: the photos captioned so
far) and, for each one-word object
query of the set (benchmarks.everyday's), what each photo offers for the query word: its caption says it, the
best detection, the best ImageNet tag (as search weighs it: photocap.catalog.detections) and the best likely
word that index as that word (with their synonyms and, for detections, their broader words, as the index holds
them). A setting (detector, tagger, likely words; "none": that source never makes a match) lets a photo in when
any source reaches its threshold; the ranking is the search index's own, with every photo, cut down to those let
in (search ranks the results by all the evidence: the thresholds only decide which photos are results). Prints
every setting's whole-list precision and recall, P@5 and R@10 (benchmarks.everyday's definitions), best first by
min(precision, recall), then the ceiling (the best any setting and any ranking of the evidence could do: every
relevant photo some evidence ranks, listed first); --queries lists each query's figures for the first setting.

`--per-word OUT.json` chooses, for each query word with at least PER_WORD_MIN_RELEVANT relevant photos, the detector
and tagger thresholds that maximise min(precision, recall) of that word alone (the best setting of the grid for the
others), writes them to OUT.json and prints the figures; `--per-word-from FILE` measures such thresholds on
another set (choose them on Flickr8k val, check them on Flickr8k test).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from statistics import fmean

from benchmarks.everyday import DEFAULT_COCO_DEV, SETS, TUNING_SETS, load_set, object_mentions, object_queries, percent

NONE = float("inf")  # a threshold no evidence reaches
DETECTOR_GRID = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, NONE)
TAGGER_GRID = (0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, NONE)
WORDS_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, NONE)
PER_WORD_MIN_RELEVANT = 5


@dataclass
class Evidence:
    """What one photo offers for one query word."""

    caption: bool = False
    detector: float = 0.0
    tagger: float = 0.0
    words: float = 0.0


@dataclass(frozen=True)
class Setting:
    detector: float
    tagger: float
    words: float

    def lets_in(self, evidence: Evidence) -> bool:
        return (evidence.caption or evidence.detector >= self.detector or evidence.tagger >= self.tagger
                or evidence.words >= self.words)

    def __str__(self) -> str:
        return "/".join("none" if value == NONE else f"{value:g}" for value in (self.detector, self.tagger, self.words))


@dataclass
class QueryData:
    word: str
    relevant: set[int]  # >= 2 references name the object
    shown: set[int]  # some reference names it
    ranking: list[int]  # every photo search returns today, best first
    evidence: dict[int, Evidence] = field(default_factory=dict)


def stems(text: str) -> set[str]:
    """The terms the index holds for a caption: its stemmed words, and its compound names' terms."""
    from photocap.search.schema import schema

    return {token.text for token in schema()["caption"].analyzer(text)}


def query_terms(word: str) -> set[str]:
    """The terms a plain query looks for: "teddy bear" is `teddi_bear` alone, "dining table" `dine`, `tabl` and
    `dine_tabl` (photocap.search.compounds)."""
    from photocap.search.compounds import with_compound_terms
    from photocap.search.query import plain_words
    from photocap.search.schema import schema

    return {token.text for token in schema()["caption"].analyzer(with_compound_terms(plain_words(word)), mode="query")}


def photo_evidence(rows: Sequence[dict], word: str) -> dict[int, Evidence]:
    """Each photo's evidence for `word`, as the index's fields hold it: a tag's terms as the index writes them
    (photocap.search.evidence.cited_by_word: a machine tag is one term, "stop light" is `stop_light`, not `stop`;
    each word of the user's and the file's tags is one too)."""
    from photocap.search.evidence import Cited, cited_by_word
    from photocap.search.schema import schema
    from photocap.search.sync import tag_search_terms

    analyzer = schema()["tags"].analyzer
    wanted = query_terms(word)
    found: dict[int, Evidence] = {}
    for row in rows:
        evidence = Evidence(caption=bool(wanted & stems(row["caption"] or "")))
        for tag in row["tags"]:
            cited = Cited(tag["word"], tag["probability"], tag["source"], True)
            terms = tag_search_terms([(tag["word"], tag["probability"], tag["source"])])
            if not wanted & cited_by_word([(term, cited) for term, _p in terms], analyzer).keys():
                continue
            if tag["source"] == "detector":
                evidence.detector = max(evidence.detector, tag["probability"])
            elif tag["source"] == "model":
                evidence.tagger = max(evidence.tagger, tag["probability"])
            else:  # the user's or the file's: always a match
                evidence.caption = True
        for likely, probability in row["words"]:
            if wanted & stems(likely):
                evidence.words = max(evidence.words, probability)
        found[row["id"]] = evidence
    return found


def load_queries(home: Path, references: dict[int, Sequence[str]]) -> list[QueryData]:
    """The set's object queries, each photo's evidence and the ranking, from the catalog in `home` (read only: the
    ranking comes from a search index built from it in a temporary folder, so a home still being indexed will do)."""
    from photocap.catalog.store import Catalog
    from photocap.search.index import SearchIndex
    from photocap.search.sync import _search_doc

    with Catalog.open(home) as catalog:
        rows = [row for row in catalog.all_searchable_photos() if row["caption"] and row["id"] in references]
    shown = object_mentions(references)
    queries = []
    with tempfile.TemporaryDirectory(prefix="photocap-thresholds-") as scratch, \
            SearchIndex.rebuild_at(Path(scratch) / "index", (_search_doc(row) for row in rows)) as index:
        index.evidence_filter = False  # every photo any evidence ranks: the thresholds are applied here
        for word, relevant in object_queries({row["id"]: references[row["id"]] for row in rows}).items():
            ranking = [hit.photo_id for hit in index.search(word, limit=None)]
            queries.append(QueryData(word, relevant, shown.get(word, set()), ranking, photo_evidence(rows, word)))
    return queries


def figures(queries: Sequence[QueryData], setting: Setting, maybe: bool = False,
            per_word: dict[str, Setting] | None = None) -> tuple[dict[str, float], list[dict]]:
    """The setting's figures; with `maybe`, P@5 and R@10 are of the list that shows the photos let in and then, set
    apart, the others (the whole list's precision and recall are of those let in alone). `per_word` settings win over
    `setting` for their words."""
    precisions, recalls, at_5, at_10, rows = [], [], [], [], []
    for query in queries:
        chosen = (per_word or {}).get(query.word, setting)
        hits = [photo for photo in query.ranking if chosen.lets_in(query.evidence.get(photo, Evidence()))]
        if hits:
            precisions.append(percent(len(query.shown & set(hits)), len(hits)))
        recalls.append(percent(len(query.relevant & set(hits)), len(query.relevant)))
        shown = hits + [photo for photo in query.ranking if photo not in set(hits)] if maybe else hits
        at_5.append(percent(len(query.relevant & set(shown[:5])), min(5, len(query.relevant))))
        at_10.append(percent(len(query.relevant & set(shown[:10])), len(query.relevant)))
        rows.append({"query": query.word, "relevant": len(query.relevant), "hits": len(hits),
                     "showing_it": len(query.shown & set(hits)), "relevant_found": len(query.relevant & set(hits)),
                     "P@5": at_5[-1]})
    return {"precision": fmean(precisions) if precisions else 0.0, "recall": fmean(recalls), "P@5": fmean(at_5),
            "R@10": fmean(at_10), "no_result": float(sum(row["hits"] == 0 for row in rows))}, rows


def ceiling(queries: Sequence[QueryData]) -> dict[str, float]:
    """The best any thresholds and any ranking of today's evidence could do: each query listing first every relevant
    photo that some evidence ranks (a caption word, or a tag, detection or likely word at any strength). A relevant
    photo no evidence ranks cannot be found by any setting; `unreachable` counts the queries with no other kind."""
    at_5, at_10, recalls, unreachable = [], [], [], 0
    for query in queries:
        reachable = len(query.relevant & set(query.ranking))
        at_5.append(percent(min(reachable, 5), min(5, len(query.relevant))))
        at_10.append(percent(min(reachable, 10), len(query.relevant)))
        recalls.append(percent(reachable, len(query.relevant)))
        unreachable += reachable == 0
    return {"P@5": fmean(at_5), "R@10": fmean(at_10), "recall": fmean(recalls), "unreachable": float(unreachable)}


def per_word_settings(queries: Sequence[QueryData], fallback: Setting) -> dict[str, Setting]:
    """For each word with enough relevant photos, the detector x tagger setting (likely words as in `fallback`)
    with the best min(precision, recall) for that word; ties to the stricter setting."""
    chosen = {}
    for query in queries:
        if len(query.relevant) < PER_WORD_MIN_RELEVANT:
            continue
        scored = []
        for detector, tagger in product(DETECTOR_GRID, TAGGER_GRID):
            candidate = Setting(detector, tagger, fallback.words)
            found, _rows = figures([query], candidate)
            scored.append((min(found["precision"], found["recall"]), candidate.detector, candidate.tagger, candidate))
        chosen[query.word] = max(scored, key=lambda item: item[:3])[3]
    return chosen


def threshold(text: str) -> float:
    return NONE if text == "none" else float(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-home", type=Path, required=True, help="the DIR benchmarks.everyday --keep-home kept")
    parser.add_argument("--set", choices=[*SETS, *TUNING_SETS], default="flickr8k-val")
    parser.add_argument("--coco-dev", type=Path, default=DEFAULT_COCO_DEV)
    parser.add_argument("--flickr8k", type=Path, default=None)
    parser.add_argument("--only", help="one setting, DETECTOR,TAGGER,WORDS (numbers or none)")
    parser.add_argument("--top", type=int, default=25, help="settings printed")
    parser.add_argument("--queries", action="store_true", help="each query's figures for the first setting")
    parser.add_argument("--maybe", action="store_true",
                        help="P@5 and R@10 of the list with the other photos after those let in, set apart")
    parser.add_argument("--per-word", type=Path, metavar="OUT", help="choose per-word thresholds, write them here")
    parser.add_argument("--per-word-from", type=Path, metavar="FILE", help="measure per-word thresholds from FILE")
    args = parser.parse_args(argv)

    home = args.keep_home / args.set / "home"
    from benchmarks.everyday import captions_from_catalog

    photo_set = load_set(args.set, args)
    captioned = captions_from_catalog(home, (args.keep_home / args.set / "photos").resolve())
    references = {captioned[photo.source.name].photo_id: photo.references for photo in photo_set.photos
                  if photo.source.name in captioned}
    queries = load_queries(home, references)
    if args.per_word or args.per_word_from:
        fallback = Setting(*(threshold(part) for part in (args.only or "0.3,0.2,none").split(",")))
        if args.per_word:
            chosen = per_word_settings(queries, fallback)
            args.per_word.write_text(json.dumps({word: [s.detector, s.tagger] for word, s in chosen.items()},
                                                indent=1).replace("Infinity", "null"))
        else:
            chosen = {word: Setting(NONE if d is None else d, NONE if t is None else t, fallback.words)
                      for word, (d, t) in json.loads(args.per_word_from.read_text()).items()}
        for label, words in (("global", None), ("per word", chosen)):
            found, rows = figures(queries, fallback, args.maybe, words)
            print(f"{args.set} {label} ({fallback} elsewhere): precision {found['precision']:.1f} recall "
                  f"{found['recall']:.1f} P@5 {found['P@5']:.1f} R@10 {found['R@10']:.1f} no result "
                  f"{found['no_result']:.0f}")
        for row in rows:
            setting = chosen.get(row["query"], fallback)
            print(f"  {row['query']:<14} {str(setting):<14} {row['relevant']:4d} {row['hits']:5d} "
                  f"{row['showing_it']:5d} {row['relevant_found']:5d} {row['P@5']:6.1f}")
        return
    if args.only:
        settings = [Setting(*(threshold(part) for part in args.only.split(",")))]
    else:
        settings = [Setting(*values) for values in product(DETECTOR_GRID, TAGGER_GRID, WORDS_GRID)]
    measured = [(setting, *figures(queries, setting, args.maybe)) for setting in settings]
    measured.sort(key=lambda item: -min(item[1]["precision"], item[1]["recall"]))
    print(f"{args.set}: {len(queries)} object queries on the {len(references)} photos captioned so far;"
          " setting = detector/tagger/likely words thresholds")
    print(f"  {'setting':<20} {'precision':>9} {'recall':>7} {'P@5':>6} {'R@10':>6} {'no result':>9}")
    for setting, found, _rows in measured[: args.top]:
        print(f"  {str(setting):<20} {found['precision']:9.1f} {found['recall']:7.1f} {found['P@5']:6.1f}"
              f" {found['R@10']:6.1f} {found['no_result']:9.0f}")
    best = ceiling(queries)
    print(f"  ceiling: every relevant photo that any evidence ranks, listed first: P@5 {best['P@5']:.1f} R@10"
          f" {best['R@10']:.1f} recall {best['recall']:.1f}; {best['unreachable']:.0f} queries whose relevant photos"
          " no evidence ranks")
    if args.queries:
        setting, _found, rows = measured[0]
        print(f"\n{setting}: query, relevant, hits, hits showing it, relevant found, P@5")
        for row in rows:
            print(f"  {row['query']:<14} {row['relevant']:4d} {row['hits']:5d} {row['showing_it']:5d}"
                  f" {row['relevant_found']:5d} {row['P@5']:6.1f}")


if __name__ == "__main__":
    main()

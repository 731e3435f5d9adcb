"""`photocap search` on a small library starts without what it does not need (issue 20, part 3): numpy (Whoosh's
matchers score a few thousand postings quicker than numpy imports), and the urllib.request and asyncio that
Whoosh's own imports would pull in (photocap.search.lean_whoosh). Run as a user runs it, in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from photocap.search.index import SearchDoc, SearchIndex

REPO = Path(__file__).resolve().parents[1]
# whoosh.writing: the index writer's side, which the codec every search unpickles keeps apart.
NOT_NEEDED = ("numpy", "asyncio", "urllib.request", "cached_property", "whoosh.writing", "whoosh.lang.morph_en")


def small_library(home: Path) -> None:
    captions = ["a dog runs on the beach", "a cat sleeps on a sofa", "two children play in the snow"]
    docs = [SearchDoc(photo_id=number, path=f"/photos/{number}.jpg", folder="/photos", caption=caption,
                      words=[("dog", 0.9)] if "dog" in caption else [], tags=[("beach", 0.8, "model")],
                      tag_terms=[("beach", 0.8)], filter_tags=["beach"], taken_at=None, camera=None)
            for number, caption in enumerate(captions, start=1)]
    SearchIndex.rebuild_at(home / "index", docs).close()


def run_search(home: Path, *arguments: str) -> tuple[list[dict], list[str]]:
    """`photocap --home HOME search ARGUMENTS --json` in a new interpreter; its hits and the modules of
    NOT_NEEDED it imported."""
    script = textwrap.dedent(f"""
        import json, sys
        from photocap.cli import main
        try:
            main(["--home", sys.argv[1], "search", *sys.argv[2:], "--json"])
        except SystemExit as done:
            assert not done.code, done.code
        print(json.dumps({{"imported": [name for name in {NOT_NEEDED!r} if name in sys.modules]}}))
    """)
    run = subprocess.run([sys.executable, "-c", script, str(home), *arguments], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    *hits, imported = run.stdout.strip().splitlines()
    return [json.loads(hit) for hit in hits], json.loads(imported)["imported"]


def test_search_on_a_small_library_imports_neither_numpy_nor_asyncio_nor_urllib_request(tmp_path: Path) -> None:
    small_library(tmp_path)
    hits, imported = run_search(tmp_path, "a dog runs on the beach")
    assert hits[0]["path"] == "/photos/1.jpg"
    assert imported == []


def test_whoosh_syntax_and_filters_run_without_them_too(tmp_path: Path) -> None:
    small_library(tmp_path)
    hits, imported = run_search(tmp_path, "dog OR cat", "--tag", "beach")
    assert {hit["path"] for hit in hits} == {"/photos/1.jpg", "/photos/2.jpg"}
    assert imported == []


def test_after_whoosh_loads_the_real_modules_are_imported_as_ever() -> None:
    script = textwrap.dedent("""
        import photocap.search.index, whoosh.reading, whoosh.compat
        import urllib.request, cached_property
        assert callable(urllib.request.urlopen), "the stand-in stayed"
        assert hasattr(cached_property, "threaded_cached_property"), "the stand-in stayed"
        assert whoosh.reading.cached_property is __import__("functools").cached_property
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_whooshs_variations_still_work_after_starting_without_morph_en() -> None:
    script = ("import sys, photocap.search.index\n"
              "from whoosh.query import terms\n"
              "assert 'whoosh.lang.morph_en' not in sys.modules\n"
              "print(sorted(terms.variations('dogs')))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "dog" in run.stdout and "dogs" in run.stdout

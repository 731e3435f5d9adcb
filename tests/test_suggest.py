"""What a mistyped query word may have meant (photocap.search.suggest), in the web app and the word list."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse


def test_the_shipped_search_words_are_the_models_words():
    from photocap.search.suggest import SEARCH_WORDS_PATH
    from train.search_words import search_words

    shipped = SEARCH_WORDS_PATH.read_text(encoding="utf-8").split()
    assert shipped == search_words(), "run `python -m train.search_words` and commit the file"
    assert {"dog", "giraffe", "bicycle", "motorbike", "skateboard"} <= set(shipped) and "the" not in shipped


def test_the_search_page_links_a_mistyped_word_to_the_query_with_the_word_the_library_has(web) -> None:
    api = web.get("/api/search", params={"q": "a dgo"}).json()
    assert api["total"] == 0 and api["unknown"] == ["dgo"] and api["suggestions"] == {"dgo": ["dog"]}
    page = web.get("/", params={"q": "a dgo"}).text
    assert "Did you mean" in page
    [link] = [part.split('"')[0] for part in page.split('class="suggestion" href="')[1:]]
    query = parse_qs(urlparse(link.replace("&amp;", "&")).query)
    assert query["q"] == ["a dog"] and ">a dog</a>?" in page
    followed = web.get(link.replace("&amp;", "&")).text
    assert "Did you mean" not in followed and re.search(r"<strong>[1-9]\d*</strong> photo", followed)

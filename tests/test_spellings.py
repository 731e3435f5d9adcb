"""British and American spellings meet in the index (photocap.search.spellings)."""

from __future__ import annotations

import pytest

from photocap.search.schema import stem_word
from photocap.search.spellings import AMERICAN_STEMS

PAIRS = [
    ("colour", "color"), ("colours", "colors"), ("coloured", "colored"), ("colourful", "colorful"),
    ("grey", "gray"), ("greyish", "grayish"), ("harbour", "harbor"), ("centre", "center"), ("theatre", "theater"),
    ("tyres", "tires"), ("kerb", "curb"), ("jewellery", "jewelry"), ("favourite", "favorite"),
    ("neighbour", "neighbor"), ("neighbourhood", "neighborhood"), ("moustache", "mustache"), ("pyjamas", "pajamas"),
    ("yoghurt", "yogurt"), ("metres", "meters"), ("kilometre", "kilometer"), ("litre", "liter"), ("fibre", "fiber"),
    ("aluminium", "aluminum"), ("armour", "armor"), ("flavour", "flavor"), ("parlour", "parlor"),
    ("aeroplane", "airplane"), ("catalogue", "catalog"), ("cosy", "cozy"), ("doughnuts", "donuts"),
    ("plough", "plow"), ("mould", "mold"), ("sombre", "somber"), ("manoeuvre", "maneuver"), ("sabre", "saber"),
    ("vapour", "vapor"), ("odour", "odor"), ("behaviour", "behavior"), ("savoury", "savory"), ("arbour", "arbor"),
    ("travelling", "traveling"),
]


@pytest.mark.parametrize(("british", "american"), PAIRS)
def test_the_two_spellings_are_one_term(british: str, american: str):
    assert stem_word(british) == stem_word(american)


def test_every_entry_is_checked_and_no_american_or_other_word_changes():
    from whoosh.lang.porter2 import stem

    assert set(AMERICAN_STEMS) <= {stem(british) for british, _ in PAIRS}, "an entry no pair checks"
    assert not set(AMERICAN_STEMS) & {stem(american) for _, american in PAIRS}
    for word in ("greyhound", "story", "storey", "check", "cheque", "tired", "meter", "hour", "tour"):
        assert stem_word(word) == stem(word)

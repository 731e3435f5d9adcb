"""British spellings as the American ones, in everything the index holds and every query: "grey cat" finds "a gray
cat", "colourful" a "colorful kite", "harbour" a "harbor". The captioners learnt from captions in both spellings
(COCO's say "grey" and "gray"), and people type theirs.

The map is from Porter2 stem to Porter2 stem, so one entry covers a word's forms ("colour", "colours", "coloured",
"colourful" all stem to "colour"). Only words whose two spellings name the same thing, and only where the British
stem is no other word's: "storey" (a floor) is not a story, nor "cheque" a check. photocap.search.schema.stem_word
applies it after stemming; tests/test_spellings.py checks each pair of words below meets.
"""

from __future__ import annotations

# British stem -> American stem (in comments: the words).
AMERICAN_STEMS = {
    "aeroplan": "airplan",  # aeroplane, airplane
    "aluminium": "aluminum",
    "arbour": "arbor",
    "armour": "armor",
    "behaviour": "behavior",
    "catalogu": "catalog",  # catalogue
    "centr": "center",  # centre
    "colour": "color",  # colour, colours, coloured, colourful
    "cosi": "cozi",  # cosy, cozy
    "doughnut": "donut",
    "favourit": "favorit",  # favourite
    "fibr": "fiber",  # fibre
    "flavour": "flavor",
    "grey": "gray",  # grey, greys, greyed (greyhound is its own word)
    "greyish": "grayish",
    "harbour": "harbor",
    "jewelleri": "jewelri",  # jewellery, jewelry
    "kerb": "curb",
    "kilometr": "kilomet",  # kilometre, kilometer
    "litr": "liter",  # litre
    "manoeuvr": "maneuv",  # manoeuvre, maneuver
    "metr": "meter",  # metre
    "mould": "mold",
    "moustach": "mustach",  # moustache
    "neighbour": "neighbor",
    "neighbourhood": "neighborhood",
    "odour": "odor",
    "parlour": "parlor",
    "plough": "plow",
    "pyjama": "pajama",  # pyjamas
    "sabr": "saber",  # sabre
    "savouri": "savori",  # savoury
    "sombr": "somber",  # sombre
    "theatr": "theater",  # theatre
    "tyre": "tire",
    "vapour": "vapor",
    "yoghurt": "yogurt",
}

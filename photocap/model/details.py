"""Colours and clothes a caption may say only where the photo supports them.

Half of the wrong captions on everyday photos had the right subject and an invented detail: "a man in a blue
shirt" for a windsurfer in a wetsuit. The captioner's word-presence head (its likely words, one probability per
word) is the evidence: a colour or garment word it gives less than the threshold is unsure, and goes:
- a garment phrase with an unsure word ("in a blue shirt", "wearing a red hat and sunglasses") goes whole:
  "a man in a blue shirt is standing on the beach" -> "a man is standing on the beach";
- an unsure colour elsewhere goes with the colours joined to it: "a black and white dog" -> "a dog".
"""

from __future__ import annotations

from collections.abc import Mapping

from photocap.wording import article

COLOURS = frozenset({
    "red", "blue", "green", "yellow", "orange", "purple", "pink", "black", "white", "brown", "grey", "gray",
    "tan", "golden", "blond", "blonde", "silver", "colorful", "colourful", "multicolored", "striped", "plaid",
    "dark", "light",
})
GARMENTS = frozenset({
    "shirt", "shirts", "tshirt", "jacket", "jackets", "coat", "coats", "dress", "dresses", "hat", "hats", "cap",
    "caps", "helmet", "helmets", "uniform", "uniforms", "jersey", "jerseys", "shorts", "pants", "jeans", "sweater",
    "sweatshirt", "hoodie", "suit", "suits", "skirt", "costume", "costumes", "wetsuit", "swimsuit", "bikini",
    "vest", "top", "scarf", "glasses", "sunglasses", "goggles", "boots", "shoes", "gloves", "outfit", "outfits",
    "clothes", "clothing", "bandana", "overalls", "apron", "hood", "trunks", "tank",
})
GARMENT_LEADS = frozenset({"in", "wearing", "with", "wears", "dressed"})
DETERMINERS = frozenset({"a", "an", "the", "his", "her", "their", "some"})
FILLERS = frozenset({"and", "long", "short", "sleeved", "sleeve", "bright", "dark", "light", "matching"})


def detail_words(caption: str) -> list[str]:
    """The colour and garment words of a caption, in order."""
    return [word for word in caption.split() if word in COLOURS or word in GARMENTS]


def unsure_details(caption: str, probabilities: Mapping[str, float], threshold: float) -> set[str]:
    """The colour and garment words of `caption` that the likely-words head gives less than `threshold`."""
    return {word for word in detail_words(caption) if probabilities.get(word, 0.0) < threshold}


def without_unsure_details(caption: str, probabilities: Mapping[str, float], threshold: float) -> str:
    """`caption` without its unsure colours and garment phrases (see the module docstring)."""
    unsure = unsure_details(caption, probabilities, threshold)
    if not unsure:
        return caption
    words = caption.split()
    kept: list[str] = []
    position = 0
    while position < len(words):
        # A garment phrase or a run of colours goes whole if any of its words is unsure; any other word stays.
        end = _garment_phrase_end(words, position) or _colour_run_end(words, position)
        if end is None:
            kept.append(words[position])
            position += 1
            continue
        if not unsure & set(words[position:end]):
            kept += words[position:end]
        position = end
    return " ".join(_fix_articles(kept))


def _garment_phrase_end(words: list[str], start: int) -> int | None:
    """Where a garment phrase starting at `start` ("in a red shirt and blue jeans") ends, or None."""
    if words[start] not in GARMENT_LEADS:
        return None
    position, garment_end = start + 1, None
    if position < len(words) and words[position] == "in":  # "dressed in"
        position += 1
    while position < len(words):
        word = words[position]
        if word in GARMENTS:
            garment_end = position + 1
        elif not (word in DETERMINERS or word in COLOURS or word in FILLERS):
            break
        position += 1
    return garment_end


def _colour_run_end(words: list[str], start: int) -> int | None:
    """Where a run of colours starting at `start` ("black and white") ends, or None."""
    if words[start] not in COLOURS:
        return None
    position = start + 1
    while position + 1 < len(words) and words[position] == "and" and words[position + 1] in COLOURS:
        position += 2
    return position


def _fix_articles(words: list[str]) -> list[str]:
    """The article each "a" or "an" needs now that a colour before its noun may have gone ("an orange cat")."""
    fixed = list(words)
    for index in range(len(fixed) - 1):
        if fixed[index] in ("a", "an"):
            fixed[index] = article(fixed[index + 1])
    return fixed

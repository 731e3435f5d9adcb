"""The 80 MS-COCO object categories and the words captions use for them, for CHAIR (Rohrbach et al. 2018).

`objects_in(caption)` is the set of categories a caption names; `mentions_in(caption)` lists them in the
order they are first named, each category once per caption (CHAIR_i counts mentions that way). Ground
truth for CHAIR here is text too: an object is in a photo when one of its reference captions names it.

Matching works on lower-case word tokens (punctuation and apostrophes dropped, as in the evaluation
protocol; a possessive 's dropped too). At each position the longest known phrase wins, so "hot dog" is food,
not a dog, "teddy bear" is not a bear, "toilet seat" is a toilet and not a chair, "baby elephant" (or "adult
panda") is the animal, not a person. Some phrases name no category and only stop a shorter one from matching
("train tracks" is not a train, "ski slope" not skis). Plurals are generated from each phrase's last word.
Two small rules beyond phrases: "orange" followed by a noun is the colour ("an orange cat"), and "baby",
"adult", "mother", "family" and "team" do not name a person in a caption that names an animal ("an elephant
and her baby", "a family of ducks").

    python -m benchmarks.coco_objects                      # coverage on 24,619 everyday COCO captions
    python -m benchmarks.coco_objects "a man eating a hot dog next to a teddy bear"

The word lists are this project's own, in the spirit of Rohrbach's synonyms: words people use for the
object, not every hyponym WordNet knows. Deliberately left out, because captions mostly use them for
something else: "glass" (windows), "seat" (of a car, a stadium), "board", "glove", "light", "screen",
"bag", "chicken" (food), "notebook", "animal".
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

COCO_TEXT_CAPTIONS = Path(__file__).resolve().parents[2] / "shared/data/coco-captions-text/captions_val2017_text.json"
_WORD = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"(?<=[a-z])['\u2019]s\b")  # ' or right quote


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Category -> the words and phrases captions use for it (singular; plurals are generated).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": (
        "person", "people", "persons", "man", "woman", "boy", "girl", "child", "kid", "baby", "toddler", "infant",
        "teen", "teenager", "adult", "guy", "dude", "lady", "gentleman", "someone", "somebody", "player", "skier",
        "snowboarder", "surfer", "skateboarder", "skater", "rider", "biker", "cyclist", "bicyclist",
        "motorcyclist", "batter", "catcher", "pitcher", "umpire", "chef", "cook", "baker", "waiter", "waitress",
        "worker", "officer", "policeman", "cop", "soldier", "pedestrian", "passenger", "tourist", "student",
        "spectator", "mother", "father", "mom", "dad", "son", "daughter", "brother", "sister", "husband", "wife",
        "bride", "groom", "cowboy", "jockey", "fireman", "businessman", "athlete", "runner", "swimmer",
        "kiteboarder", "kitesurfer", "windsurfer", "wakeboarder", "tennis player", "police officer", "crowd",
        "male", "female", "vendor", "customer", "shopper", "farmer", "fisherman", "motorist", "family", "team",
    ),
    "bicycle": ("bicycle", "bike", "cycle", "tricycle", "unicycle"),
    "car": ("car", "automobile", "van", "minivan", "sedan", "suv", "jeep", "taxi", "cab", "taxicab", "limo",
            "limousine", "police car", "race car"),
    "motorcycle": ("motorcycle", "motorbike", "motor bike", "motor cycle", "dirt bike", "scooter", "moped"),
    "airplane": ("airplane", "plane", "aeroplane", "air plane", "jet", "jetliner", "airliner", "aircraft",
                 "biplane", "seaplane", "passenger jet"),
    "bus": ("bus", "minibus", "trolley", "double decker", "doubledecker"),
    "train": ("train", "locomotive", "tram", "streetcar", "street car", "subway", "caboose", "train car",
              "subway car", "passenger train", "freight train"),
    "truck": ("truck", "pickup", "pickup truck", "lorry", "firetruck", "fire truck", "fire engine", "semi",
              "truck bed"),
    "boat": ("boat", "ship", "sailboat", "canoe", "kayak", "yacht", "ferry", "rowboat", "row boat", "speedboat",
             "motorboat", "tugboat", "vessel", "barge", "gondola"),
    "traffic light": ("traffic light", "stop light", "stoplight", "traffic signal", "street light"),
    "fire hydrant": ("fire hydrant", "hydrant", "fire plug"),
    "stop sign": ("stop sign",),
    "parking meter": ("parking meter", "meter"),
    "bench": ("bench", "pew"),
    "bird": ("bird", "duck", "goose", "swan", "pigeon", "dove", "seagull", "gull", "parrot", "owl", "eagle",
             "hawk", "crow", "raven", "sparrow", "finch", "robin", "pelican", "heron", "crane bird", "flamingo",
             "ostrich", "peacock", "penguin", "hen", "rooster", "turkey", "hummingbird", "songbird", "woodpecker",
             "bluebird", "blue jay", "cardinal", "mallard", "waterfowl", "seabird"),
    "cat": ("cat", "kitten", "kitty", "feline", "tabby"),
    "dog": ("dog", "puppy", "pup", "doggy", "doggie", "canine", "terrier", "retriever", "labrador", "lab",
            "poodle", "bulldog", "beagle", "collie", "husky", "chihuahua", "dachshund", "pug", "corgi",
            "german shepherd", "sheepdog", "greyhound", "pit bull", "pitbull", "spaniel", "hound", "rottweiler",
            "dalmatian", "schnauzer", "mutt"),
    "horse": ("horse", "pony", "foal", "colt", "stallion", "mare", "horseback"),
    "sheep": ("sheep", "lamb", "ram", "ewe", "goat"),
    "cow": ("cow", "cattle", "calf", "bull", "ox", "oxen", "steer", "heifer", "bison", "buffalo"),
    "elephant": ("elephant",),
    "bear": ("bear", "grizzly", "polar bear", "brown bear", "black bear", "panda", "panda bear"),
    "zebra": ("zebra",),
    "giraffe": ("giraffe",),
    "backpack": ("backpack", "back pack", "knapsack", "rucksack"),
    "umbrella": ("umbrella", "parasol"),
    "handbag": ("handbag", "hand bag", "purse", "briefcase", "wallet"),
    "tie": ("tie", "necktie", "bow tie", "bowtie"),
    "suitcase": ("suitcase", "suit case", "luggage", "baggage"),
    "frisbee": ("frisbee", "frisbe", "flying disc"),
    "skis": ("ski", "skis"),
    "snowboard": ("snowboard", "snow board"),
    "sports ball": ("ball", "soccer ball", "tennis ball", "baseball ball", "football", "basketball",
                    "volleyball", "beach ball"),
    "kite": ("kite",),
    "baseball bat": ("baseball bat", "bat"),
    "baseball glove": ("baseball glove", "baseball mitt", "mitt", "catcher mitt"),
    "skateboard": ("skateboard", "skate board"),
    "surfboard": ("surfboard", "surf board", "boogie board", "bodyboard", "longboard", "paddle board",
                  "paddleboard"),
    "tennis racket": ("tennis racket", "racket", "racquet", "tennis racquet"),
    "bottle": ("bottle",),
    "wine glass": ("wine glass", "wineglass", "glass of wine"),
    "cup": ("cup", "mug", "teacup", "coffee cup", "tea cup"),
    "fork": ("fork",),
    "knife": ("knife",),
    "spoon": ("spoon",),
    "bowl": ("bowl",),
    "banana": ("banana",),
    "apple": ("apple",),
    "sandwich": ("sandwich", "burger", "hamburger", "cheeseburger", "sub", "panini", "hoagie"),
    "orange": ("orange", "tangerine", "mandarin", "clementine"),
    "broccoli": ("broccoli", "brocolli", "brocoli"),
    "carrot": ("carrot",),
    "hot dog": ("hot dog", "hotdog", "chili dog", "corn dog"),
    "pizza": ("pizza",),
    "donut": ("donut", "doughnut"),
    "cake": ("cake", "cupcake", "cheesecake"),
    "chair": ("chair", "armchair", "stool", "highchair", "high chair"),
    "couch": ("couch", "sofa", "loveseat", "love seat", "futon", "recliner"),
    "potted plant": ("potted plant", "plant", "houseplant", "house plant", "flower pot", "flowerpot"),
    "bed": ("bed",),
    "dining table": ("table", "dining table", "desk"),
    "toilet": ("toilet", "urinal", "commode", "toilet seat", "toilet bowl"),
    "tv": ("tv", "television", "monitor", "flatscreen", "flat screen"),
    "laptop": ("laptop", "computer", "macbook", "notebook computer", "laptop computer"),
    "mouse": ("mouse", "computer mouse"),
    "remote": ("remote", "remote control", "controller", "game controller", "wii remote", "wiimote"),
    "keyboard": ("keyboard", "computer keyboard"),
    "cell phone": ("cell phone", "cellphone", "phone", "mobile phone", "smartphone", "smart phone", "iphone",
                   "telephone"),
    "microwave": ("microwave", "microwave oven"),
    "oven": ("oven", "stove", "stovetop", "stove top"),
    "toaster": ("toaster", "toaster oven"),
    "sink": ("sink",),
    "refrigerator": ("refrigerator", "fridge", "freezer", "refrigerator freezer"),
    "book": ("book",),
    "clock": ("clock",),
    "vase": ("vase",),
    "scissors": ("scissors", "scissor"),
    "teddy bear": ("teddy bear", "teddy", "teddybear", "stuffed bear", "stuffed animal"),
    "hair drier": ("hair drier", "hair dryer", "hairdryer", "blow dryer", "blowdryer"),
    "toothbrush": ("toothbrush", "tooth brush"),
}

ANIMALS = frozenset({"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"})
# Person words that captions of animals use for the animals ("a mother elephant and her baby", "an adult and
# a baby zebra", "a family of ducks"): in a caption that names an animal, they do not name a person.
ANIMAL_FAMILY_WORDS = word_set("baby babies adult adults mother mothers family families team teams")

# Phrases that name no category but contain a word that would otherwise be read as one.
NOT_OBJECTS: tuple[str, ...] = (
    "train track", "train station", "bus stop", "bus station", "ski slope", "ski lift", "ski resort",
    "ski lodge", "ski area", "ski run", "ski trail", "ski hill", "dog bed", "cat bed", "flower bed", "river bed",
    "pizza box", "pizza cutter", "phone booth", "ball cap", "ball field", "ball game",
)

# "orange" is as often the colour ("an orange cat", "orange and white fur"). It is the fruit only where no
# noun follows it: at the end, before one of these words, or before "and"/"or" not followed by a colour.
_ORANGE_FRUIT_BEFORE = word_set(
    "is are was sits sitting sit lies lying laying lay rests resting hangs hanging on in with next near by "
    "beside from to of at that which has have sliced cut peeled being and or slice slices wedge wedges peel "
    "half halves segment segments piece pieces tree trees"
)
_COLOURS = word_set("white black red blue green yellow brown pink purple gray grey silver gold tan orange beige")

_IRREGULAR_PLURALS = {
    "person": ("people", "persons"), "child": ("children",), "mouse": ("mice",), "knife": ("knives",),
    "goose": ("geese",), "ox": ("oxen",), "calf": ("calves",), "bus": ("buses", "busses"),
    "sheep": ("sheep",), "scissors": ("scissors",), "skis": ("skis",), "people": ("peoples",),
    "wife": ("wives",), "cattle": ("cattle",), "broccoli": ("broccoli",),
}


def tokens(text: str) -> list[str]:
    """Lower-case word tokens as photocap's tokenizer makes them (apostrophes dropped), except that a
    possessive 's goes too: "the child's umbrella" names a child."""
    return _WORD.findall(_POSSESSIVE.sub("", text.lower()).replace("'", ""))


def plural_forms(word: str) -> tuple[str, ...]:
    """The word's plural spellings (regular English rules plus a few irregular nouns)."""
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word.endswith("man"):
        return (word[:-3] + "men",)
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return (word + "es",)
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return (word[:-1] + "ies",)
    if word.endswith("o"):
        return (word + "s", word + "es")
    return (word + "s",)


def spellings(phrase: str) -> list[tuple[str, ...]]:
    """The token tuples of `phrase` and of its plurals (the last word pluralised)."""
    words = tuple(tokens(phrase))
    return [words, *(words[:-1] + (plural,) for plural in plural_forms(words[-1]))]


def _baby_animal_phrases() -> dict[tuple[str, ...], str]:
    """"baby elephant", "adult giraffe", "mother bear"...: the animal, not a person."""
    phrases: dict[tuple[str, ...], str] = {}
    for category in sorted(ANIMALS):
        for synonym in SYNONYMS[category]:
            for spelled in spellings(synonym):
                for age in ("baby", "adult", "mother", "young", "male", "female"):
                    phrases[(age, *spelled)] = category
    return phrases


@lru_cache(maxsize=1)
def phrase_table() -> dict[tuple[str, ...], str | None]:
    """Token tuple -> category, or None for a phrase that names no category."""
    table: dict[tuple[str, ...], str | None] = {}
    for category, synonyms in SYNONYMS.items():
        for synonym in synonyms:
            for spelled in spellings(synonym):
                if spelled in table and table[spelled] != category:
                    raise ValueError(f"{' '.join(spelled)!r} names both {table[spelled]} and {category}")
                table[spelled] = category
    for phrase in NOT_OBJECTS:
        for spelled in spellings(phrase):
            table.setdefault(spelled, None)
    table.update(_baby_animal_phrases())
    return table


@lru_cache(maxsize=1)
def longest_phrase() -> int:
    return max(len(phrase) for phrase in phrase_table())


def _is_colour(words: Sequence[str], position: int) -> bool:
    """Whether the "orange" at `position` is the colour rather than the fruit."""
    following = words[position + 1 : position + 3]
    if not following:
        return False
    if following[0] not in _ORANGE_FRUIT_BEFORE:
        return True
    return following[0] in ("and", "or") and len(following) > 1 and following[1] in _COLOURS


def _match_at(words: Sequence[str], position: int) -> tuple[tuple[str, ...], str | None]:
    """The longest known phrase starting at `position` and its category (None: names none); a phrase of one
    word and None where no phrase starts there."""
    table = phrase_table()
    for length in range(min(longest_phrase(), len(words) - position), 0, -1):
        phrase = tuple(words[position : position + length])
        if phrase in table:
            if phrase == ("orange",) and _is_colour(words, position):
                return phrase, None
            return phrase, table[phrase]
    return tuple(words[position : position + 1]), None


def phrases_in(words: Sequence[str]) -> list[tuple[int, tuple[str, ...], str]]:
    """Every (position, phrase, category) the tokens `words` name, in order, repeats included."""
    named: list[tuple[int, tuple[str, ...], str]] = []
    position = 0
    while position < len(words):
        phrase, category = _match_at(words, position)
        if category is not None:
            named.append((position, phrase, category))
        position += len(phrase)
    return named


def named_phrases(caption: str) -> list[tuple[tuple[str, ...], str]]:
    """Every (phrase, category) `caption` names, in order, repeats included."""
    return [(phrase, category) for _, phrase, category in phrases_in(tokens(caption))]


def _names_a_person(phrase: tuple[str, ...], animal_named: bool) -> bool:
    return not (animal_named and len(phrase) == 1 and phrase[0] in ANIMAL_FAMILY_WORDS)


def mentions_in(caption: str) -> list[str]:
    """The categories `caption` names, in the order first named, each once (a CHAIR_i mention)."""
    named = named_phrases(caption)
    animal_named = any(category in ANIMALS for _, category in named)
    found: list[str] = []
    for phrase, category in named:
        if category == "person" and not _names_a_person(phrase, animal_named):
            continue
        if category not in found:
            found.append(category)
    return found


def objects_in(caption: str) -> set[str]:
    """The set of COCO categories `caption` names."""
    return set(mentions_in(caption))


def objects_in_any(captions: Iterable[str]) -> set[str]:
    """Categories named by at least one of `captions` (what CHAIR counts as present)."""
    return set().union(*(objects_in(caption) for caption in captions))


def objects_named_by_at_least(captions: Iterable[str], count: int) -> set[str]:
    """Categories named by at least `count` of `captions` (confidently present)."""
    votes = Counter(category for caption in captions for category in objects_in(caption))
    return {category for category, votes_for in votes.items() if votes_for >= count}


# ---------------------------------------------------------------------------------------------------
# Coverage report on everyday captions (text only)

# Frequent caption words that are not COCO objects (scenes, materials, parts, clothes, food not in COCO).
_NOT_CATEGORY_WORDS = word_set(
    "a an the of on in with and is are to at two three four next sitting standing top while near front "
    "some his her it its that their other one has down up large small white black red blue green yellow "
    "brown big little there several various many"
)


def coverage_report(captions: Sequence[str], top: int = 60) -> str:
    """How often each category is named, and the most frequent words that no phrase covers."""
    named = Counter(category for caption in captions for category in objects_in(caption))
    covered = {word for phrase in phrase_table() for word in phrase}
    missed = Counter(
        word for caption in captions for word in tokens(caption)
        if word not in covered and word not in _NOT_CATEGORY_WORDS and not word.isdigit()
    )
    with_any = sum(bool(objects_in(caption)) for caption in captions)
    lines = [f"{len(captions)} captions; {100 * with_any / len(captions):.1f}% name at least one COCO object", ""]
    lines += [f"{count:6d}  {category}" for category, count in named.most_common()]
    never = sorted(set(SYNONYMS) - set(named))
    lines += ["", f"never named: {', '.join(never) or 'none'}", "", f"most frequent uncovered words (top {top}):"]
    lines += [", ".join(f"{word} {count}" for word, count in missed.most_common(top))]
    return "\n".join(lines)


def load_text_captions(path: Path = COCO_TEXT_CAPTIONS) -> list[str]:
    with open(path, encoding="utf-8") as file:
        return [annotation["caption"] for annotation in json.load(file)["annotations"]]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("caption", nargs="*", help="captions to analyse (default: the coverage report)")
    parser.add_argument("--captions-file", type=Path, default=COCO_TEXT_CAPTIONS,
                        help="COCO-format caption file for the coverage report")
    parser.add_argument("--top", type=int, default=60, help="uncovered words to list")
    args = parser.parse_args(argv)
    if args.caption:
        for caption in args.caption:
            print(f"{caption!r}: {', '.join(mentions_in(caption)) or '(no COCO object)'}")
        return
    print(coverage_report(load_text_captions(args.captions_file), args.top))


if __name__ == "__main__":
    main()

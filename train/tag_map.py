"""Build photocap/assets/imagenet_tags.json: the words people search with, for ImageNet-1k's 1,000 classes.

    apt-get install -y wordnet-base                    # WordNet 3.0 in /usr/share/wordnet
    pip download timm --no-deps -d /tmp/timm           # for timm/data/_info/imagenet_synsets.txt
    python -m train.tag_map                            # --wordnet DIR --synsets FILE --names FILE --out FILE

Run once, when this file changes; the JSON is shipped, and nothing here is needed at run time. Inputs: the
WordNet 3.0 noun database (data.noun, parsed directly), ImageNet's synset ids in class-index order (a timm
wheel, or the text file itself; "n" + the 8-digit WordNet 3.0 noun offset), and the class names of
torchvision's ImageNet category list (_IMAGENET_CATEGORIES in the installed torchvision's models/_meta.py, read
as a literal). Their paths, versions and checksums are recorded in the JSON's "sources".

Format "photocap.imagenet-tags/1":

    {"format": "photocap.imagenet-tags/1",
     "sources": {...},
     "kinds": ["person", "animal", ...],               # the coarse kinds, see KINDS
     "classes": [{"wnid": "n01440764", "name": "tench", "tag": 289}, ...],   # 1,000, in the head's order;
                                                       # "tag" is the class's own tag
     "tags": [..., {"word": "airliner",                # what to show and index
               "synonyms": ["passenger jet", "jetliner"],   # other words people search with for it
               "classes": [404],                       # every class below it, once each: a tag's probability
                                                       # is the sum of these classes' probabilities
               "parents": [1079],                      # the nearest kept tags above it (indices into "tags")
               "path": "vehicle|aircraft|airplane|airliner",   # one path from a root (a tag without
                                                       # parents), for Lightroom's lr:hierarchicalSubject
               "kind": "vehicle",                      # one of "kinds"
               "wnids": ["n02690373"]}, ...]}          # the WordNet synsets it stands for ([] if hand-made)

Tags are sorted by path. How they are chosen:
- Every class is a tag, named as people name it (CLASS_WORDS fixes ImageNet's odd first lemmas), with its
  WordNet lemmas as synonyms (minus Latin binomials, and minus words that name another tag).
- Above the classes, only the WordNet hypernyms listed in NODES are kept (dog, bird, food, vehicle, ...): the
  rest of the hypernym closure (placental, carnivore, instrumentality, artifact, entity, ...) is skipped,
  and a kept node's parents are its nearest kept ancestors.
- Tags that are not hypernyms (pet, bathroom, kitchen, beach, ...) come from EXTRA_TAGS and PARENTS_ADD.
- Nodes that get the same word and kind merge into one tag (ImageNet's "monitor" and "screen", both
  computer monitors; "sunglass" and "sunglasses"); the same word with another kind stays apart ("crane", the
  bird and the machine).
- The kind is that of the nearest ancestor listed in KIND_AT, unless KIND_FIX says otherwise.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import subprocess
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = "photocap.imagenet-tags/1"
OUT = Path(__file__).resolve().parent.parent / "photocap" / "assets" / "imagenet_tags.json"
WORDNET = Path("/usr/share/wordnet")
SYNSETS_IN_WHEEL = "timm/data/_info/imagenet_synsets.txt"
NAMES_VARIABLE = "_IMAGENET_CATEGORIES"

KINDS = ("person", "animal", "plant", "food", "vehicle", "furniture", "clothing", "electronics", "household",
         "sports", "instrument", "structure", "place", "other")

# Over-general words: never a tag, never a synonym (the build checks, and so does tests/test_tags.py).
STOP_WORDS = frozenset({
    "entity", "physical entity", "object", "physical object", "whole", "unit", "artifact", "artefact",
    "instrumentality", "instrumentation", "organism", "being", "living thing", "animate thing", "causal agent",
    "cause", "matter", "substance", "abstraction", "abstract entity", "thing", "device", "container", "covering",
    "commodity", "goods", "consumer goods", "durables", "equipment", "implement", "article", "ware", "product",
    "creation", "part", "portion", "piece", "system", "material", "stuff", "solid", "agent", "attribute",
    "relation", "shape", "form", "communication", "medium", "structure", "construction", "machine", "mechanism",
    "vessel", "craft", "conveyance", "chordate", "vertebrate", "craniate", "invertebrate", "placental",
    "eutherian", "protective covering", "restraint", "support", "surface", "fixture", "accessory",
})

# WordNet nodes above the classes that are kept as tags: noun offset -> the word people use.
NODES: dict[str, str] = {
    # living things
    "00007846": "person", "09820263": "athlete",
    "00015388": "animal",
    "02084071": "dog", "02092468": "terrier", "02087551": "hound", "02101108": "spaniel", "02099029": "retriever",
    "02100399": "setter", "02099997": "pointer", "02113335": "poodle", "02096756": "schnauzer",
    "02112826": "corgi", "02109811": "sled dog", "02090827": "greyhound", "02090475": "wolfhound",
    "02093056": "bull terrier", "02104523": "sheepdog",
    "02114100": "wolf", "02118333": "fox", "02115335": "wild dog",
    "02121808": "cat", "02127808": "big cat", "02124623": "wildcat",
    "02131653": "bear", "02484322": "monkey", "02470325": "ape", "02496913": "lemur",
    "02402425": "cow", "02411705": "sheep", "02416519": "goat", "02395003": "pig", "02419796": "antelope",
    "02437136": "camel", "02374451": "horse", "02503517": "elephant", "02062744": "whale", "02076196": "seal",
    "02329401": "rodent", "02355227": "squirrel", "02324045": "rabbit", "01877134": "kangaroo",
    "01503061": "bird", "01529672": "finch", "01604330": "bird of prey", "01613294": "eagle", "01621127": "owl",
    "01605630": "hawk", "01816887": "parrot", "01846331": "duck", "01858441": "swan", "02008041": "heron",
    "02002075": "stork", "02055803": "penguin", "02021795": "seabird", "01795088": "grouse",
    "01803078": "pheasant", "02026059": "sandpiper",
    "01661091": "reptile", "01726692": "snake", "01674464": "lizard", "01662784": "turtle",
    "01697178": "crocodile", "01698434": "alligator", "01699831": "dinosaur", "01693783": "chameleon",
    "01627424": "amphibian", "01639765": "frog", "01629276": "salamander", "01630284": "newt",
    "02512053": "fish", "01482330": "shark", "01495701": "ray", "02534734": "salmon",
    "02159955": "insect", "02164464": "beetle", "02274259": "butterfly", "01772222": "spider",
    "01976957": "crab", "01982650": "lobster", "01940736": "mollusk",
    "00017222": "plant", "11669921": "flower", "12041446": "orchid", "12992868": "mushroom",
    # food and drink
    "00021265": "food", "07555863": "food", "07707451": "vegetable", "07705931": "fruit", "07679356": "bread",
    "07695965": "sandwich", "07697100": "burger", "07609840": "dessert", "07583197": "soup", "07829412": "sauce",
    "07881800": "drink", "07891726": "wine", "07929519": "coffee", "07713895": "cabbage", "07715561": "squash",
    "07710616": "potato", "07720442": "pepper", "07739125": "apple", "07742704": "berry",
    # vehicles
    "04524313": "vehicle", "02958343": "car", "04490091": "truck", "02924116": "bus", "04520170": "van",
    "02834778": "bicycle", "03790512": "motorcycle", "02686568": "aircraft", "02691156": "airplane",
    "04468005": "train", "03684823": "locomotive", "04530566": "boat", "02858304": "boat", "04194289": "ship",
    "04128499": "sailboat", "04552696": "warship", "04235291": "sled", "02970849": "cart",
    "04264914": "spacecraft",
    # furniture and household
    "03405725": "furniture", "03001627": "chair", "04379243": "table", "04379964": "table", "02818832": "bed",
    "04256520": "couch", "02933112": "cabinet", "02828884": "bench",
    "03636649": "lamp", "03046257": "clock", "04555897": "watch",
    "03862676": "oven", "03880531": "pan", "03990474": "pot", "02880940": "bowl", "03438257": "glass",
    "03797390": "mug", "02876657": "bottle", "03593526": "jar", "03603722": "jug", "02801938": "basket",
    "02883344": "box", "02773037": "bag", "04284002": "spoon", "03623556": "knife", "03153375": "cutlery",
    "04459362": "towel", "03151077": "curtain", "04118021": "rug", "03151500": "cushion", "03714235": "makeup",
    # clothing
    "03051540": "clothing", "03497657": "hat", "02954340": "cap", "04199027": "shoe", "02872752": "boot",
    "03381126": "footwear", "03380867": "footwear", "04371563": "swimsuit", "04230808": "skirt",
    "03057021": "coat", "04370048": "sweater", "03815615": "tie", "04143897": "scarf", "03236735": "dress",
    "04097866": "robe", "03441112": "glove", "04509592": "uniform", "04197391": "shirt", "04489008": "trousers",
    "03597469": "jewelry", "03725035": "mask", "03513137": "helmet",
    # electronics, instruments, sport
    "03082979": "computer", "04401088": "telephone", "02942699": "camera",
    "03800933": "musical instrument", "03467517": "guitar", "03928116": "piano",
    "02778669": "ball",
    # structures and places
    "02913152": "building", "02898711": "bridge", "03327234": "fence", "03743902": "monument",
    "03953416": "place of worship", "04202417": "shop", "03748162": "shop", "03544360": "house",
    "04417809": "theater", "04105068": "roof", "04411264": "tent", "04187547": "shed", "04460130": "tower",
    "09359803": "mountain", "09433442": "shore",
    # other things
    "04565375": "weapon", "03467984": "gun", "04451818": "tool", "03964744": "toy", "04028315": "puzzle",
    "03906997": "pen", "03682487": "lock", "06595351": "magazine", "06793231": "sign",
}

# Tags that are not WordNet hypernyms: word -> kind. Their members come from PARENTS_ADD.
EXTRA_TAGS: dict[str, str] = {
    "pet": "animal", "chicken": "animal", "bathroom": "place", "kitchen": "place", "beach": "place", "snow": "place",
    "wedding": "place",
}

# Class display words, where people say something other than ImageNet's (torchvision's) name.
CLASS_WORDS: dict[str, str] = {
    "cock": "rooster", "crane bird": "crane", "drake": "duck", "ice bear": "polar bear",
    "Pembroke": "Pembroke corgi", "Cardigan": "Cardigan corgi", "tabby": "tabby cat", "sorrel": "horse",
    "hog": "pig", "ox": "cow", "Arabian camel": "camel", "Madagascar cat": "ring-tailed lemur",
    "lesser panda": "red panda", "giant panda": "panda", "coho": "salmon", "eft": "newt",
    "amphibian": "amphibious vehicle", "ashcan": "trash can", "ballpoint": "ballpoint pen", "Band Aid": "Band-Aid",
    "bannister": "banister", "barrow": "wheelbarrow", "beach wagon": "station wagon", "beacon": "lighthouse",
    "bicycle-built-for-two": "tandem bicycle", "binder": "ring binder", "bottlecap": "bottle cap",
    "brass": "plaque", "brassiere": "bra", "cab": "taxi", "caldron": "cauldron", "carpenter's kit": "toolkit",
    "cash machine": "ATM", "cellular telephone": "cell phone", "chain saw": "chainsaw",
    "chiffonier": "chest of drawers", "coffee mug": "mug", "computer keyboard": "keyboard",
    "confectionery": "candy store", "Crock Pot": "slow cooker", "dishrag": "dishcloth",
    "drilling platform": "oil rig", "dogsled": "dog sled", "electric fan": "fan",
    "espresso maker": "espresso machine", "file": "filing cabinet", "fire engine": "fire truck",
    "four-poster": "four-poster bed", "gasmask": "gas mask", "golfcart": "golf cart", "hair slide": "hair clip",
    "hand blower": "hair dryer", "hand-held computer": "handheld computer", "hard disc": "hard disk",
    "harvester": "combine harvester", "jean": "jeans", "jersey": "T-shirt", "jinrikisha": "rickshaw",
    "notebook": "laptop", "liner": "ocean liner", "Loafer": "loafer", "lumbermill": "sawmill",
    "magnetic compass": "compass", "maillot": "leotard", "maillot tank suit": "swimsuit",
    "medicine chest": "medicine cabinet", "motor scooter": "scooter", "mountain tent": "tent",
    "nipple": "baby bottle", "organ": "pipe organ", "pajama": "pajamas", "panpipe": "pan flute",
    "passenger car": "train car", "pay-phone": "payphone", "pencil box": "pencil case", "pick": "guitar pick",
    "pickup": "pickup truck", "pirate": "pirate ship", "plane": "hand plane", "plate rack": "dish rack",
    "pop bottle": "soda bottle", "pot": "flowerpot", "power drill": "drill", "puck": "hockey puck",
    "racer": "race car", "recreational vehicle": "RV", "rubber eraser": "eraser", "rule": "ruler",
    "saltshaker": "salt shaker", "sax": "saxophone", "screen": "monitor", "slot": "slot machine",
    "studio couch": "sofa bed", "sunglass": "sunglasses", "swab": "mop", "switch": "light switch",
    "teddy": "teddy bear", "thatch": "thatched roof", "theater curtain": "stage curtain",
    "toilet seat": "toilet", "toyshop": "toy store", "trailer truck": "semi truck",
    "typewriter keyboard": "typewriter", "upright": "upright piano", "vacuum": "vacuum cleaner",
    "warplane": "military plane", "washbasin": "sink", "washer": "washing machine", "worm fence": "split-rail fence",
    "wreck": "shipwreck", "web site": "website", "book jacket": "book", "ice lolly": "popsicle",
    "French loaf": "baguette", "hotdog": "hot dog", "mashed potato": "mashed potatoes", "head cabbage": "cabbage",
    "meat loaf": "meatloaf", "potpie": "pot pie", "lakeside": "lake", "promontory": "headland",
    "seashore": "beach", "ballplayer": "baseball player", "groom": "bridegroom",
    "yellow lady's slipper": "lady's slipper orchid", "ear": "corn", "hip": "rose hip",
    "buckeye": "horse chestnut", "toilet tissue": "toilet paper", "Granny Smith": "Granny Smith apple",
    "bell cote": "bell tower", "fire screen": "fire screen", "wing": "airplane wing", "ski mask": "balaclava",
    "streetcar": "tram", "Angora": "Angora rabbit",
}

# Synonyms people search with that WordNet lacks, by tag word (or "word/kind" where the word is ambiguous).
SYNONYMS_ADD: dict[str, tuple[str, ...]] = {
    "dog": ("puppy",), "cat": ("kitten", "kitty"), "pet": ("pets",), "person": ("people",), "bird": ("birds",),
    "insect": ("bug",), "cow": ("cattle", "bull", "calf"), "pig": ("hog",), "sheep": ("lamb",),
    "horse": ("pony",), "panda": ("giant panda", "panda bear"), "duck": ("drake",), "rooster": ("cock",),
    "chicken": ("chickens", "poultry"),
    "crane/animal": ("crane bird",), "polar bear": ("ice bear",), "salmon": ("coho",),
    "airplane": ("jet",), "airliner": ("passenger jet", "jetliner"),
    "military plane": ("warplane", "fighter jet"), "airplane wing": ("wing",), "boat": ("watercraft",),
    "cell phone": ("mobile phone", "smartphone", "phone"), "telephone": ("phone",),
    "laptop": ("notebook computer", "notebook"), "monitor": ("computer monitor", "screen", "display"),
    "television": ("TV",), "keyboard": ("computer keyboard",), "mouse": ("computer mouse",),
    "toilet": ("toilet seat", "toilet bowl"), "sink": ("washbasin", "bathroom sink"),
    "refrigerator": ("fridge",), "microwave": ("microwave oven",), "stove": ("cooker", "range"),
    "espresso machine": ("coffee machine", "coffee maker"), "slow cooker": ("crock pot",),
    "trash can": ("garbage can", "bin"), "couch": ("sofa",), "fire screen": ("fireplace",),
    "lighthouse": ("beacon",), "bell tower": ("bell cote",), "taxi": ("cab", "taxicab"),
    "semi truck": ("lorry", "tractor trailer", "semi"), "fire truck": ("fire engine",),
    "station wagon": ("estate car",), "race car": ("racing car",), "RV": ("camper", "motorhome"),
    "scooter": ("motor scooter",), "tram": ("streetcar", "trolley"), "train car": ("railroad car", "carriage"),
    "car wheel": ("wheel", "tire", "tyre"), "car mirror": ("side mirror", "wing mirror"),
    "T-shirt": ("tee shirt", "t shirt", "jersey"), "jeans": ("denim",), "sweatshirt": ("hoodie",),
    "running shoe": ("sneaker", "sneakers", "trainer"), "sunglasses": ("shades", "glasses", "eyeglasses", "spectacles"),
    "tie": ("necktie",),
    "bra": ("brassiere",), "pajamas": ("pyjamas",), "swimsuit": ("bathing suit",),
    "purse": ("handbag",), "quilt": ("duvet", "bedspread"), "strainer": ("colander", "sieve"),
    "mop": ("swab",), "flagpole": ("flag",), "hot dog": ("hotdog",), "burger": ("hamburger",),
    "carbonara": ("pasta", "spaghetti"), "popsicle": ("ice lolly",), "baguette": ("French bread",),
    "plate": ("meal",), "corn": ("corn on the cob", "maize"), "rapeseed": ("canola",),
    "horse chestnut": ("conker",), "beach": ("seashore", "seaside", "coast"), "lake": ("lakeshore",),
    "headland": ("promontory", "cape"), "sandbar": ("sandbank",), "spider web": ("cobweb",),
    "soccer ball": ("football",), "racket": ("tennis racket",), "ski": ("skis", "skiing"),
    "teddy bear": ("teddy", "stuffed animal"), "monastery": ("abbey",), "ATM": ("cash machine",),
    "dishcloth": ("dishrag",), "chainsaw": ("chain saw",), "gas pump": ("gas station", "petrol station"),
    "cup": ("teacup",), "mug": ("coffee mug", "cup"), "lamp": ("light",), "jack-o'-lantern": ("pumpkin",),
    "Band-Aid": ("bandage", "plaster"), "wheelbarrow": ("barrow",), "cauldron": ("caldron",),
    "banister": ("handrail", "railing"), "paintbrush": ("brush",), "hair dryer": ("hairdryer", "blow dryer"),
    "ocean liner": ("cruise ship",), "pirate ship": ("pirate",), "dog sled": ("dogsled",),
    "combine harvester": ("harvester",), "oil rig": ("drilling platform",), "website": ("web site", "web page"),
    "book": ("book cover", "book jacket"), "drill": ("power drill",), "mortarboard": ("graduation cap",),
    "shipwreck": ("wreck",),
    "bridegroom": ("groom",),
    "hair clip": ("hair slide", "barrette"), "vault": ("vaulted ceiling",), "stage curtain": ("theater curtain",),
    "sofa bed": ("studio couch", "daybed"), "pan flute": ("panpipe",), "hockey puck": ("puck",),
    "toolkit": ("tool kit",), "chest of drawers": ("dresser", "chiffonier"), "baby bottle": ("nipple", "teat"),
    "guitar pick": ("plectrum",), "hand plane": ("woodworking plane",), "dish rack": ("plate rack",),
    "light switch": ("switch",), "slot machine": ("one-armed bandit",), "Granny Smith apple": ("green apple",),
    "lady's slipper orchid": ("lady's slipper",), "rose hip": ("rosehip",), "toilet paper": ("toilet roll",),
    "balaclava": ("ski mask",), "split-rail fence": ("worm fence", "rail fence"),
    "photocopier": ("copier",), "mushroom": ("toadstool", "fungus"),
}

# Lemmas that mislead as search words (another sense dominates, or nobody says it), for every tag ("*") or
# by tag word. Words in SYNONYMS_ADD are kept regardless.
SYNONYMS_DROP: dict[str, tuple[str, ...]] = {
    "*": (
        "animate being", "beast", "brute", "individual", "someone", "somebody", "mortal", "soul", "kine",
        "ophidian", "autobus", "charabanc", "motortruck", "cycle", "wheel", "nutrient", "solid food",
        "staff of life", "breadstuff", "drinkable", "potable", "java", "chou", "murphy", "works", "sweet",
        "afters", "raptorial bird", "mount", "span", "fencing", "house", "lid", "ticker", "computing machine",
        "computing device", "data processor", "arm", "weapon system", "mag", "vesture", "wear", "war paint",
        "mantle", "pant", "coney", "cony", "gnawer", "caprine animal", "hooter", "bird of Jove",
        "bird of Minerva", "bird of night", "anuran", "triton", "orchidaceous plant", "reptilian",
        "ballistic capsule", "lounge", "engine", "comfort", "puff", "grampus", "killer", "sea wolf",
        "devilfish", "painter", "catamount", "mini", "hack", "grand", "bob", "bullet", "ai", "hussar monkey",
        "ringtail", "bear cat", "cat bear", "coon bear", "red hot", "lolly", "lollipop", "skeeter hawk",
        "mosquito hawk", "snake doctor", "snake feeder", "sewing needle", "devil's darning needle",
        "darning needle", "pismire", "emmet", "hopper", "board", "press", "cell", "claw", "rubber", "mole",
        "bulwark", "groin", "groyne", "spot", "igniter", "ignitor", "head", "drop", "drop-off", "spike",
        "capitulum", "jak", "jack", "ananas", "cuke", "nursery", "tope", "paling", "footstall", "bars",
        "beam", "scope", "CRO", "hodometer", "trump", "tympan", "membranophone", "hautboy", "hautbois",
        "sweet potato", "syrinx", "pandean pipe", "carrier", "flattop", "blower", "wagon", "waggon",
        "aegis", "egis", "taper", "wax light", "bottle screw", "gas helmet", "island dispenser", "lip rouge",
        "pay-station", "sport car", "swob", "velocipede", "lavabo", "site", "beigel", "holothurian",
        "river horse", "tup", "cimarron", "mud puppy", "puff adder", "sand viper", "cerastes", "horned asp",
        "anemone", "platyhelminth", "polyplacophore", "sea cradle", "coat-of-mail shell", "crampfish",
        "numbfish", "torpedo", "man-eater", "man-eating shark", "marsh hen", "mud hen", "water hen",
        "mollymawk", "langouste", "sea crawfish", "dipper", "snowbird", "panther", "Biro", "steamer",
        "snake fence", "snake-rail fence", "cathode-ray oscilloscope", "dispenser", "bath", "chopper",
        "tank suit", "maillot tank suit", "maillot", "bola", "bolo", "Alaska crab", "Alaska king crab",
        "blue jack", "cohoe", "fitch", "foulmart", "foumart", "wood pussy", "snoek", "brush kangaroo",
        "kangaroo bear", "native bear", "king of beasts", "chetah", "ounce", "bruin", "mierkat",
        "Holocanthus tricolor", "grunter", "squealer", "sales outlet", "outlet", "mercantile establishment",
        "information processing system",
        "passenger vehicle", "jitney", "wearable", "habiliment", "pall", "batrachian", "salientian",
    ),
    "monitor": ("CRT screen",), "hand plane": ("plane",), "motorcycle": ("bike",), "red panda": ("panda",),
    "flowerpot": ("pot",), "lighter": ("light",), "cornet": ("horn", "trumpet"), "French horn": ("horn",),
    "train car": ("coach",), "spiny lobster": ("crawfish", "rock lobster"), "police van": ("black Maria",),
    "mouse": ("mouse",), "echidna": ("anteater",), "corn": ("ear",), "green snake": ("grass snake",),
}

# Parents that are not hypernyms in WordNet (or are, through a node that is not kept), by tag word.
PARENTS_ADD: dict[str, tuple[str, ...]] = {
    "dog": ("pet",), "cat": ("pet",), "hamster": ("pet",), "guinea pig": ("pet",), "goldfish": ("pet",),
    "Angora rabbit": ("pet",), "bighorn": ("sheep",), "tusker": ("elephant",), "cougar": ("big cat",),
    "mushroom": ("plant",),
    "rooster": ("chicken",), "hen": ("chicken",), "chicken": ("bird",), "bus": ("vehicle",),
    "train": ("vehicle",),
    # rooms and scenes
    "toilet": ("bathroom",), "bathtub": ("bathroom",), "shower curtain": ("bathroom",), "sink": ("bathroom",),
    "toilet paper": ("bathroom",), "soap dispenser": ("bathroom",), "medicine cabinet": ("bathroom",),
    "shower cap": ("bathroom",), "bath towel": ("bathroom",),
    "refrigerator": ("kitchen",), "microwave": ("kitchen",), "stove": ("kitchen",), "dishwasher": ("kitchen",),
    "toaster": ("kitchen",), "espresso machine": ("kitchen",), "waffle iron": ("kitchen",),
    "slow cooker": ("kitchen",), "Dutch oven": ("kitchen",), "frying pan": ("kitchen",), "wok": ("kitchen",),
    "dish rack": ("kitchen",), "dishcloth": ("kitchen",), "spatula": ("kitchen",), "mixing bowl": ("kitchen",),
    "strainer": ("kitchen",), "ladle": ("kitchen",), "rotisserie": ("kitchen",),
    "sandbar": ("beach",), "ski": ("snow",), "snowmobile": ("snow",), "snowplow": ("snow",),
    "dog sled": ("snow",), "bobsled": ("snow",), "bridegroom": ("wedding",),
    # things people name by what they belong to
    "airplane wing": ("airplane",), "military plane": ("airplane",),
    "train car": ("train",), "freight car": ("train",), "locomotive": ("train",),
    "car wheel": ("car",), "grille": ("car",), "car mirror": ("car",), "keyboard": ("computer",),
    "mouse": ("computer",), "monitor": ("computer",), "lampshade": ("lamp",), "pillow": ("cushion",),
    "quilt": ("bed",), "corn": ("vegetable",), "mashed potatoes": ("potato",), "plate": ("food",),
    "scuba diver": ("person",), "bell tower": ("tower",), "leotard": ("clothing",), "cloak": ("clothing",),
}

# Hypernyms that mislead, by tag word: the tag loses these parents (and what lies above them).
PARENTS_DROP: dict[str, tuple[str, ...]] = {
    "mushroom": ("vegetable",), "cup": ("drink",), "toilet": ("furniture",), "leotard": ("footwear",),
    "missile": ("vehicle",), "seat belt": ("clothing",), "slide rule": ("computer",), "menu": ("food",),
    "meatloaf": ("bread",), "hay": ("food",), "punching bag": ("ball",),
}

# Kinds: the nearest of these WordNet nodes above a tag decides its kind.
KIND_AT: dict[str, str] = {
    "00007846": "person", "00015388": "animal",
    "00017222": "plant", "12992868": "plant", "13086908": "plant",
    "00021265": "food", "07555863": "food", "07881800": "food", "07705931": "food", "07707451": "food",
    "04524313": "vehicle", "03125870": "vehicle", "04264914": "vehicle", "03100490": "vehicle",
    "03405725": "furniture", "02818832": "furniture",
    "03051540": "clothing", "03502509": "clothing", "03380867": "clothing", "03381126": "clothing",
    "02671780": "clothing", "03597469": "clothing", "03725035": "clothing", "03513137": "clothing",
    "03476083": "clothing", "03113152": "household",
    "03278248": "electronics", "03082979": "electronics", "04401088": "electronics", "02942699": "electronics",
    "03277771": "electronics", "03211117": "electronics", "03916720": "electronics", "03163973": "electronics",
    "03274561": "electronics", "04400289": "electronics", "03078287": "electronics",
    "02729837": "household", "03094503": "household", "04381994": "household", "03621049": "household",
    "04516672": "household", "03151077": "household", "03366823": "household", "04459362": "household",
    "02820210": "household", "03151500": "household", "04447443": "household", "03039947": "household",
    "03636248": "household", "04437953": "household",
    "04285146": "sports", "03414162": "sports", "02778669": "sports", "04285622": "sports", "04571292": "sports",
    "03800933": "instrument",
    "04341686": "structure", "02913152": "structure", "04105068": "structure",
    "09287968": "place", "09433442": "place", "03748162": "place", "03953020": "place",
}

# Kinds fixed by hand, by tag word (or by class name, before it is renamed).
KIND_FIX: dict[str, str] = {
    "mushroom": "plant", "corn": "food", "rapeseed": "plant", "acorn": "plant", "hay": "plant",
    "cup": "household", "plate": "food", "ski": "sports", "bobsled": "sports", "backpack": "clothing",
    "purse": "clothing", "wallet": "clothing", "sunglasses": "clothing", "umbrella": "clothing",
    "teddy bear": "household", "swing": "other", "toy": "other", "pillow": "household", "quilt": "household",
    "restaurant": "place", "cinema": "place", "library": "place", "home theater": "place", "patio": "place",
    "bakery": "place", "barbershop": "place", "prison": "structure", "planetarium": "structure",
    "website": "electronics", "iPod": "electronics", "television": "electronics", "monitor": "electronics",
    "remote control": "electronics", "hard disk": "electronics", "modem": "electronics",
    "loudspeaker": "electronics", "microphone": "electronics", "projector": "electronics",
    "tripod": "electronics", "lens cap": "electronics", "light switch": "household", "table lamp": "household",
    "lampshade": "household", "candle": "household", "vase": "household", "pitcher": "household",
    "hair dryer": "household", "iron": "household", "vacuum cleaner": "household", "sewing machine": "household",
    "washing machine": "household", "dishwasher": "household", "refrigerator": "household",
    "stove": "household", "space heater": "household", "electric fan": "household", "fan": "household",
    "bubble": "other", "stage": "structure", "dock": "structure", "pier": "structure",
    "parachute": "sports", "snorkel": "sports", "paddle": "sports", "punching bag": "sports",
    "racket": "sports", "golf cart": "vehicle", "crossword puzzle": "other", "dog sled": "vehicle",
    "shower curtain": "household", "window shade": "household", "window screen": "household",
    "mosquito net": "household", "sleeping bag": "other", "wooden spoon": "household", "spatula": "household",
    "bathroom": "place", "kitchen": "place", "lamp": "household", "puzzle": "other", "jigsaw puzzle": "other",
    "toilet": "household", "missile": "other", "seat belt": "other", "slide rule": "other", "menu": "other",
    "grille": "other", "bib": "clothing", "cloak": "clothing", "bell tower": "structure",
    "shopping cart": "other", "wheelbarrow": "other", "stretcher": "other", "dish rack": "household",
    "strainer": "household", "dishcloth": "household", "toilet paper": "household", "water tower": "structure",
    "parking meter": "other", "sundial": "other",
}


@dataclass
class Synset:
    lemmas: list[str]
    hypernyms: list[str]


@dataclass
class Tag:
    word: str
    kind: str
    wnids: list[str] = field(default_factory=list)  # WordNet offsets merged into this tag
    own_classes: set[int] = field(default_factory=set)
    synonyms: list[str] = field(default_factory=list)
    parents: set[int] = field(default_factory=set)
    classes: set[int] = field(default_factory=set)
    path: str = ""


def read_wordnet(folder: Path) -> tuple[dict[str, Synset], set[str], set[str]]:
    """Noun synsets by offset, genus names and one-word nouns (to spot Latin binomials: Canis familiaris)."""
    synsets: dict[str, Synset] = {}
    genera: set[str] = set()
    words: set[str] = set()
    with open(folder / "data.noun", encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            fields = line.partition(" | ")[0].split()
            count = int(fields[3], 16)
            lemmas = [fields[4 + 2 * i] for i in range(count)]
            at = 4 + 2 * count
            pointers = [fields[at + 1 + 4 * i : at + 5 + 4 * i] for i in range(int(fields[at]))]
            hypernyms = [offset for symbol, offset, pos, _ in pointers if symbol in ("@", "@i") and pos == "n"]
            synsets[fields[0]] = Synset(lemmas, hypernyms)
            genera.update(lemma.removeprefix("genus_") for lemma in lemmas if lemma.startswith("genus_"))
            words.update(lemma.casefold() for lemma in lemmas if "_" not in lemma)
    return synsets, genera, words


def read_imagenet_ids(path: Path) -> str:
    """The synset list's text, from a timm wheel or the file itself."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(SYNSETS_IN_WHEEL).decode()
    return path.read_text()


def debian_version(package: str) -> str | None:
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def default_synsets() -> Path | None:
    """An installed timm's synset list, else the newest timm wheel in /tmp/timm."""
    spec = importlib.util.find_spec("timm")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / SYNSETS_IN_WHEEL.removeprefix("timm/")
    wheels = sorted(Path("/tmp/timm").glob("timm-*.whl"))
    return wheels[-1] if wheels else None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_binomial(lemma: str, genera: set[str], nouns: set[str]) -> bool:
    """Canis_familiaris, Constrictor_constrictor, Lycaon_pictus (a genus, or no English word, then Latin)."""
    words = lemma.split("_")
    if len(words) < 2 or not words[0][:1].isupper() or not words[1][:1].islower():
        return False
    if words[0] in genera or words[1] == words[0].casefold():
        return True
    return len(words) == 2 and words[0].casefold() not in nouns and words[1] not in nouns


def build(wordnet: dict[str, Synset], genera: set[str], nouns: set[str], wnids: list[str],
          names: list[str]) -> list[Tag]:
    if len(wnids) != 1000 or len(names) != 1000:
        raise SystemExit(f"expected 1,000 synset ids and names, got {len(wnids)} and {len(names)}")
    offsets = [wnid.removeprefix("n") for wnid in wnids]
    missing = [wnid for wnid, offset in zip(wnids, offsets, strict=True) if offset not in wordnet]
    if missing:
        raise SystemExit(f"{len(missing)} ImageNet ids are not WordNet 3.0 nouns, e.g. {missing[0]}")
    unused = [name for name in CLASS_WORDS if name not in names]
    if unused:
        raise SystemExit(f"CLASS_WORDS names classes that do not exist: {unused}")

    def ancestors(offset: str) -> dict[str, int]:
        """Every hypernym above `offset` with its shortest distance."""
        depth, frontier = {offset: 0}, [offset]
        while frontier:
            nxt = []
            for node in frontier:
                for up in wordnet[node].hypernyms:
                    if up not in depth:
                        depth[up] = depth[node] + 1
                        nxt.append(up)
            frontier = nxt
        return depth

    def kind_of(offset: str, word: str, name: str | None = None) -> str:
        if word in KIND_FIX or (name and name in KIND_FIX):
            return KIND_FIX.get(word) or KIND_FIX[name]
        above = ancestors(offset)
        # nearest first; at equal distance the earlier kind in KINDS (wheeled vehicles are also containers)
        found = sorted((d, KINDS.index(KIND_AT[o])) for o, d in above.items() if o in KIND_AT)
        return KINDS[found[0][1]] if found else "other"

    # 1. Nodes (the classes and the kept hypernyms) grouped into tags by (word, kind).
    closure = set().union(*(ancestors(offset) for offset in offsets))
    unknown = [offset for offset in NODES if offset not in closure]
    if unknown:
        raise SystemExit(f"NODES lists offsets that are above no class: {unknown}")
    tags: list[Tag] = []
    by_key: dict[tuple[str, str], int] = {}
    tag_of_node: dict[str, int] = {}

    def add(offset: str | None, word: str, kind: str) -> int:
        index = by_key.setdefault((word, kind), len(tags))
        if index == len(tags):
            tags.append(Tag(word, kind))
        if offset is not None:
            tags[index].wnids.append(offset)
            tag_of_node[offset] = index
        return index

    for i, (offset, name) in enumerate(zip(offsets, names, strict=True)):
        word = CLASS_WORDS.get(name, name)
        tags[add(offset, word, kind_of(offset, word, name))].own_classes.add(i)
    for offset, word in NODES.items():
        add(offset, word, kind_of(offset, word))
    for word, kind in EXTRA_TAGS.items():
        add(None, word, kind)

    words: dict[str, list[int]] = defaultdict(list)
    for index, tag in enumerate(tags):
        words[tag.word].append(index)

    def resolve(word: str) -> int:
        """A tag by word, or by "word/kind" when several tags share the word."""
        word, _, kind = word.partition("/")
        found = [i for i in words.get(word, []) if not kind or tags[i].kind == kind]
        if len(found) != 1:
            raise SystemExit(f"hand table names {word!r}/{kind!r}, which matches {len(found)} tags")
        return found[0]

    def keys(table: dict[str, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
        return {resolve(key): value for key, value in table.items() if key != "*"}

    # 2. Parents: the nearest kept nodes above each node, plus the hand-made ones.
    dropped = {index: {resolve(w) for w in ws} for index, ws in keys(PARENTS_DROP).items()}
    for offset, index in tag_of_node.items():
        frontier = list(wordnet[offset].hypernyms)
        seen: set[str] = set()
        while frontier:
            up = frontier.pop()
            if up in seen:
                continue
            seen.add(up)
            if up in tag_of_node and tag_of_node[up] != index:
                if tag_of_node[up] not in dropped.get(index, ()):
                    tags[index].parents.add(tag_of_node[up])
            else:
                frontier.extend(wordnet[up].hypernyms)
    for index, parent_words in keys(PARENTS_ADD).items():
        tags[index].parents.update(resolve(w) for w in parent_words)

    # 3. Classes below each tag (each once), checking for cycles; then only the nearest parents.
    done: dict[int, set[int]] = {}

    def above(index: int, trail: tuple[int, ...] = ()) -> set[int]:
        if index in trail:
            raise SystemExit("parent cycle: " + " -> ".join(tags[i].word for i in (*trail, index)))
        if index not in done:
            done[index] = set(tags[index].parents)
            for parent in tags[index].parents:
                done[index] |= above(parent, (*trail, index))
        return done[index]

    for index, tag in enumerate(tags):
        tag.parents -= {a for parent in tag.parents for a in above(parent)}
        for a in above(index) | {index}:
            tags[a].classes |= tag.own_classes
    empty = [tag.word for tag in tags if not tag.classes]
    if empty:
        raise SystemExit(f"tags with no class below them: {empty}")

    # 4. Synonyms: WordNet lemmas and ImageNet names, minus binomials, stop words and other tags' words.
    added = keys(SYNONYMS_ADD)
    dropped_words = {w.casefold() for w in SYNONYMS_DROP["*"]}
    drop_by_tag = {index: {w.casefold() for w in ws} for index, ws in keys(SYNONYMS_DROP).items()}
    tag_words = {tag.word.casefold() for tag in tags}
    for index, tag in enumerate(tags):
        candidates = [lemma for offset in tag.wnids for lemma in wordnet[offset].lemmas
                      if not is_binomial(lemma, genera, nouns)]
        candidates = [c.replace("_", " ") for c in candidates] + [names[i] for i in sorted(tag.own_classes)]
        seen_words = {tag.word.casefold()}
        for synonym in [*added.get(index, ()), *candidates]:
            folded = synonym.casefold()
            explicit = synonym in added.get(index, ())
            if folded in seen_words or folded in STOP_WORDS or "|" in synonym:
                continue
            if not explicit and (folded in dropped_words or folded in drop_by_tag.get(index, ())
                                 or folded in tag_words):
                continue
            seen_words.add(folded)
            tag.synonyms.append(synonym)

    # 5. One path from a root: through WordNet's parents before hand-made ones, the same kind, the deepest.
    hand_made = {(i, p) for i, ps in keys(PARENTS_ADD).items() for p in map(resolve, ps)}
    paths: dict[int, str] = {}

    def path(index: int) -> str:
        if index not in paths:
            tag = tags[index]
            options = sorted(tag.parents, key=lambda p: ((index, p) in hand_made, tags[p].kind != tag.kind,
                                                         -path(p).count("|"), tags[p].word))
            paths[index] = f"{path(options[0])}|{tag.word}" if options else tag.word
        return paths[index]

    for index, tag in enumerate(tags):
        tag.path = path(index)

    bad = [t.word for t in tags if t.word.casefold() in STOP_WORDS or "|" in t.word]
    bad += [s for t in tags for s in t.synonyms if s.casefold() in STOP_WORDS]
    if bad:
        raise SystemExit(f"over-general or malformed words: {bad}")
    return tags


def to_json(tags: list[Tag], wnids: list[str], names: list[str], sources: dict) -> str:
    order = sorted(range(len(tags)), key=lambda i: (tags[i].path.casefold(), tags[i].kind))
    new_index = {old: new for new, old in enumerate(order)}
    class_tag = {c: new_index[i] for i, tag in enumerate(tags) for c in tag.own_classes}
    rows = [{"word": t.word, "synonyms": t.synonyms, "classes": sorted(t.classes),
             "parents": sorted(new_index[p] for p in t.parents), "path": t.path, "kind": t.kind,
             "wnids": ["n" + o for o in t.wnids]} for t in (tags[i] for i in order)]
    classes = [{"wnid": w, "name": n, "tag": class_tag[i]} for i, (w, n) in enumerate(zip(wnids, names, strict=True))]

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    out = io.StringIO()  # one class or tag per line: small, and diffs read well
    out.write(f'{{"format":{dumps(FORMAT)},\n"sources":{dumps(sources)},\n"kinds":{dumps(list(KINDS))},\n')
    out.write('"classes":[\n' + ",\n".join(map(dumps, classes)) + "],\n")
    out.write('"tags":[\n' + ",\n".join(map(dumps, rows)) + "]}\n")
    return out.getvalue()


def default_names() -> Path | None:
    spec = importlib.util.find_spec("torchvision")  # found, not imported: importing it takes seconds
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "_meta.py"


def read_names(path: Path) -> list[str]:
    """torchvision's _IMAGENET_CATEGORIES, read from its source file (a literal list) without running it."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == NAMES_VARIABLE for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise SystemExit(f"{path} has no {NAMES_VARIABLE}")


def generate(wordnet_dir: Path, synsets: Path, names_file: Path) -> str:
    """The map's JSON text, from the WordNet folder, the synset list (a timm wheel or the text file) and
    torchvision's models/_meta.py."""
    wordnet, genera, nouns = read_wordnet(wordnet_dir)
    synsets_text = read_imagenet_ids(synsets)
    wnids, names = synsets_text.split(), read_names(names_file)
    tags = build(wordnet, genera, nouns, wnids, names)
    sources = {
        "wordnet": {"version": "3.0", "path": str(wordnet_dir / "data.noun"),
                    "sha256": sha256_of((wordnet_dir / "data.noun").read_bytes()),
                    "debian_package": f"wordnet-base {debian_version('wordnet-base') or 'unknown'}"},
        "synsets": {"path": f"{synsets.name}:{SYNSETS_IN_WHEEL}" if zipfile.is_zipfile(synsets) else str(synsets),
                    "sha256": sha256_of(synsets_text.encode())},
        "names": {"path": f"torchvision/models/_meta.py:{NAMES_VARIABLE}",
                  "torchvision": _version_of("torchvision"), "sha256": sha256_of(names_file.read_bytes())},
        "built_by": "train/tag_map.py",
    }
    return to_json(tags, wnids, names, sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet 3.0 dict folder (data.noun)")
    parser.add_argument("--synsets", type=Path, default=default_synsets(),
                        help=f"a timm wheel, or its {SYNSETS_IN_WHEEL} (default: /tmp/timm/timm-*.whl)")
    parser.add_argument("--names", type=Path, default=default_names(),
                        help="torchvision's models/_meta.py, which lists the class names (default: the installed)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.synsets is None or not args.synsets.exists():
        parser.error("no ImageNet synset list: run `pip download timm --no-deps -d /tmp/timm` or pass --synsets")
    if not (args.wordnet / "data.noun").is_file():
        parser.error(f"no WordNet in {args.wordnet}: run `apt-get install -y wordnet-base` or pass --wordnet")
    if args.names is None or not args.names.is_file():
        parser.error("no class names: install torchvision or pass --names .../torchvision/models/_meta.py")
    text = generate(args.wordnet, args.synsets, args.names)
    args.out.write_text(text, encoding="utf-8")
    tags = text.count('{"word":')
    print(f"{args.out}: {tags} tags, {len(text.encode()) / 1024:.0f} KB")


if __name__ == "__main__":
    main()

"""The words people use for the 80 COCO objects the detector finds (photocap.model.detector), as tags.

Each COCO label becomes a tag word of the tag vocabulary (photocap.model.tag_vocabulary): the ImageNet tag
map's own word where it has one ("tv" -> television, "handbag" -> purse), with that tag's place in the
hierarchy; otherwise a word, its synonyms, its place in the hierarchy and its kind written here (giraffe,
cake, surfboard, fire hydrant ... which no ImageNet class names). "man", "woman" and "child" are not the
detector's to say: a person is a person.
"""

from __future__ import annotations

from dataclasses import dataclass

# The detector's 80 labels, in its class-index order (COCO's 1..90 ids without the 10 unused ones).
COCO_LABELS = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)


@dataclass(frozen=True)
class ObjectWord:
    word: str  # the tag: what show, search and exports call it
    path: str  # from a root down to the word, "|"-separated, as the tag map's paths
    kind: str  # one of the tag map's kinds
    synonyms: tuple[str, ...] = ()


# Labels whose tag the ImageNet tag map already has, under another word or spelled otherwise. Looked up in
# the map (its path, kind and synonyms); a label not here and not in NEW_WORDS is looked up as it is.
MAP_WORDS = {
    "tv": "television", "handbag": "purse", "skis": "ski", "tennis racket": "racket", "remote": "remote control",
    "hair drier": "hair dryer",
    "sports ball": "ball",
}

# Labels the tag map does not know, or knows as something else (its "kite" is the bird).
NEW_WORDS = {
    "fire hydrant": ObjectWord("fire hydrant", "fire hydrant", "structure", ("hydrant",)),
    "stop sign": ObjectWord("stop sign", "sign|stop sign", "structure"),
    "giraffe": ObjectWord("giraffe", "animal|giraffe", "animal"),
    "suitcase": ObjectWord("suitcase", "bag|suitcase", "household", ("luggage",)),
    "frisbee": ObjectWord("frisbee", "toy|frisbee", "sports", ("flying disc",)),
    "snowboard": ObjectWord("snowboard", "snow|snowboard", "sports"),
    "kite": ObjectWord("kite", "toy|kite", "sports"),
    "baseball bat": ObjectWord("baseball bat", "baseball|baseball bat", "sports", ("bat",)),
    "baseball glove": ObjectWord("baseball glove", "baseball|baseball glove", "sports", ("mitt",)),
    "skateboard": ObjectWord("skateboard", "skateboard", "sports"),
    "surfboard": ObjectWord("surfboard", "surfboard", "sports", ("surf board",)),
    "wine glass": ObjectWord("wine glass", "glass|wine glass", "household"),
    "fork": ObjectWord("fork", "cutlery|fork", "household"),
    "carrot": ObjectWord("carrot", "food|vegetable|carrot", "food"),
    "donut": ObjectWord("donut", "food|donut", "food", ("doughnut",)),
    "cake": ObjectWord("cake", "food|cake", "food", ("birthday cake",)),
    "potted plant": ObjectWord("potted plant", "plant|potted plant", "plant", ("houseplant", "plant")),
    "scissors": ObjectWord("scissors", "tool|scissors", "household"),
    "toothbrush": ObjectWord("toothbrush", "bathroom|toothbrush", "household"),
}

# Words people type for a tag that the tag map's synonyms (WordNet's) and the entries above lack: the same thing,
# spelled otherwise ("motorbike", "tooth brush"). Narrower words are not here ("pigeon", "foal", "yacht"): a
# detected bird is not surely a pigeon. Keyed by the tag word (photocap.model.tag_vocabulary.vocabulary).
MORE_SYNONYMS = {
    "motorcycle": ("motorbike", "motor bike"),
    "airplane": ("air plane",),
    "traffic light": ("stop light",),
    "fire hydrant": ("fire plug", "fireplug"),
    "wine glass": ("wineglass",),
    "teddy bear": ("teddybear",),
    "toothbrush": ("tooth brush",),
    "skateboard": ("skate board",),
    "snowboard": ("snow board",),
    "suitcase": ("suit case", "baggage"),
    "purse": ("hand bag",),
    "dog": ("pup", "doggy", "doggie"),
    "cell phone": ("smart phone",),
    "television": ("telly", "tv set"),
    "hair dryer": ("blowdryer",),
    "couch": ("settee",),
    "scissors": ("scissor",),
    "potted plant": ("house plant", "pot plant"),
}

"""Tags from the ImageNet head: the shipped class-to-word map, and the tagger on real photos."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from photocap.media.decode import decode_photo
from photocap.model.tag_vocabulary import TAG_MIN_PROBABILITY, default_map_path, read_tag_map, singular_forms
from photocap.model.tags import Tagger, TaggerUnavailable

REPO = Path(__file__).resolve().parent.parent
COCO = REPO.parent / "shared" / "data" / "coco-dev"

# Never a tag or a synonym: words too general to help anyone find a photo.
OVER_GENERAL = {
    "entity", "physical entity", "object", "whole", "unit", "artifact", "artefact", "instrumentality",
    "organism", "living thing", "causal agent", "matter", "substance", "abstraction", "thing", "device",
    "container", "covering", "commodity", "equipment", "implement", "structure", "machine", "vertebrate",
    "chordate", "placental", "invertebrate", "material", "article",
}

# coco-dev photos whose five captions name a thing ImageNet-1k has a class for (it has none for giraffes).
PHOTOS = {
    "000000121647.jpg": "pizza", "000000281789.jpg": "zebra", "000000054718.jpg": "elephant",
    "000000252639.jpg": "bus", "000000187334.jpg": "sheep", "000000516008.jpg": "laptop",
    "000000089232.jpg": "toilet",
}


@pytest.fixture(scope="module")
def tag_map():
    return read_tag_map(default_map_path())


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def words_of_class(tag_map, name: str) -> set[str]:
    """Every tag word (and synonym) a class contributes to: its own tag and every tag above it."""
    index = tag_map.class_names.index(name)
    return {w for entry in tag_map.entries if index in entry.classes for w in (entry.word, *entry.synonyms)}


@pytest.mark.parametrize(("name", "expected"), [
    ("golden retriever", {"golden retriever", "retriever", "dog", "pet", "animal"}),
    ("cheeseburger", {"cheeseburger", "burger", "hamburger", "sandwich", "food"}),
    ("airliner", {"airliner", "airplane", "plane", "aircraft", "vehicle"}),
    ("ram", {"ram", "sheep", "animal"}),
    ("toilet seat", {"toilet", "toilet seat", "bathroom"}),
    ("tabby", {"tabby cat", "cat", "kitten", "pet"}),
    ("pizza", {"pizza", "food"}),
    ("laptop", {"laptop", "computer"}),
    ("notebook", {"laptop", "computer"}),
    ("teddy", {"teddy bear", "toy"}),
    ("ski", {"ski", "snow"}),
    ("hotdog", {"hot dog", "sandwich", "food"}),
    ("ox", {"cow", "cattle", "animal"}),
    ("sunglass", {"sunglasses"}),
    ("screen", {"monitor", "screen", "computer"}),
])
def test_classes_get_the_words_people_search_with(tag_map, name, expected):
    assert expected <= words_of_class(tag_map, name)


def test_odd_lemmas_are_not_tags(tag_map):
    words = {w.casefold() for entry in tag_map.entries for w in (entry.word, *entry.synonyms)}
    assert not {"canis familiaris", "tinca tinca", "lycaon pictus"} & words  # Latin binomials
    assert "plane" not in words_of_class(tag_map, "plane")  # the carpenter's plane is not an aeroplane
    assert "airplane" not in words_of_class(tag_map, "plane")


def test_no_over_general_words(tag_map):
    from train.tag_map import STOP_WORDS

    for entry in tag_map.entries:
        for word in (entry.word, *entry.synonyms):
            assert word.casefold() not in OVER_GENERAL | STOP_WORDS, f"{word!r} (tag {entry.word!r})"


def test_every_class_has_its_own_tag(tag_map):
    assert len(tag_map.class_names) == 1000
    for index, tag in enumerate(tag_map.class_tags):
        assert index in tag_map.entries[tag].classes
    assert set().union(*(entry.classes for entry in tag_map.entries)) == set(range(1000))


def test_hierarchy_paths_and_kinds(tag_map):
    entries = tag_map.entries
    for entry in entries:
        assert len(set(entry.classes)) == len(entry.classes)
        assert entry.kind in tag_map.kinds
        for parent in entry.parents:  # a parent's probability is the sum over a superset of classes
            assert set(entry.classes) < set(entries[parent].classes) or entries[parent].classes == entry.classes
        steps = entry.path.split("|")
        assert steps[-1] == entry.word
        root = [e for e in entries if e.word == steps[0] and not e.parents]
        assert root, f"{entry.path} does not start at a root"
        for above, below in zip(steps, steps[1:], strict=False):  # each step is a parent of the next
            assert any(entries[p].word == above for e in entries if e.word == below for p in e.parents), entry.path
    golden = next(e for e in entries if e.word == "golden retriever")
    assert golden.path == "animal|dog|retriever|golden retriever"
    cranes = {e.kind for e in entries if e.word == "crane"}
    assert cranes == {"animal", "other"}  # the bird and the machine stay apart


def test_map_is_small():
    assert default_map_path().stat().st_size < 400_000


def test_map_is_what_its_build_script_makes():
    from train.tag_map import WORDNET, default_names, default_synsets, generate

    synsets, names = default_synsets(), default_names()
    if not (WORDNET / "data.noun").is_file() or synsets is None or names is None:
        pytest.skip("build inputs absent (apt-get install wordnet-base; pip download timm --no-deps -d /tmp/timm)")
    built = json.loads(generate(WORDNET, synsets, names))
    shipped = json.loads(default_map_path().read_text())
    assert {k: v for k, v in built.items() if k != "sources"} == {k: v for k, v in shipped.items() if k != "sources"}


def test_lookups(tagger):
    assert {"airplane", "plane", "aeroplane"} <= set(tagger.map.synonyms("plane"))
    assert tagger.map.kind("Dogs") == "animal"
    assert tagger.map.kind("pizzas") == "food"
    assert tagger.map.kind("laptop") == "electronics"
    assert tagger.map.kind("crane") is None  # a bird or a machine
    assert tagger.map.path("golden retriever") == "animal|dog|retriever|golden retriever"
    assert tagger.map.synonyms("glasses")[0] == "sunglasses"  # not two drinking glasses
    assert tagger.map.synonyms("no such thing") == [] and tagger.map.kind("no such thing") is None
    assert singular_forms("ponies")[:2] == ["ponies", "pony"] and "man" in singular_forms("men")
    assert re.fullmatch(r"imagenet-lite0@[0-9a-f]{12}/map@[0-9a-f]{12}/p0\.01x40", tagger.tagger_id)


def test_weights_without_a_head_are_refused(tmp_path):
    weights = tmp_path / "resnet.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, weights)
    with pytest.raises(TaggerUnavailable, match="no EfficientNet classifier head"):
        Tagger.load(weights=weights)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(TaggerUnavailable, match="cannot read"):
        Tagger.load(weights=tmp_path / "junk.pth")


@pytest.fixture(scope="module")
def coco_photos():
    if not COCO.is_dir():
        pytest.skip(f"coco-dev photos not found at {COCO}")
    captions: dict[int, list[str]] = {}
    document = json.loads((COCO / "captions.json").read_text())
    for annotation in document["annotations"]:
        captions.setdefault(annotation["image_id"], []).append(annotation["caption"].lower())
    by_name = {image["file_name"]: captions[image["id"]] for image in document["images"]}
    pixels = np.stack([decode_photo(COCO / "images" / name).pixels for name in PHOTOS])
    return pixels, [by_name[name] for name in PHOTOS]


@pytest.fixture(scope="module")
def encoded(coco_photos):
    """The encoder, the photos as float images, and their pooled features as Captioner.encode(...).mean(1)."""
    from photocap.model.encoder import load_encoder

    with contextlib.redirect_stdout(io.StringIO()):
        encoder = load_encoder("efficientnet_lite0")
    images = torch.from_numpy(coco_photos[0]).permute(0, 3, 1, 2).float().div(255)
    return encoder, images, encoder.grid(images).mean(dim=1)


def test_head_on_the_pooled_grid_is_the_full_network(tagger, encoded):
    encoder, images, pooled = encoded
    net = copy.deepcopy(encoder.trunk.net)  # the EfficientNet whose _fc the encoder replaced with Identity
    state = torch.load(encoder.weights_path, map_location="cpu", weights_only=True)
    net._fc = torch.nn.Linear(1280, 1000)
    net._fc.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
    with torch.inference_mode():  # the network's own path: features, pool, dropout (off in eval), fc
        full = net.eval()(encoder.normalize(images)).softmax(dim=1)
    torch.testing.assert_close(tagger.class_probabilities(pooled), full, atol=1e-5, rtol=1e-4)


def test_tagger_names_what_the_photo_shows(tagger, coco_photos, encoded):
    pooled = encoded[2]
    for (name, word), captions, tags in zip(PHOTOS.items(), coco_photos[1], tagger.tags(pooled), strict=True):
        assert sum(word in caption for caption in captions) >= 3, f"{name}: captions do not say {word}"
        assert word in [tag.word for tag in tags], f"{name}: {word} not in {tags}"
        probabilities = [tag.probability for tag in tags]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(p >= TAG_MIN_PROBABILITY for p in probabilities)
    assert all(len(tags) <= 3 for tags in tagger.tags(pooled, limit=3))


def test_probabilities_sum_up_the_hierarchy(tagger, encoded):
    features = torch.cat([encoded[2], torch.randn(8, 1280).abs()])  # real photos and arbitrary features
    classes = tagger.class_probabilities(features)
    tags = tagger.tag_probabilities(features)
    entries = tagger.map.entries
    for column, entry in enumerate(entries):
        torch.testing.assert_close(tags[:, column], classes[:, list(entry.classes)].sum(dim=1).clamp(max=1))
        for parent in entry.parents:
            assert (tags[:, parent] >= tags[:, column] - 1e-6).all(), f"{entries[parent].word} < {entry.word}"
    dog = tagger.words.index("dog")
    breeds = [i for i, e in enumerate(entries) if "|dog|" in e.path]
    assert (tags[:, dog : dog + 1] >= tags[:, breeds] - 1e-6).all()


def test_the_shipped_compound_names_are_the_vocabularys():
    from photocap.model.tag_vocabulary import vocabulary
    from photocap.search.compounds import COMPOUND_NAMES_PATH, VOCABULARY_LINE, read_compound_names
    from train.compound_names import compound_lines

    assert COMPOUND_NAMES_PATH.read_text(encoding="utf-8") == "".join(compound_lines()), \
        "run `python -m train.compound_names` and commit the file"
    first_line = COMPOUND_NAMES_PATH.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"{VOCABULARY_LINE}{vocabulary().sha256}"  # another vocabulary outdates an index
    shipped = read_compound_names()
    whole = {name for name, found in shipped.items() if found.whole}
    assert {"hot dog", "teddy bear", "sea lion", "guinea pig", "traffic light"} <= whole
    assert {"dining table", "polar bear", "wine glass", "golden retriever"} <= set(shipped) - whole
    assert shipped["teddy bear"].term == "teddi_bear" and "garbage can" not in shipped  # "can": a stop word


def test_more_synonyms_name_their_tag_and_may_not_make_a_word_ambiguous():
    from photocap.model.tag_vocabulary import TagMapError, vocabulary, with_more_synonyms

    words = vocabulary()
    assert [entry.word for entry in words.lookup("motorbikes")] == ["motorcycle"]
    assert "pup" in words.synonyms("dog") and words.lookup("scissor")[0].word == "scissors"
    with pytest.raises(TagMapError, match="puppy already known"):
        with_more_synonyms(words.entries, {"cat": ("puppy",)})
    with pytest.raises(TagMapError, match="unicorn no tag"):
        with_more_synonyms(words.entries, {"unicorn": ("horned horse",)})

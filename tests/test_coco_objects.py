"""The COCO object finder behind the everyday-photos benchmark, and its CHAIR arithmetic, on hand-written text."""

from __future__ import annotations

import pytest

from benchmarks.coco_objects import SYNONYMS, mentions_in, objects_in, objects_in_any, objects_named_by_at_least
from benchmarks.everyday import chair_and_recall, object_queries


def test_the_80_coco_categories_are_listed() -> None:
    assert len(SYNONYMS) == 80
    assert {"person", "dining table", "hot dog", "teddy bear", "hair drier", "cell phone"} <= set(SYNONYMS)


def test_a_man_riding_a_horse() -> None:
    assert objects_in("A man riding a horse.") == {"person", "horse"}


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("a man eating a hot dog", {"person", "hot dog"}),
        ("two hot dogs on a plate", {"hot dog"}),
        ("a dog and a hotdog", {"dog", "hot dog"}),
        ("a teddy bear on a bed", {"teddy bear", "bed"}),
        ("a brown bear in the river", {"bear"}),
        ("a player swings a baseball bat", {"person", "baseball bat"}),
        ("a cat sleeping on a toilet seat", {"cat", "toilet"}),
        ("a baby elephant next to its mother", {"elephant"}),
        ("a baby in a high chair", {"person", "chair"}),
        ("a train on the train tracks", {"train"}),
        ("a dog walking along train tracks", {"dog"}),
        ("a skier going down a ski slope", {"person"}),
        ("a man holding a cell phone", {"person", "cell phone"}),
        ("people at a table with a laptop", {"person", "dining table", "laptop"}),
        ("a fire hydrant near a stop sign", {"fire hydrant", "stop sign"}),
        ("a computer mouse and a keyboard", {"mouse", "keyboard"}),
        ("a microwave oven above a stove", {"microwave", "oven"}),
    ],
)
def test_longest_phrase_wins(caption: str, expected: set[str]) -> None:
    assert objects_in(caption) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("three giraffes and two zebras", {"giraffe", "zebra"}),
        ("children and their puppies", {"person", "dog"}),
        ("men and women on buses", {"person", "bus"}),
        ("knives, forks and spoons", {"knife", "fork", "spoon"}),
        ("a pair of scissors", {"scissors"}),
        ("several sheep and some cows", {"sheep", "cow"}),
        ("a box of donuts", {"donut"}),
    ],
)
def test_plurals(caption: str, expected: set[str]) -> None:
    assert objects_in(caption) == expected


@pytest.mark.parametrize("word", ["people", "person", "woman", "boy", "girl", "kids", "surfer", "skier", "crowd"])
def test_words_for_people_mean_person(word: str) -> None:
    assert objects_in(f"the {word} in the park") == {"person"}


def test_case_punctuation_and_possessives_do_not_matter() -> None:
    assert objects_in("A DOG, a Cat; and the child's UMBRELLA!") == {"dog", "cat", "person", "umbrella"}


def test_orange_the_colour_is_not_the_fruit() -> None:
    assert objects_in("an orange cat on an orange and white couch") == {"cat", "couch"}
    assert objects_in("an orange sitting on a table") == {"orange", "dining table"}
    assert objects_in("apples and oranges") == {"apple", "orange"}


def test_baby_adult_and_mother_are_animals_in_captions_of_animals() -> None:
    assert objects_in("an adult and a baby zebra on the savannah") == {"zebra"}
    assert objects_in("a mother elephant and her baby") == {"elephant"}
    assert objects_in("a baby in a high chair") == {"person", "chair"}
    assert objects_in("a woman holding a baby next to a dog") == {"person", "dog"}


def test_words_that_name_no_object() -> None:
    assert objects_in("a beach at sunset with waves") == set()
    assert mentions_in("") == []


def test_mentions_count_each_category_once_in_order() -> None:
    assert mentions_in("a man and a woman sit with a dog and another man") == ["person", "dog"]
    assert mentions_in("a dog chases a cat; the dog wins") == ["dog", "cat"]


def test_objects_named_by_references() -> None:
    references = ["a dog on a couch", "a puppy asleep on a sofa", "a dog and a remote", "a small animal"]
    assert objects_in_any(references) == {"dog", "couch", "remote"}
    assert objects_named_by_at_least(references, 2) == {"dog", "couch"}


def test_chair_arithmetic_on_a_hand_made_case() -> None:
    captions = [
        "a dog on a couch",  # dog and couch there: nothing invented
        "a man with a dog and a frisbee",  # person there, dog there, frisbee invented
        "a cat on a bed",  # cat and bed both invented
        "a sunny day",  # names nothing
    ]
    references = [
        ["a dog on a sofa", "a puppy on a couch"],
        ["a man throws a ball", "a man and his dog", "a man with a dog"],  # no frisbee
        ["a plate of food", "a meal on a plate"],
        ["a kite in the sky", "a kite flying"],
    ]
    figures = chair_and_recall(captions, references, ["a", "b", "c", "d"])
    # CHAIR_s: captions b and c invent something, over all 4 captions.
    assert figures.figures["CHAIR_s"] == pytest.approx(50.0)
    # Judged photos only: c's references name no COCO object, so only b counts.
    assert figures.figures["CHAIR_s_judged"] == pytest.approx(25.0)
    # CHAIR_i: mentions a: dog, couch; b: person, dog, frisbee; c: cat, bed -> 3 invented of 7.
    assert figures.figures["CHAIR_i"] == pytest.approx(100 * 3 / 7)
    # Recall: objects named by >= 2 references: a {dog, couch}, b {person, dog}, d {kite} -> 4 of 5 named.
    assert figures.figures["object_recall"] == pytest.approx(100 * 4 / 5)
    assert [(h.photo, h.invented) for h in figures.hallucinations] == [("b", ["frisbee"]), ("c", ["cat", "bed"])]


def test_object_queries_leave_out_person_and_use_everyday_words() -> None:
    references = {
        1: ["a man at a dining table", "people at a table", "a table with pizza"],
        2: ["a cell phone on a table", "a phone and a laptop", "a laptop"],
    }
    assert object_queries(references) == {"table": {1}, "phone": {2}, "laptop": {2}}

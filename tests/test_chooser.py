"""The caption chooser on hand-built cases, with the shipped tag map and everyday-word counts: a tag that
contradicts a beam word, people on a photo that has none, a photo the tagger is sure of."""

from __future__ import annotations

from photocap.model.chooser import CaptionChooser, ChosenCaption, Evidence, Guidance

CHOOSER = CaptionChooser()
SHEEP = Evidence({"animal": 0.95, "sheep": 0.91, "ram": 0.9}, person=0.6)
ZEBRA = Evidence({"animal": 0.98, "zebra": 0.96}, person=0.09)
DOGS = Evidence({"animal": 0.97, "pet": 0.95, "dog": 0.94}, person=0.4)


def test_a_caption_the_tags_support_is_kept() -> None:
    verdict = CHOOSER.judge([("two dogs are playing in the snow", -2.1)], DOGS)
    assert verdict == ChosenCaption("two dogs are playing in the snow", 0.94, "beam")  # its weakest evidence
    with_people = CHOOSER.judge([("a man throws a ball to his dog", -2.3)], DOGS)
    assert with_people == ChosenCaption("a man throws a ball to his dog", 0.4, "beam")  # people are less sure


def test_an_object_the_tags_contradict_is_forbidden_then_replaced() -> None:
    candidates = [("a dog is running through the grass", -2.0), ("a brown dog runs", -2.4)]
    verdict = CHOOSER.judge(candidates, SHEEP)
    assert isinstance(verdict, Guidance) and "dog" in verdict.forbid and verdict.boost["sheep"] == 0.91
    words = ["<pad>", "dog", "dogs", "puppy", "sheep", "man", "grass"]
    assert CHOOSER.guidance_weights(verdict, words) == {1: float("-inf"), 2: float("-inf"), 3: float("-inf"),
                                                        4: 2.0 * 0.91}
    # The guided search still says dog: the dog becomes the sheep the tags are sure of.
    settled = CHOOSER.settle(candidates, [("a white dog in a field", -3.0)], SHEEP)
    assert settled == ChosenCaption("a white sheep in a field", 0.91, "replaced")  # the guided caption first


def test_people_on_a_photo_without_them_are_refused_and_a_guided_caption_kept() -> None:
    verdict = CHOOSER.judge([("a man in a blue shirt is standing in front of a dog", -2.5)], ZEBRA)
    assert isinstance(verdict, Guidance) and {"person", "dog"} <= verdict.forbid
    assert CHOOSER.guidance_weights(verdict, ["young", "man", "grass"])[0] == float("-inf")  # nor describe them
    settled = CHOOSER.settle([], [("a group of young asian young asian", -4.0),  # stutters: refused
                                  ("a black and white animal standing in the grass", -3.1)], ZEBRA)
    assert settled == ChosenCaption("a black and white zebra standing in the grass", 0.96, "guided")


def test_with_nothing_true_to_say_the_tags_describe_the_photo() -> None:
    settled = CHOOSER.settle([("a man is sitting on a bench", -2.0)], [("a woman is sitting on a bench", -2.2)],
                             Evidence({"bathroom": 0.92, "toilet": 0.62, "household": 0.7}, person=0.11))
    assert settled == ChosenCaption("a toilet in a bathroom", 0.62, "tags")

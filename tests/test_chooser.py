"""The caption chooser on hand-built cases, with the shipped tag map and everyday-word counts: a tag that
contradicts a beam word, people on a photo that has none, a photo the tagger is sure of."""

from __future__ import annotations

from photocap.model.chooser import CaptionChooser, ChosenCaption, Evidence, Guidance, with_detections

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
                                  ("two small black and white are playing", -3.0),  # a verb without its noun
                                  ("a black and white animal standing in the grass", -3.1)], ZEBRA)
    assert settled == ChosenCaption("a black and white zebra standing in the grass", 0.96, "guided")
    # Naming nothing, it would be kept on a photo the tags are unsure of; "a photo" is true, if not much use.
    unsure = Evidence({"animal": 0.2}, person=0.5)
    assert CHOOSER.settle([], [("a group of people are jumping in the air", -3.0)], unsure).method == "guided"
    nonsense = CHOOSER.settle([], [("a group of a small are jumping in the air", -3.0)], unsure)
    assert nonsense == ChosenCaption("a photo", 0.0, "nothing sure")
    for subject_lost in ("a jeans is playing in a game of water", "a group of food are sitting in a room"):
        assert CHOOSER.settle([], [(subject_lost, -3.0)], unsure).method == "nothing sure"
    assert CHOOSER.settle([], [("a group of friends are sitting in a room", -3.0)], unsure).method == "guided"


def test_with_nothing_true_to_say_the_tags_describe_the_photo() -> None:
    settled = CHOOSER.settle([("a man is sitting on a bench", -2.0)], [("a woman is sitting on a bench", -2.2)],
                             Evidence({"bathroom": 0.92, "toilet": 0.62, "household": 0.7}, person=0.11))
    assert settled == ChosenCaption("a toilet in a bathroom", 0.62, "tags")


PANDA = Evidence({"animal": 0.91, "panda": 0.68, "pet": 0.09, "dog": 0.06}, person=0.2)


def test_an_object_far_less_likely_than_a_sure_one_of_its_kind_is_refused() -> None:
    # 0.06 is above the absent threshold, but a tenth of the panda the tagger is sure of.
    verdict = CHOOSER.judge([("a brown dog is playing with a stick", -2.0)], PANDA)
    assert isinstance(verdict, Guidance) and "dog" in verdict.forbid
    settled = CHOOSER.settle([("a brown dog is playing with a stick", -2.0)],
                             [("a brown dog is walking in the grass", -2.6)], PANDA)
    assert settled == ChosenCaption("a brown panda is walking in the grass", 0.68, "replaced")


def test_a_caption_naming_none_of_the_sure_objects_is_not_kept() -> None:
    elephants = Evidence({"animal": 0.94, "elephant": 0.9}, person=0.37)  # people are possible, not sure
    candidates = [("two men are sitting on a rock", -2.2)]
    assert isinstance(CHOOSER.judge(candidates, elephants), Guidance)
    # The guided search cannot say elephant either (not in a Flickr8k vocabulary): the tags describe it.
    settled = CHOOSER.settle(candidates, [("a man is standing on a rock", -2.5)], elephants)
    assert settled == ChosenCaption("an elephant", 0.9, "tags")
    # A vaguer word for the sure object is enough.
    assert CHOOSER.judge([("a large animal is standing in the water", -2.0)], elephants).method == "beam"


def test_when_nothing_can_be_said_surely_the_caption_says_so() -> None:
    unsure = Evidence({"furniture": 0.27, "bathroom": 0.29, "table": 0.17}, person=0.17)
    settled = CHOOSER.settle([("a man is sitting on a bench with a white dog", -2.0)],
                             [("a black cat is sitting on a table", -2.4)], unsure)
    assert settled == ChosenCaption("a photo", 0.0, "nothing sure")


def test_descriptions_use_no_article_for_mass_nouns() -> None:
    settled = CHOOSER.settle([("a man is eating", -2.0)], [("a dog is eating", -2.4)],
                             Evidence({"food": 0.65, "dessert": 0.18}, person=0.2))
    assert settled == ChosenCaption("food", 0.65, "tags")


def test_short_words_said_twice_are_not_a_stutter() -> None:
    caption = "a little boy in a blue shirt is sitting in a chair"  # "in a" twice: a sentence, not a stutter
    settled = CHOOSER.settle([], [(caption, -2.0)], Evidence({"furniture": 0.34, "chair": 0.31}, person=0.38))
    assert settled.text == caption and settled.method == "guided"


# ---------------------------------------------------------------------------------------- with a detector

def detected(evidence: Evidence, found: list[tuple[str, float]], area: float = 0.2) -> Evidence:
    return with_detections(evidence, [(word, score, area) for word, score in found], CHOOSER.vocabulary,
                           CHOOSER.settings)


def test_a_detected_giraffe_overrules_the_taggers_dog() -> None:
    # The ImageNet head has no giraffe: it calls the photo a brown dog. The detector finds two giraffes.
    evidence = detected(Evidence({"animal": 0.9, "dog": 0.55, "pet": 0.5}, person=0.1),
                        [("giraffe", 0.86), ("giraffe", 0.71)])
    assert evidence.tags["giraffe"] == 0.86 and evidence.counts == {"giraffe": 2}
    candidates = [("a brown dog is walking on a dirt path", -2.2)]
    verdict = CHOOSER.judge(candidates, evidence)
    assert isinstance(verdict, Guidance) and "dog" in verdict.forbid and "giraffe" in verdict.boost
    settled = CHOOSER.settle(candidates, [("a brown dog runs on the dirt", -3.1)], evidence)
    assert "dog" not in settled.text and "giraffe" in settled.text
    # With nothing to replace from, the short caption counts what the detector counted.
    assert CHOOSER.describe(evidence) == ChosenCaption("two giraffes", 0.86, "tags")


def test_people_the_detector_does_not_find_are_not_said() -> None:
    # Two planes, a sky: the tagger's co-occurrence guess gives people a chance; the detector finds none.
    evidence = detected(Evidence({"vehicle": 0.9, "airliner": 0.8, "airplane": 0.85}, person=0.4),
                        [("airplane", 0.82), ("airplane", 0.64)])
    assert evidence.person < CHOOSER.settings.person_absent_below
    settled = CHOOSER.settle([("a man is standing on a mountain", -2.0)],
                             [("a man in a red jacket stands on a hill", -2.9)], evidence)
    assert settled == ChosenCaption("two airplanes", 0.82, "tags")


def test_people_the_detector_finds_are_said_and_a_sure_object_must_be_named() -> None:
    # A man holding a pizza, captioned "a man is holding a baby": people are there, but the pizza is not named.
    evidence = detected(Evidence({"food": 0.6, "pizza": 0.3}, person=0.3), [("person", 0.93), ("pizza", 0.88)])
    assert evidence.person == 0.93
    verdict = CHOOSER.judge([("a man is holding a baby", -1.9)], evidence)
    assert isinstance(verdict, Guidance) and "person" not in verdict.forbid and verdict.boost["pizza"] == 0.88
    kept = CHOOSER.judge([("a man is holding a pizza", -2.4)], evidence)
    assert kept == ChosenCaption("a man is holding a pizza", 0.88, "beam")
    assert CHOOSER.describe(detected(Evidence({}, person=0.2), [("person", 0.9), ("person", 0.8),
                                                                 ("dog", 0.7)])) == ChosenCaption(
        "two people with a dog", 0.7, "tags")


def test_without_a_detector_objects_the_imagenet_head_cannot_see_are_not_judged() -> None:
    # A surfboard is judged only where a detector looked; the tagger alone cannot vouch for or deny one.
    caption = "a man rides a surfboard on a wave"
    assert [m.tag for m in CHOOSER.mentions(caption)] == ["person"]
    assert [m.tag for m in CHOOSER.mentions(caption, detected=True)] == ["person", "surfboard"]


def test_a_caption_cut_short_is_not_kept() -> None:
    # A beam that ran out of steps, and a describer caption with a pronoun for a verb: the next candidate is taken.
    kept = CHOOSER.judge([("two dogs are playing with a", -1.9), ("two dogs are playing in the snow", -2.0)], DOGS)
    assert kept == ChosenCaption("two dogs are playing in the snow", 0.94, "beam")
    assert isinstance(CHOOSER.judge([("a brown dog is running through a", -1.9)], DOGS), Guidance)
    settled = CHOOSER.settle([], [("a dog and a man wearing a red", -3.0), ("a dog and a man on a beach", -3.1)], DOGS)
    assert settled.text == "a dog and a man on a beach"
    assert CHOOSER.accept([("a person they sitting down with a dog", -1.0)], DOGS, "grounded") is None
    # Unsure clothes dropped ("wearing a pink hat") would leave "a man is": another candidate is kept instead.
    unsure_hat = Evidence(DOGS.tags, person=0.9, words={"hat": 0.01, "pink": 0.01})
    kept = CHOOSER.judge([("a man is wearing a pink hat", -1.0), ("a man is walking his dog", -1.2)], unsure_hat)
    assert kept.text == "a man is walking his dog"
    # The decoders' "a woman and a woman" is kept as two women; two dogs that differ stay two.
    people = Evidence({}, person=0.9)
    assert CHOOSER.judge([("a woman and a woman are posing for a picture", -1.0)], people).text == (
        "two women are posing for a picture")
    two_dogs = "a black dog and a dog are playing"
    assert CHOOSER.judge([(two_dogs, -1.0)], DOGS).text == two_dogs
    # Nor is a sentence that dropping an unsure colour garbles: "a blue jeans is ..." would be kept as "a jeans is".
    unsure_blue = Evidence({"animal": 0.2}, person=0.5, words={"blue": 0.01})
    assert CHOOSER.settle([], [("a blue jeans is playing in a game of water", -3.0)], unsure_blue).method == (
        "nothing sure")


def test_people_counted_are_not_counted_again_as_the_photos_object() -> None:
    evidence = detected(Evidence({}, person=0.2), [("person", 0.9), ("person", 0.8)])
    assert CHOOSER.describe(evidence).text == "two people"

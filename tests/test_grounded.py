"""The grounded describer: the object input it reads, a decoder that attends to objects (a tiny one, for the
masking rules), objects read from captions for training, the chooser's use of its captions, and the shipped
describer naming a giraffe, which the Flickr8k decoder has no word for."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from photocap.model.chooser import CaptionChooser, ChosenCaption, Evidence, with_detections
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.detector import Detection
from photocap.model.object_input import CLASS_IDS, COUNT_CAP, NUM_CLASS_IDS, object_input, objects_of
from train.text_objects import counts_in, objects_said

REPO = Path(__file__).resolve().parents[1]
CHOOSER = CaptionChooser()


def found(*items: tuple[str, float]) -> list[Detection]:
    return [Detection(label, score, (0.1, 0.1, 0.6, 0.6)) for label, score in items]


def test_the_object_input_counts_each_category_from_its_threshold_best_first() -> None:
    detections = found(("dog", 0.5), ("person", 0.9), ("dog", 0.35), ("dog", 0.2), ("cat", 0.25),
                       *[("person", 0.8)] * 6)
    assert objects_of(detections) == [("person", COUNT_CAP), ("dog", 2)]  # cat and the third dog are too weak
    tensors = object_input([objects_of(detections), []])
    assert tensors.classes.tolist() == [[CLASS_IDS["person"], CLASS_IDS["dog"]], [0, 0]]
    assert tensors.counts.tolist() == [[COUNT_CAP, 2], [0, 0]]


def tiny_decoder(object_projection: bool = False) -> CaptionDecoder:
    torch.manual_seed(0)
    return CaptionDecoder(DecoderConfig(vocab_size=12, feature_dim=8, embed_dim=16, hidden_dim=16, attention_dim=16,
                                        context_dim=16, dropout=0.0, num_object_classes=NUM_CLASS_IDS,
                                        object_projection=object_projection)).eval()


@pytest.mark.parametrize("object_projection", [False, True], ids=["relu-cells", "projected-cells"])
@torch.no_grad()
def test_without_its_photo_a_grounded_decoder_reads_only_the_objects(object_projection: bool) -> None:
    decoder = tiny_decoder(object_projection)
    objects = object_input([[("giraffe", 2)]])
    absent = torch.tensor([False])
    tokens = torch.tensor([1])
    first = decoder.step(tokens, decoder.init_state(torch.randn(1, 49, 8), objects, absent))
    second = decoder.step(tokens, decoder.init_state(torch.randn(1, 49, 8), objects, absent))
    torch.testing.assert_close(first[0], second[0])  # another grid, the same words
    assert first[2][0, :49].sum() == 0 and first[2][0, 49:].sum() == pytest.approx(1.0)
    other = decoder.step(tokens, decoder.init_state(torch.randn(1, 49, 8), object_input([[("dog", 1)]]), absent))
    assert not torch.allclose(first[0], other[0])  # other objects, other words
    padded = object_input([[("giraffe", 2)], [("dog", 1), ("cat", 1), ("person", 3)]]).select(torch.tensor([0]))
    assert padded.classes.shape[1] == 3  # the padding of a wider batch changes nothing
    torch.testing.assert_close(decoder.step(tokens, decoder.init_state(torch.zeros(1, 1, 8), padded, absent))[0],
                               first[0])


def test_objects_read_from_captions_are_counted_as_the_captions_say() -> None:
    assert counts_in("a group of people standing next to a bus") == {"person": 4, "bus": 1}
    assert counts_in("three dogs and a cat on a couch") == {"dog": 3, "cat": 1, "couch": 1}
    assert counts_in("giraffes eating leaves from a tree") == {"giraffe": 2}
    said = objects_said(["two giraffes standing by a tree", "a pair of giraffes in a zoo",
                         "giraffes eating leaves", "a giraffe next to a man"])
    assert said == [("giraffe", 2), ("person", 1)]  # most often named first; the median count


GIRAFFES = with_detections(Evidence({"animal": 0.9, "dog": 0.55, "pet": 0.5}, person=0.1),
                           [("giraffe", 0.86, 0.2), ("giraffe", 0.71, 0.1)], CHOOSER.vocabulary)


def test_a_grounded_caption_naming_what_was_found_is_kept_and_one_inventing_is_not() -> None:
    assert CHOOSER.accept([("a brown dog standing in a field", -1.0), ("two giraffes standing in a field", -1.2)],
                          GIRAFFES, "grounded") == ChosenCaption("two giraffes standing in a field", 0.86, "grounded")
    assert CHOOSER.accept([("a man standing next to two giraffes", -1.0)], GIRAFFES, "grounded") is None


COCO_DEV = Path(os.environ.get("PHOTOCAP_COCO_DEV") or REPO.parent / "shared" / "data" / "coco-dev")
GIRAFFE_PHOTO = COCO_DEV / "images" / "000000163497.jpg"  # "a giraffe outside near a forested area ..."


@pytest.mark.skipif(not GIRAFFE_PHOTO.is_file(), reason=f"coco-dev photo not found at {GIRAFFE_PHOTO}")
def test_the_describer_names_a_giraffe_the_flickr8k_decoder_has_no_word_for() -> None:
    from photocap.model.captioner import Captioner, shipped_models
    from photocap.model.checkpoint import load_checkpoint

    flickr8k = load_checkpoint(shipped_models()["efficientnet_lite0"]).vocab
    assert flickr8k.id_of("giraffe") == flickr8k.unk_id
    captioner = Captioner.load(device="cpu", detector_size=384)  # the default decoder, whose words include COCO's
    assert captioner.describer is not None
    caption = captioner.caption_files([GIRAFFE_PHOTO])[0]
    assert not isinstance(caption, Exception)
    assert "giraffe" in caption.text and caption.method == "grounded", caption
    assert "+describer@" in captioner.model_id


def test_a_colour_or_garment_the_likely_words_do_not_support_is_dropped() -> None:
    windsurfer = Evidence({}, person=0.9, words={"man": 0.8, "water": 0.6, "shirt": 0.1, "blue": 0.35})
    kept = CHOOSER.judge([("a man in a blue shirt is standing in the water", -1.0)], windsurfer)
    assert kept == ChosenCaption("a man is standing in the water", 0.9, "beam")  # the unsure shirt goes with its colour
    dogs = Evidence({"dog": 0.9, "animal": 0.95}, person=0.1, words={"dog": 0.9, "black": 0.6, "white": 0.1})
    assert CHOOSER.judge([("a black and white dog runs on the grass", -1.0)], dogs).text == "a dog runs on the grass"
    sure = Evidence({"dog": 0.9, "animal": 0.95}, person=0.1, words={"dog": 0.9, "black": 0.6})
    assert CHOOSER.judge([("a black dog runs", -1.0)], sure).text == "a black dog runs"
    elephant = Evidence({"elephant": 0.9, "animal": 0.95}, person=0.0, words={})
    assert CHOOSER.judge([("a brown elephant walks", -1.0)], elephant).text == "an elephant walks"  # its article too


def test_the_describer_backs_off_to_the_objects_it_knows_and_never_says_two_of_three() -> None:
    from photocap.model.describer import Describer

    describer = Describer({"giraffe:2": ["two giraffes"], "giraffe:4": ["a herd of giraffes"],
                           "kite:1|person:1": ["a person flying a kite"],
                           "person:1": ["a person that is surfing in the water"]}, "0" * 64)
    assert describer.candidates(found(("giraffe", 0.9), ("giraffe", 0.8), ("giraffe", 0.7))) == ["a herd of giraffes"]
    assert describer.candidates(found(("giraffe", 0.9), ("giraffe", 0.8))) == ["two giraffes"]
    # The least sure object goes first; a weak detection is not built on at all.
    assert describer.candidates(found(("person", 0.9), ("kite", 0.5), ("dog", 0.45), ("cat", 0.3))) == [
        "a person flying a kite"]
    assert describer.candidates(found(("zebra", 0.9))) == []
    # Of two objects found about as surely, the one filling the photo is the subject, not the distant one.
    apron = Describer({"airplane:1": ["an airplane at the gate"], "truck:1": ["a truck in the street"]}, "0" * 64)
    airliner, truck = Detection("airplane", 0.44, (0.2, 0.2, 0.8, 0.5)), Detection("truck", 0.45, (0.1, 0.8, 0.2, 0.9))
    assert apron.candidates([truck, airliner]) == ["an airplane at the gate"]
    assert apron.candidates([truck, replace(airliner, box=(0.5, 0.5, 0.52, 0.52))]) == ["a truck in the street"]
    # People alone: such captions only guess what they are doing, so there are none, nor by backing off to them.
    assert describer.candidates(found(("person", 0.9))) == []
    assert describer.candidates(found(("person", 0.9), ("zebra", 0.5))) == []

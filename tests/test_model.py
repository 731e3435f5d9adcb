"""The shipped captioner: both encoders build from installed weights, and the default model's quality floor
on Flickr8k validation photos (a check that fails if the model or its preprocessing breaks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from photocap.model.captioner import DEFAULT_MODEL, Captioner, shipped_models
from photocap.model.checkpoint import CheckpointError
from photocap.model.encoder import EncoderUnavailable, load_encoder
from train.data import load_split
from train.metrics import caption_scores


@pytest.mark.parametrize(("name", "channels"), [("efficientnet_lite0", 1280), ("resnet50", 2048)])
def test_encoders_build_from_installed_weights_and_give_a_7x7_grid(name: str, channels: int) -> None:
    encoder = load_encoder(name)
    assert len(encoder.weights_sha256) == 64 and encoder.weights_path.is_file()
    grid = encoder.grid(torch.rand(2, 3, 224, 224))
    assert grid.shape == (2, 49, channels) and torch.isfinite(grid).all()
    assert not any(p.requires_grad for p in encoder.trunk.parameters())


def test_an_encoder_without_weights_says_where_to_put_them() -> None:
    with pytest.raises(EncoderUnavailable, match="--encoder-weights"):
        load_encoder("resnet152")
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder("vgg16")


def test_the_default_model_ships_and_a_mismatched_encoder_is_refused(tmp_path: Path) -> None:
    assert DEFAULT_MODEL in shipped_models()
    other_weights = tmp_path / "other.pth"
    installed = load_encoder("efficientnet_lite0").weights_path
    torch.save(torch.load(installed, weights_only=True), other_weights)  # the same tensors in another file
    with pytest.raises(CheckpointError, match="was trained on efficientnet_lite0 weights"):
        Captioner.load(device="cpu", encoder_weights=other_weights)


def test_the_default_model_reaches_the_quality_floor_on_100_validation_photos(flickr_dir: Path) -> None:
    photos = [p for p in load_split(flickr_dir) if p.split == "val"][:100]
    captioner = Captioner.load(device="cpu")
    captions = captioner.caption_files([flickr_dir / "Images" / p.filename for p in photos], beam_size=3)
    predictions = {p.filename: c.text for p, c in zip(photos, captions, strict=True)}
    scores = caption_scores(predictions, {p.filename: list(p.raw) for p in photos})
    assert scores["BLEU-4"] >= 12, scores
    assert len(set(predictions.values())) >= 40  # not collapsed onto a few stock captions


def test_both_shipped_models_caption_a_photo_through_the_cli(flickr_dir: Path, tmp_home: Path) -> None:
    from click.testing import CliRunner

    from photocap.cli import main

    photo = flickr_dir / "Images" / "2654514044_a70a6e2c21.jpg"  # a brown dog running
    captions = {}
    for model in ("efficientnet_lite0", "resnet50"):
        run = CliRunner().invoke(main, ["caption", str(photo), "--model", model, "--json"])
        assert run.exit_code == 0, run.output
        captions[model] = json.loads(run.stdout)["caption"]
    assert all(len(text.split()) >= 3 for text in captions.values()), captions
    assert "dog" in captions["efficientnet_lite0"]

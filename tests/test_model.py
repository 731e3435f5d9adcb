"""The shipped captioner: both encoders build from installed weights, and the default model's quality floor
on Flickr8k validation photos (a check that fails if the model or its preprocessing breaks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from photocap.model.captioner import DEFAULT_MODEL, Captioner, shipped_models
from photocap.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from photocap.model.encoder import EncoderUnavailable, load_encoder, split_trunk
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


def test_a_resnet_trunk_splits_below_layer4_into_parts_that_compose_to_the_whole() -> None:
    encoder = load_encoder("resnet50")
    bottom, top = split_trunk(encoder, "layer4")
    images = encoder.normalize(torch.rand(2, 3, 224, 224))
    with torch.inference_mode():
        below = bottom(images)
        assert below.shape == (2, 1024, 14, 14)
        torch.testing.assert_close(top(below), encoder.trunk(images))
    assert [name for name, _ in top.named_children()] == ["layer4"]
    with pytest.raises(ValueError, match="no stage 'layer9'"):
        split_trunk(encoder, "layer9")


def test_fine_tuning_trains_layer4_weights_but_keeps_its_batchnorm_statistics() -> None:
    from train.finetune import grid_of
    from train.fit import train_mode

    top = split_trunk(load_encoder("resnet50"), "layer4")[1].requires_grad_(True)
    before = {k: v.clone() for k, v in top.state_dict().items()}
    train_mode(top)
    optimizer = torch.optim.SGD(top.parameters(), lr=0.1)
    grid = grid_of(top, torch.rand(4, 1024, 14, 14).half())
    assert grid.shape == (4, 49, 2048)
    grid.pow(2).mean().backward()
    optimizer.step()
    after = top.state_dict()
    assert not torch.equal(after["layer4.0.conv1.weight"], before["layer4.0.conv1.weight"])
    for key in (k for k in before if "running_" in k):
        assert torch.equal(after[key], before[key]), key


def test_a_checkpoint_with_a_tuned_layer4_runs_its_own_weights_and_refuses_ones_that_do_not_fit(
        tmp_path: Path) -> None:
    shipped = load_checkpoint(shipped_models()["resnet50"])
    installed = load_encoder("resnet50").trunk.state_dict()
    key = "layer4.2.conv3.weight"
    shipped.encoder_tuned = {key: installed[key] * 0.5, "layer4.2.bn3.bias": installed["layer4.2.bn3.bias"] + 1}
    save_checkpoint(shipped, tmp_path / "tuned.pt")
    captioner = Captioner.load(tmp_path / "tuned.pt", device="cpu")
    running = captioner.encoder.trunk.state_dict()
    torch.testing.assert_close(running[key], installed[key] * 0.5, atol=1e-3, rtol=1e-3)  # stored as fp16
    torch.testing.assert_close(running["layer4.2.bn3.bias"], installed["layer4.2.bn3.bias"] + 1, atol=1e-2, rtol=1e-3)
    torch.testing.assert_close(running["layer4.1.conv3.weight"], installed["layer4.1.conv3.weight"])  # untouched
    assert not any(p.requires_grad for p in captioner.encoder.trunk.parameters())

    shipped.encoder_tuned = {key: torch.zeros(3, 3)}
    save_checkpoint(shipped, tmp_path / "misfit.pt")
    with pytest.raises(CheckpointError, match="1 tuned weights do not fit encoder resnet50.*layer4.2.conv3.weight"):
        Captioner.load(tmp_path / "misfit.pt", device="cpu")


def test_the_default_model_reaches_the_quality_floor_on_100_validation_photos(flickr_dir: Path) -> None:
    photos = [p for p in load_split(flickr_dir) if p.split == "val"][:100]
    captioner = Captioner.load(device="cpu")
    captions = captioner.caption_files([flickr_dir / "Images" / p.filename for p in photos], beam_size=3)
    predictions = {p.filename: c.text for p, c in zip(photos, captions, strict=True)}
    scores = caption_scores(predictions, {p.filename: list(p.raw) for p in photos})
    assert scores["BLEU-4"] >= 12, scores
    assert len(set(predictions.values())) >= 40  # not collapsed onto a few stock captions


def test_every_shipped_model_captions_a_photo_through_the_cli(flickr_dir: Path, tmp_home: Path) -> None:
    from click.testing import CliRunner

    from photocap.cli import main

    photo = flickr_dir / "Images" / "2654514044_a70a6e2c21.jpg"  # a brown dog running
    captions = {}
    for model in ("grounded_lite0", "efficientnet_lite0", "resnet50"):
        run = CliRunner().invoke(main, ["caption", str(photo), "--model", model, "--json"])
        assert run.exit_code == 0, run.output
        captions[model] = json.loads(run.stdout)["caption"]
    assert all(len(text.split()) >= 3 for text in captions.values()), captions
    assert "dog" in captions["efficientnet_lite0"] and "dog" in captions["grounded_lite0"]


def test_encoder_weights_reach_the_model_from_option_environment_and_config(
        tmp_path: Path, tmp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner
    from PIL import Image

    from photocap.cli import main

    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (64, 48), (30, 120, 200)).save(photo)
    installed = load_encoder("resnet50").weights_path
    other = tmp_path / "weights" / "other.pth"
    other.parent.mkdir()
    torch.save(torch.load(installed, map_location="cpu", weights_only=True), other)  # same tensors, other file
    config = tmp_path / "weights" / "photocap.toml"
    config.write_text('encoder_weights = "other.pth"\n')  # relative to the config file's folder

    def caption(*options: str, before: tuple[str, ...] = (), env: dict[str, str] | None = None):
        # Without the detector: on a plain blue image it rightly finds nothing and the caption is "a photo".
        arguments = [*before, "caption", str(photo), "--model", "resnet50", "--no-detect", *options]
        return CliRunner().invoke(main, arguments, env=env)

    assert caption().exit_code == 0
    given_installed = caption("--encoder-weights", str(installed), "--json")
    assert given_installed.exit_code == 0, given_installed.output
    assert len(json.loads(given_installed.stdout)["caption"].split()) >= 3
    refused = [
        caption("--encoder-weights", str(other)),
        caption(env={"PHOTOCAP_ENCODER_WEIGHTS": str(other)}),
        caption(before=("--config", str(config))),
    ]
    for run in refused:
        assert run.exit_code == 2, run.output
        assert "was trained on resnet50 weights" in run.output and str(other) in run.output
        assert len(run.output.strip().splitlines()) == 1
    missing = caption("--encoder-weights", str(tmp_path / "absent.pth"))
    assert missing.exit_code == 2 and "no such file" in missing.output and "absent.pth" in missing.output

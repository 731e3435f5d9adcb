"""Checkpoint round trip and the clear errors for missing, corrupt and mismatched files."""

import pytest
import torch

from photocap.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.object_input import NUM_CLASS_IDS, object_input
from photocap.model.vocab import Vocabulary


def tiny_checkpoint() -> Checkpoint:
    torch.manual_seed(0)
    vocab = Vocabulary.build([["a", "dog", "on", "grass"]] * 5)
    config = DecoderConfig(len(vocab), feature_dim=8, embed_dim=8, hidden_dim=8, attention_dim=8, context_dim=8,
                           dropout=0.0, num_concepts=2)
    return Checkpoint(CaptionDecoder(config).eval(), vocab, "efficientnet_lite0", "ab" * 32, ["dog", "grass"],
                      {"test": {"BLEU-4": 1.0}}, {"seed": 1}, name="tiny")


def test_round_trip_keeps_weights_vocab_and_metadata(tmp_path):
    original = tiny_checkpoint()
    save_checkpoint(original, tmp_path / "tiny.pt")
    loaded = load_checkpoint(tmp_path / "tiny.pt")
    assert loaded.vocab == original.vocab
    assert (loaded.encoder_name, loaded.encoder_sha256) == ("efficientnet_lite0", "ab" * 32)
    assert loaded.concepts == ["dog", "grass"] and loaded.metrics == {"test": {"BLEU-4": 1.0}}
    assert loaded.model_id.startswith("tiny@") and len(loaded.sha256) == 64
    grid = torch.randn(2, 49, 8)
    with torch.no_grad():
        before = original.decoder.init_state(grid).hidden
        after = loaded.decoder.init_state(grid).hidden
    torch.testing.assert_close(after, before, atol=2e-3, rtol=1e-2)  # stored as fp16
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind


def test_a_grounded_decoder_with_projected_object_cells_round_trips_and_an_older_one_still_loads(tmp_path):
    vocab = Vocabulary.build([["two", "giraffes", "in", "a", "field"]] * 5)
    small = {"feature_dim": 8, "embed_dim": 8, "hidden_dim": 8, "attention_dim": 8, "context_dim": 8, "dropout": 0.0,
             "num_object_classes": NUM_CLASS_IDS}
    grid, objects = torch.randn(1, 49, 8), object_input([[("giraffe", 2)]])
    for projected in (True, False):
        torch.manual_seed(0)
        decoder = CaptionDecoder(DecoderConfig(len(vocab), **small, object_projection=projected)).eval()
        save_checkpoint(Checkpoint(decoder, vocab, "efficientnet_lite0", "ab" * 32, [], {}, {}, name="g"),
                        tmp_path / "g.pt")
        payload = torch.load(tmp_path / "g.pt", weights_only=True)
        assert any(k.startswith("object_project.") for k in payload["weights"]) == projected
        if not projected:  # as written before the field existed
            del payload["config"]["object_projection"]
            torch.save(payload, tmp_path / "g.pt")
        loaded = load_checkpoint(tmp_path / "g.pt").decoder
        assert loaded.config.object_projection == projected
        with torch.no_grad():
            after, before = (d.init_state(grid, objects).hidden for d in (loaded, decoder))
        torch.testing.assert_close(after, before, atol=2e-3, rtol=1e-2)


def test_stored_weights_are_fp16_and_load_without_pickled_code(tmp_path):
    save_checkpoint(tiny_checkpoint(), tmp_path / "tiny.pt")
    payload = torch.load(tmp_path / "tiny.pt", weights_only=True)
    assert all(v.dtype == torch.float16 for v in payload["weights"].values() if v.is_floating_point())
    assert isinstance(payload["vocab"], list)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_corrupt_file(tmp_path):
    save_checkpoint(tiny_checkpoint(), tmp_path / "tiny.pt")
    data = (tmp_path / "tiny.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("not a checkpoint")
    for name in ("cut.pt", "text.pt"):
        with pytest.raises(CheckpointError, match="corrupt"):
            load_checkpoint(tmp_path / name)


def test_not_a_photocap_checkpoint(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a photocap.captioner/1 checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_weights_that_do_not_fit_the_config(tmp_path):
    save_checkpoint(tiny_checkpoint(), tmp_path / "tiny.pt")
    payload = torch.load(tmp_path / "tiny.pt", weights_only=True)
    payload["config"]["hidden_dim"] = 16
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path / "mismatch.pt")
    payload = torch.load(tmp_path / "tiny.pt", weights_only=True)
    payload["vocab"] = payload["vocab"][:-1]
    torch.save(payload, tmp_path / "short_vocab.pt")
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_checkpoint(tmp_path / "short_vocab.pt")

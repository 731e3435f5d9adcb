"""Training plumbing: a killed run resumes exactly where its last finished epoch left it, and the model
comparison counts BLEU-4 as the evaluation does."""

from __future__ import annotations

import random
from pathlib import Path

import torch

from train.fit import Progress, resume_progress, save_progress


def test_progress_round_trip_restores_weights_optimizer_random_state_and_history(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    rng = random.Random(7)
    rng.random()
    history = [{"epoch": 1, "val_BLEU-4": 12.5}]
    save_progress(tmp_path / "last.pt", {"decoder": model}, optimizer, Progress(12.5, 0, 1, history), rng)
    expected_python, expected_torch = rng.random(), torch.rand(1)

    fresh = torch.nn.Linear(4, 2)
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=1e-3)
    fresh_rng = random.Random(99)
    progress = resume_progress(tmp_path / "last.pt", {"decoder": fresh}, fresh_optimizer, fresh_rng)
    assert progress == Progress(12.5, 0, 1, history)
    torch.testing.assert_close(fresh.weight, model.weight)
    assert fresh_optimizer.state_dict()["state"][0]["step"] == 1
    assert fresh_rng.random() == expected_python
    assert torch.equal(torch.rand(1), expected_torch)
    assert not (tmp_path / "last.tmp").exists()


def test_nothing_to_resume_from(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters())
    assert resume_progress(tmp_path / "last.pt", {"decoder": model}, optimizer, random.Random(0)) is None


def test_the_bootstrap_comparison_counts_bleu4_as_pycocoevalcap_does(flickr_dir: Path) -> None:
    from train.compare import bleu_statistics, corpus_bleu4
    from train.data import load_split
    from train.metrics import caption_scores

    photos = [p for p in load_split(flickr_dir) if p.split == "val"][:200]
    # Each photo's first human caption, scored against the other four; a few cut short to bring in the brevity penalty.
    predictions = {p.filename: " ".join(p.raw[0].split()[: 4 if i % 3 == 0 else None]) for i, p in enumerate(photos)}
    references = {p.filename: list(p.raw[1:]) for p in photos}
    expected = caption_scores(predictions, references)["BLEU-4"]
    ours = corpus_bleu4([bleu_statistics(predictions[k], references[k]) for k in sorted(predictions)])
    assert abs(ours - expected) < 1e-6, (ours, expected)


def test_the_describer_trains_on_a_tiny_slice_and_writes_a_checkpoint_photocap_loads(
        flickr_dir: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from photocap.model.checkpoint import load_checkpoint

    out, cache = tmp_path / "run", tmp_path / "cache"
    subprocess.run([sys.executable, "-m", "train.grounded", "--out", str(out), "--cache", str(cache),
                    "--data", str(flickr_dir), "--with-photos", "false", "--train-photos", "32", "--text-images", "60",
                    "--text-val-images", "20", "--val-photos", "8", "--epochs", "1"],
                   check=True, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    history = json.loads((out / "history.json").read_text())
    assert [epoch["epoch"] for epoch in history] == [1] and history[0]["text_val_loss"] > 0
    describer = load_checkpoint(out / "best.pt")
    assert describer.decoder.grounded and describer.name == "describer"
    from photocap.model.captioner import resolve_model

    flickr_words = set(load_checkpoint(resolve_model("efficientnet_lite0")).vocab.words)
    assert set(describer.vocab.words) - flickr_words  # everyday words from the COCO captions

    # Epochs are averaged as the shipped grounded decoder was (train.average): the mean of a checkpoint and
    # itself is that checkpoint, renamed, with the record of what was averaged.
    subprocess.run([sys.executable, "-m", "train.average", str(out / "epoch1.pt"), str(out / "best.pt"),
                    "--name", "averaged", "--out", str(out / "average.pt")],
                   check=True, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    average = load_checkpoint(out / "average.pt")
    assert average.name == "averaged" and average.training["averaged"] == ["epoch1.pt", "best.pt"]
    for key, value in describer.decoder.state_dict().items():
        assert torch.equal(average.decoder.state_dict()[key], value), key

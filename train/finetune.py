"""Fine-tune the top stage of a ResNet encoder (layer4) together with a trained decoder, with the caption loss.

    python -m train.features --encoder resnet50 --below layer4     # once: what enters layer4, 3.2 GB
    python -m train.finetune --init runs/resnet50/best.pt --out runs/resnet50-layer4

Starts from a decoder trained on the frozen encoder (train.fit's best.pt) and trains layer4 (its BatchNorm
statistics stay frozen) and the decoder together on the cached layer3 outputs, so the stages below layer4
never run. Validation, early stopping, learning-rate decay and resuming (OUT/last.pt) work as in train.fit;
epoch 0 is the starting model, so OUT/best.pt is only written by an epoch that beats it. Model settings
(sizes, dropout, vocabulary) come from --init; the options below are the fine-tuning ones. --encoder-lr 0
keeps the stage frozen: the control that tells what tuning adds over training the decoder for longer.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from photocap.model.checkpoint import Checkpoint, load_checkpoint
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.encoder import apply_tuned_weights, load_encoder, split_trunk
from train.data import Photo, data_dir, load_split
from train.features import cache_dir
from train.fit import (
    Progress,
    Settings,
    TrainingRun,
    load_cache,
    parse_settings,
    resume_progress,
    start_run,
    train_epochs,
    train_mode,
    validate,
)


@dataclass
class TuneSettings(Settings):
    FROM_INIT: ClassVar[frozenset[str]] = frozenset({  # the model's own settings, taken from --init
        "encoder", "min_count", "embed_dim", "hidden_dim", "attention_dim", "context_dim", "dropout"})
    init: str = "runs/resnet50/best.pt"
    out: str = "runs/resnet50-layer4"
    stage: str = "layer4"  # this stage and those above it are trained
    encoder_weights: str | None = None
    encoder_lr: float = 1e-4
    lr: float = 1e-4  # the decoder's
    epochs: int = 10
    patience: int = 3


def load_stage_inputs(encoder: str, weights_sha256: str, stage: str, cache: Path,
                      photos: list[Photo]) -> torch.Tensor:
    inputs, meta = load_cache(encoder, cache, photos, below=stage)
    if meta["weights_sha256"] != weights_sha256:
        raise SystemExit(f"cache {cache_dir(encoder, cache, stage)} was made with other {encoder} weights; delete it "
                         f"and run python -m train.features --encoder {encoder} --below {stage}")
    return inputs  # fp16 (N, C, H, W)


def grid_of(top: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The decoder's (B, cells, C) grid from (B, C', H, W) stage inputs."""
    return top(inputs.float()).flatten(2).transpose(1, 2)


@torch.no_grad()
def encode_rows(top: nn.Module, inputs: torch.Tensor, rows: list[int], batch_size: int = 100) -> torch.Tensor:
    was_training = top.training
    top.eval()
    grid = torch.cat([grid_of(top, inputs[rows[i : i + batch_size]]) for i in range(0, len(rows), batch_size)])
    if was_training:
        train_mode(top)
    return grid


def pooled_tuned_features(checkpoint: Checkpoint, cache: Path, photos: list[Photo],
                          encoder_weights: Path | None = None) -> torch.Tensor:
    """(photos, C): every photo's mean grid feature through a fine-tuned checkpoint's encoder, from the cache."""
    stage = checkpoint.training["fine_tune"]["stage"]
    encoder = load_encoder(checkpoint.encoder_name, encoder_weights)
    apply_tuned_weights(encoder, checkpoint.encoder_tuned)
    top = split_trunk(encoder, stage)[1]
    inputs = load_stage_inputs(checkpoint.encoder_name, checkpoint.encoder_sha256, stage, cache, photos)
    rows = [p.index for p in photos]
    return torch.cat([encode_rows(top, inputs, rows[i : i + 500]).mean(dim=1) for i in range(0, len(rows), 500)])


def without_word_head(decoder: CaptionDecoder) -> CaptionDecoder:
    """The word-presence head reads the encoder's output, so it is refitted (train.concepts) after tuning."""
    config = DecoderConfig(**{**decoder.config.to_dict(), "num_concepts": 0})
    plain = CaptionDecoder(config)
    plain.load_state_dict({k: v for k, v in decoder.state_dict().items() if not k.startswith("concepts.")})
    return plain


def fine_tune(s: TuneSettings) -> Path:
    rng, out = start_run(s)
    base = load_checkpoint(Path(s.init))
    encoder = load_encoder(base.encoder_name, Path(s.encoder_weights) if s.encoder_weights else None)
    if encoder.weights_sha256 != base.encoder_sha256:
        raise SystemExit(f"{s.init} was trained on other {base.encoder_name} weights than {encoder.weights_path}")
    apply_tuned_weights(encoder, base.encoder_tuned)
    tuning = s.encoder_lr > 0  # --encoder-lr 0: the control run, the decoder trained on alone for as long
    top = split_trunk(encoder, s.stage)[1].requires_grad_(tuning)
    if set(base.encoder_tuned) - set(top.state_dict()):
        raise SystemExit(f"{s.init} tuned stages below {s.stage}, which the cached {s.stage} inputs do not reflect")
    decoder = without_word_head(base.decoder)
    photos = load_split(data_dir(s.data))
    inputs = load_stage_inputs(base.encoder_name, base.encoder_sha256, s.stage, Path(s.cache), photos)
    val = [p for p in photos if p.split == "val"]
    val_rows = [p.index for p in val]
    optimizer = torch.optim.Adam([{"params": top.parameters(), "lr": s.encoder_lr},
                                  {"params": decoder.parameters(), "lr": s.lr}])
    modules = {"top": top, "decoder": decoder}

    def checkpoint(scores: dict[str, float], epoch: int) -> Checkpoint:
        return Checkpoint(decoder, base.vocab, base.encoder_name, base.encoder_sha256,
                          encoder_tuned=dict(top.state_dict()) if tuning else dict(base.encoder_tuned),
                          metrics={"val": scores, "epoch": epoch}, training={**base.training, "fine_tune": asdict(s)},
                          name=f"{base.name}-{s.stage}" if tuning else base.name)

    run = TrainingRun(out, modules, optimizer, train_grid=lambda rows: grid_of(top, inputs[rows]),
                      val=[dataclasses.replace(p, index=i) for i, p in enumerate(val)],  # rows of the val grid
                      val_grid=lambda: encode_rows(top, inputs, val_rows), checkpoint=checkpoint)
    progress = resume_progress(out / "last.pt", modules, optimizer, rng)
    if progress is None:
        scores = validate(decoder, run.val_grid(), run.val, base.vocab, s.val_beam)
        progress = Progress(scores["BLEU-4"], 0, 0, [{"epoch": 0, **{f"val_{k}": v for k, v in scores.items()}}])
        print(json.dumps(progress.history[-1]), flush=True)
    what = f"{s.stage} ({sum(p.numel() for p in top.parameters()) / 1e6:.1f}M parameters) and " if tuning else ""
    print(f"training {what}the decoder ({sum(p.numel() for p in decoder.parameters()) / 1e6:.1f}M), "
          f"{sum(p.split == 'train' for p in photos)} training images")
    progress = train_epochs(s, run, photos, base.vocab, rng, progress)
    kept = f"checkpoint {out / 'best.pt'}" if (out / "best.pt").exists() else "no epoch beat the starting model"
    print(f"best validation BLEU-4 {progress.best:.2f}; {kept}")
    return out / "best.pt"


if __name__ == "__main__":
    fine_tune(parse_settings(TuneSettings, __doc__, skip=TuneSettings.FROM_INIT))  # type: ignore[arg-type]

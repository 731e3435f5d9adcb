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
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from photocap.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.encoder import apply_tuned_weights, load_encoder, split_trunk
from train.data import Photo, data_dir, load_split
from train.features import cache_dir
from train.fit import (
    Progress,
    Settings,
    batches,
    caption_loss,
    parse_settings,
    resume_progress,
    save_progress,
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
    directory = cache_dir(encoder, cache, below=stage)
    done_path, meta_path = directory / "done.json", directory / "meta.json"
    done = json.loads(done_path.read_text())["rows"] if done_path.exists() else 0
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if done != len(photos) or meta.get("filenames") != [p.filename for p in photos]:
        raise SystemExit(f"cache {directory} is incomplete: run python -m train.features --encoder {encoder} "
                         f"--below {stage}")
    if meta["weights_sha256"] != weights_sha256:
        raise SystemExit(f"cache {directory} was made with other {encoder} weights; delete it and run "
                         f"python -m train.features --encoder {encoder} --below {stage}")
    return torch.from_numpy(np.load(directory / "grid.npy"))  # fp16 (N, C, H, W) in memory


def train_mode(top: nn.Module) -> None:
    """Training mode with BatchNorm statistics frozen: 32-image batches would only make them noisier."""
    top.train()
    for module in top.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


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
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = random.Random(s.seed)
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
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
    n_train = sum(p.split == "train" for p in photos)
    val = [p for p in photos if p.split == "val"]
    val_rows = [p.index for p in val]
    val_reindexed = [dataclasses.replace(p, index=i) for i, p in enumerate(val)]  # rows of the val grid
    optimizer = torch.optim.Adam([{"params": top.parameters(), "lr": s.encoder_lr},
                                  {"params": decoder.parameters(), "lr": s.lr}])
    trainable = [*top.parameters(), *decoder.parameters()]
    history: list[dict] = []
    best, stale, epoch = -1.0, 0, 0
    resumed = resume_progress(out / "last.pt", {"top": top, "decoder": decoder}, optimizer, rng)
    if resumed:
        best, stale, epoch, history = resumed.best, resumed.stale, resumed.epoch, resumed.history
    else:
        scores = validate(decoder, encode_rows(top, inputs, val_rows), val_reindexed, base.vocab, s.val_beam)
        best = scores["BLEU-4"]
        history.append({"epoch": 0, **{f"val_{k}": v for k, v in scores.items()}})
        print(json.dumps(history[-1]), flush=True)
    what = f"{s.stage} ({sum(p.numel() for p in top.parameters()) / 1e6:.1f}M parameters) and " if tuning else ""
    print(f"training {what}the decoder ({sum(p.numel() for p in decoder.parameters()) / 1e6:.1f}M), "
          f"{n_train} training images")

    while epoch < s.epochs and stale < s.patience:
        train_mode(top)
        decoder.train()
        started, total, seen = time.time(), 0.0, 0
        bar = tqdm(batches(photos, base.vocab, s, rng), total=-(-n_train // s.images_per_batch),
                   desc=f"epoch {epoch + 1}", unit="batch", mininterval=5)
        for rows, image_of_caption, captions, lengths in bar:
            loss, ce = caption_loss(decoder, grid_of(top, inputs[rows]), image_of_caption, captions, lengths, s)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, s.grad_clip)
            optimizer.step()
            total, seen = total + ce.item() * len(captions), seen + len(captions)
            bar.set_postfix(ce=f"{total / seen:.3f}", refresh=False)
        epoch += 1
        scores = validate(decoder, encode_rows(top, inputs, val_rows), val_reindexed, base.vocab, s.val_beam)
        record = {"epoch": epoch, "train_ce": total / seen, "minutes": (time.time() - started) / 60,
                  "lr": [group["lr"] for group in optimizer.param_groups],
                  **{f"val_{k}": v for k, v in scores.items()}}
        history.append(record)
        print(json.dumps(record), flush=True)
        if scores["BLEU-4"] > best:
            best, stale = scores["BLEU-4"], 0
            checkpoint = Checkpoint(decoder, base.vocab, base.encoder_name, base.encoder_sha256,
                                    encoder_tuned=dict(top.state_dict()) if tuning else dict(base.encoder_tuned),
                                    metrics={"val": scores, "epoch": epoch},
                                    training={**base.training, "fine_tune": asdict(s)},
                                    name=f"{base.name}-{s.stage}" if tuning else base.name)
            save_checkpoint(checkpoint, out / "best.pt")
        else:
            stale += 1
            for group in optimizer.param_groups:
                group["lr"] *= s.lr_decay
        save_progress(out / "last.pt", {"top": top, "decoder": decoder}, optimizer,
                      Progress(best, stale, epoch, history), rng)
        (out / "history.json").write_text(json.dumps(history, indent=1))
    print(f"best validation BLEU-4 {best:.2f}" + (f"; checkpoint {out / 'best.pt'}" if (out / "best.pt").exists()
                                                  else "; no epoch beat the starting model"))
    return out / "best.pt"


if __name__ == "__main__":
    fine_tune(parse_settings(TuneSettings, __doc__, skip=TuneSettings.FROM_INIT))  # type: ignore[arg-type]

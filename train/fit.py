"""Train the attention decoder on cached encoder features.

    python -m train.features --encoder efficientnet_lite0      # once: caches the feature grids
    python -m train.fit --encoder efficientnet_lite0 --out runs/lite0

Teacher forcing with cross-entropy plus doubly-stochastic attention regularisation; after every epoch the
model captions the 1,000 validation images free-running (beam search) and the checkpoint with the best
validation BLEU-4 is kept (OUT/best.pt); training stops when that has not improved for --patience epochs.
Killed runs resume from OUT/last.pt. All settings are below, with their defaults, in one place.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from photocap.model.beam import beam_search
from photocap.model.checkpoint import Checkpoint, save_checkpoint
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.vocab import Vocabulary
from train.data import Photo, data_dir, load_split
from train.features import DEFAULT_CACHE, cache_dir
from train.metrics import caption_scores


@dataclass
class Settings:
    encoder: str = "efficientnet_lite0"
    out: str = "runs/efficientnet_lite0"
    cache: str = str(DEFAULT_CACHE)
    data: str | None = None
    seed: int = 1234
    min_count: int = 5
    max_caption_len: int = 22  # words; longer training captions are cut (under 1% of Flickr8k)
    embed_dim: int = 512
    hidden_dim: int = 512
    attention_dim: int = 512
    context_dim: int = 512
    dropout: float = 0.5
    images_per_batch: int = 32  # each with its 5 captions
    lr: float = 4e-4
    lr_decay: float = 0.8  # applied when validation BLEU-4 did not improve for an epoch
    grad_clip: float = 5.0
    attention_reg: float = 1.0  # doubly-stochastic regularisation weight
    label_smoothing: float = 0.0
    epochs: int = 20
    patience: int = 4
    val_beam: int = 3
    threads: int = 2


def load_cache(encoder: str, cache: Path, photos: list[Photo], below: str | None = None) -> tuple[torch.Tensor, dict]:
    """A finished train.features cache, in memory (fp16; 1 to 3 GB), and its meta.json."""
    directory = cache_dir(encoder, cache, below)
    done_path, meta_path = directory / "done.json", directory / "meta.json"
    done = json.loads(done_path.read_text())["rows"] if done_path.exists() else 0
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if done != len(photos) or meta.get("filenames") != [p.filename for p in photos]:
        command = f"python -m train.features --encoder {encoder}" + (f" --below {below}" if below else "")
        raise SystemExit(f"feature cache {directory} is incomplete: run {command}")
    return torch.from_numpy(np.load(directory / "grid.npy")), meta


def batches(photos: list[Photo], vocab: Vocabulary, s: Settings, rng: random.Random):
    """Shuffled batches of training images, each with all its captions sorted by decreasing length."""
    train = [p for p in photos if p.split == "train"]
    rng.shuffle(train)
    for start in range(0, len(train), s.images_per_batch):
        chunk = train[start : start + s.images_per_batch]
        image_of_caption, captions, lengths = padded_captions([p.captions for p in chunk], vocab, s.max_caption_len)
        yield torch.tensor([p.index for p in chunk]), image_of_caption, captions, lengths


def padded_captions(captions_of_images: Sequence[Sequence[Sequence[str]]], vocab: Vocabulary,
                    max_len: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every caption of a batch's images (tokenised, cut to `max_len` words), encoded, sorted by decreasing length
    and padded, as the decoder's forward pass takes them: each caption's image, the captions (N, T), their lengths."""
    pairs = sorted(((i, vocab.encode(list(c[:max_len]))) for i, captions in enumerate(captions_of_images)
                    for c in captions), key=lambda pair: -len(pair[1]))
    lengths = torch.tensor([len(ids) for _, ids in pairs])
    captions = torch.zeros(len(pairs), int(lengths[0]), dtype=torch.long)
    for row, (_, ids) in enumerate(pairs):
        captions[row, : len(ids)] = torch.tensor(ids)
    return torch.tensor([i for i, _ in pairs]), captions, lengths


def caption_loss(decoder: CaptionDecoder, grid: torch.Tensor, image_of_caption: torch.Tensor,
                 captions: torch.Tensor, lengths: torch.Tensor, s: Settings):
    logits, attention_totals = decoder(grid, image_of_caption, captions, lengths)
    targets = torch.cat([captions[: int((lengths > t + 1).sum()), t + 1] for t in range(int(lengths[0]) - 1)])
    loss = F.cross_entropy(logits, targets, label_smoothing=s.label_smoothing)
    # Doubly-stochastic attention: over a caption, every grid cell should receive about one unit of attention.
    return loss + s.attention_reg * ((1.0 - attention_totals) ** 2).mean(), loss


def validate(decoder: CaptionDecoder, grid: torch.Tensor, photos: list[Photo], vocab: Vocabulary,
             beam: int, batch_size: int = 100) -> dict[str, float]:
    decoder.eval()
    predictions = {}
    for start in range(0, len(photos), batch_size):
        chunk = photos[start : start + batch_size]
        rows = torch.tensor([p.index for p in chunk])
        for photo, hyp in zip(chunk, beam_search(decoder, grid[rows].float(), vocab, beam), strict=True):
            predictions[photo.filename] = vocab.decode(hyp.tokens)
    decoder.train()
    scores = caption_scores(predictions, {p.filename: list(p.raw) for p in photos})
    scores["distinct"] = len(set(predictions.values())) / len(predictions)
    return scores


def train_mode(module: torch.nn.Module) -> None:
    """Training mode with BatchNorm statistics frozen (a tuned encoder stage's): 32-image batches would only
    make them noisier."""
    module.train()
    for child in module.modules():
        if isinstance(child, torch.nn.modules.batchnorm._BatchNorm):
            child.eval()


@dataclass
class Progress:
    best: float  # validation BLEU-4 of the best epoch so far
    stale: int  # epochs since it improved
    epoch: int  # epochs done
    history: list[dict]


def save_progress(path: Path, modules: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer,
                  progress: Progress, rng: random.Random) -> None:
    """The resume file: everything a killed run needs to go on exactly where the last epoch ended."""
    torch.save({**{name: module.state_dict() for name, module in modules.items()},
                "optimizer": optimizer.state_dict(), **asdict(progress), "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state()}, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def resume_progress(path: Path, modules: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer,
                    rng: random.Random) -> Progress | None:
    """Restore what save_progress wrote, if it exists."""
    if not path.exists():
        return None
    state = torch.load(path, weights_only=False)  # our own resume file, not a shipped artefact
    for name, module in modules.items():
        module.load_state_dict(state[name])
    optimizer.load_state_dict(state["optimizer"])
    rng.setstate(state["rng"])
    torch.set_rng_state(state["torch_rng"])
    progress = Progress(state["best"], state["stale"], state["epoch"], state["history"])
    print(f"resumed after epoch {progress.epoch}, best val BLEU-4 {progress.best:.2f}")
    return progress


def start_run(s: Settings) -> tuple[random.Random, Path]:
    """Seed everything and make the output folder; returns the batch-order generator and that folder."""
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    return random.Random(s.seed), out


@dataclass
class TrainingRun:
    """What the epoch loop trains and how it gets its grids; fit and finetune differ only in these."""

    out: Path
    modules: dict[str, torch.nn.Module]  # trained and saved in the resume file; "decoder" among them
    optimizer: torch.optim.Optimizer
    train_grid: Callable[[torch.Tensor], torch.Tensor]  # cache rows -> (B, cells, C), with gradients if tuned
    val: list[Photo]
    val_grid: Callable[[], torch.Tensor]  # grid holding the `val` photos at their `index` rows
    checkpoint: Callable[[dict[str, float], int], Checkpoint]  # from validation scores and epoch


def train_epochs(s: Settings, run: TrainingRun, photos: list[Photo], vocab: Vocabulary, rng: random.Random,
                 progress: Progress) -> Progress:
    """Epochs until --epochs or --patience; after each, validation, the best checkpoint and the resume file."""
    decoder = run.modules["decoder"]
    trained = [p for module in run.modules.values() for p in module.parameters()]
    n_train = sum(p.split == "train" for p in photos)
    while progress.epoch < s.epochs and progress.stale < s.patience:
        for module in run.modules.values():
            train_mode(module)
        started, total, seen = time.time(), 0.0, 0
        bar = tqdm(batches(photos, vocab, s, rng), total=-(-n_train // s.images_per_batch),
                   desc=f"epoch {progress.epoch + 1}", unit="batch", mininterval=5)
        for rows, image_of_caption, captions, lengths in bar:
            loss, ce = caption_loss(decoder, run.train_grid(rows), image_of_caption, captions, lengths, s)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, s.grad_clip)
            run.optimizer.step()
            total, seen = total + ce.item() * len(captions), seen + len(captions)
            bar.set_postfix(ce=f"{total / seen:.3f}", refresh=False)
        progress.epoch += 1
        scores = validate(decoder, run.val_grid(), run.val, vocab, s.val_beam)
        rates = [group["lr"] for group in run.optimizer.param_groups]
        record = {"epoch": progress.epoch, "train_ce": total / seen, "minutes": (time.time() - started) / 60,
                  "lr": rates[0] if len(rates) == 1 else rates, **{f"val_{k}": v for k, v in scores.items()}}
        progress.history.append(record)
        print(json.dumps(record), flush=True)
        if scores["BLEU-4"] > progress.best:
            progress.best, progress.stale = scores["BLEU-4"], 0
            save_checkpoint(run.checkpoint(scores, progress.epoch), run.out / "best.pt")
        else:
            progress.stale += 1
            for group in run.optimizer.param_groups:
                group["lr"] *= s.lr_decay
        save_progress(run.out / "last.pt", run.modules, run.optimizer, progress, rng)
        (run.out / "history.json").write_text(json.dumps(progress.history, indent=1))
    return progress


def fit(s: Settings) -> Path:
    rng, out = start_run(s)
    photos = load_split(data_dir(s.data))
    grid, meta = load_cache(s.encoder, Path(s.cache), photos)
    vocab = Vocabulary.build((c for p in photos if p.split == "train" for c in p.captions), s.min_count)
    config = DecoderConfig(len(vocab), grid.shape[2], s.embed_dim, s.hidden_dim, s.attention_dim,
                           s.context_dim, s.dropout)
    decoder = CaptionDecoder(config)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=s.lr)
    progress = resume_progress(out / "last.pt", {"decoder": decoder}, optimizer, rng) or Progress(-1.0, 0, 0, [])
    print(f"vocabulary {len(vocab)} words, {sum(p.split == 'train' for p in photos)} training images, "
          f"{sum(p.numel() for p in decoder.parameters()) / 1e6:.1f}M parameters")

    def checkpoint(scores: dict[str, float], epoch: int) -> Checkpoint:
        return Checkpoint(decoder, vocab, s.encoder, meta["weights_sha256"], metrics={"val": scores, "epoch": epoch},
                          training=asdict(s), name=f"photocap-{s.encoder}")

    run = TrainingRun(out, {"decoder": decoder}, optimizer, train_grid=lambda rows: grid[rows].float(),
                      val=[p for p in photos if p.split == "val"], val_grid=lambda: grid, checkpoint=checkpoint)
    progress = train_epochs(s, run, photos, vocab, rng, progress)
    print(f"best validation BLEU-4 {progress.best:.2f}; checkpoint {out / 'best.pt'}")
    return out / "best.pt"


def parse_settings(kind: type[Settings] = Settings, description: str | None = __doc__,
                   skip: frozenset[str] = frozenset()) -> Settings:
    """Command-line options named after the fields of `kind` (except `skip`), with their defaults."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in asdict(kind()).items():
        if name in skip:
            continue
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default) if default is not None else str,
                            default=default)
    return kind(**vars(parser.parse_args()))


if __name__ == "__main__":
    fit(parse_settings())

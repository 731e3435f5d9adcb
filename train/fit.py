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


def load_grid(encoder: str, cache: Path, photos: list[Photo]) -> torch.Tensor:
    directory = cache_dir(encoder, cache)
    meta = json.loads((directory / "meta.json").read_text())
    done = json.loads((directory / "done.json").read_text())["rows"]
    if done != len(photos) or meta["filenames"] != [p.filename for p in photos]:
        raise SystemExit(f"feature cache {directory} is incomplete: run python -m train.features --encoder {encoder}")
    return torch.from_numpy(np.load(directory / "grid.npy"))  # fp16 (N, 49, C), about 1 GB, in memory


def batches(photos: list[Photo], vocab: Vocabulary, s: Settings, rng: random.Random):
    """Shuffled batches of training images, each with all its captions sorted by decreasing length."""
    train = [p for p in photos if p.split == "train"]
    rng.shuffle(train)
    for start in range(0, len(train), s.images_per_batch):
        chunk = train[start : start + s.images_per_batch]
        pairs = sorted(((i, vocab.encode(list(c[: s.max_caption_len]))) for i, p in enumerate(chunk)
                        for c in p.captions), key=lambda pair: -len(pair[1]))
        lengths = torch.tensor([len(ids) for _, ids in pairs])
        captions = torch.zeros(len(pairs), int(lengths[0]), dtype=torch.long)
        for row, (_, ids) in enumerate(pairs):
            captions[row, : len(ids)] = torch.tensor(ids)
        yield (torch.tensor([p.index for p in chunk]), torch.tensor([i for i, _ in pairs]), captions, lengths)


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


def fit(s: Settings) -> Path:
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = random.Random(s.seed)
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = load_split(data_dir(s.data))
    grid = load_grid(s.encoder, Path(s.cache), photos)
    meta = json.loads((cache_dir(s.encoder, Path(s.cache)) / "meta.json").read_text())
    vocab = Vocabulary.build((c for p in photos if p.split == "train" for c in p.captions), s.min_count)
    n_train = sum(p.split == "train" for p in photos)
    val = [p for p in photos if p.split == "val"]
    config = DecoderConfig(len(vocab), grid.shape[2], s.embed_dim, s.hidden_dim, s.attention_dim,
                           s.context_dim, s.dropout)
    decoder = CaptionDecoder(config)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=s.lr)
    history: list[dict] = []
    best, stale, epoch = -1.0, 0, 0
    resumed = resume_progress(out / "last.pt", {"decoder": decoder}, optimizer, rng)
    if resumed:
        best, stale, epoch, history = resumed.best, resumed.stale, resumed.epoch, resumed.history
    print(f"vocabulary {len(vocab)} words, {n_train} training images, "
          f"{sum(p.numel() for p in decoder.parameters()) / 1e6:.1f}M parameters")

    while epoch < s.epochs and stale < s.patience:
        decoder.train()
        started, total, seen = time.time(), 0.0, 0
        bar = tqdm(batches(photos, vocab, s, rng), total=-(-n_train // s.images_per_batch),
                   desc=f"epoch {epoch + 1}", unit="batch", mininterval=5)
        for rows, image_of_caption, captions, lengths in bar:
            loss, ce = caption_loss(decoder, grid[rows].float(), image_of_caption, captions, lengths, s)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), s.grad_clip)
            optimizer.step()
            total, seen = total + ce.item() * len(captions), seen + len(captions)
            bar.set_postfix(ce=f"{total / seen:.3f}", refresh=False)
        epoch += 1
        scores = validate(decoder, grid, val, vocab, s.val_beam)
        record = {"epoch": epoch, "train_ce": total / seen, "minutes": (time.time() - started) / 60,
                  "lr": optimizer.param_groups[0]["lr"], **{f"val_{k}": v for k, v in scores.items()}}
        history.append(record)
        print(json.dumps(record), flush=True)
        if scores["BLEU-4"] > best:
            best, stale = scores["BLEU-4"], 0
            checkpoint = Checkpoint(decoder, vocab, s.encoder, meta["weights_sha256"],
                                    metrics={"val": scores, "epoch": epoch}, training=asdict(s),
                                    name=f"photocap-{s.encoder}")
            save_checkpoint(checkpoint, out / "best.pt")
        else:
            stale += 1
            for group in optimizer.param_groups:
                group["lr"] *= s.lr_decay
        save_progress(out / "last.pt", {"decoder": decoder}, optimizer, Progress(best, stale, epoch, history), rng)
        (out / "history.json").write_text(json.dumps(history, indent=1))
    print(f"best validation BLEU-4 {best:.2f}; checkpoint {out / 'best.pt'}")
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

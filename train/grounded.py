"""Train the grounded decoder: captions from the photo's feature grid *and* the objects the detector found,
in words learnt from Flickr8k's captions and from 24,619 everyday COCO captions without their photos.

    python -m train.features --encoder efficientnet_lite0       # once: Flickr8k's feature grids
    python -m train.chooser_settings                            # once: the detector's findings on Flickr8k val
    python -m train.grounded --out runs/grounded                # resumes from OUT/last.pt when killed
    python -m train.average runs/grounded/epoch{3,4,5}.pt --out photocap/assets/grounded_lite0.pt  # as shipped
    python -m train.grounded --out runs/describer --with-photos false --select-by text_val_loss --epochs 4 \
        --patience 1                                            # objects only, no photos (measured, not shipped)

Each batch holds 32 Flickr8k training photos (their feature grid) and about 26 COCO images known only by their
captions (no grid: it is masked out). The objects the decoder is told (photocap.model.object_input) are read from
each image's reference captions (train.text_objects) and made as unreliable as the detector is on Flickr8k val
(concept dropout): each object is dropped with the detector's measured miss rate for its category, a count is off
by one as often as the detector's, and a category the captions do not name is added as often, and of the kinds,
as the detector's false alarms. Flickr8k photos lose their grid with probability image_dropout and their objects
with objects_dropout, so the decoder captions from either alone (detection can be turned off). Validation uses the
detector's real findings.

The decoder starts from the shipped Flickr8k decoder, efficientnet_lite0 (its words' embeddings and output rows,
its attention and LSTM), and keeps its word-presence head. After each epoch it captions Flickr8k val free-running
with the detector's objects (beam 3); the epoch with the best BLEU-4 is kept (OUT/best.pt), every epoch is saved
(OUT/epochN.pt) for train.average, and the held-out COCO captions' loss is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.coco_objects import COCO_TEXT_CAPTIONS, objects_in_any, objects_named_by_at_least
from photocap.model.beam import beam_search
from photocap.model.captioner import Captioner, resolve_model
from photocap.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.detector import Detection
from photocap.model.object_input import COUNT_CAP, INPUT_MIN_SCORE, NUM_CLASS_IDS, object_input, objects_of
from photocap.model.vocab import Vocabulary, tokenize
from train.chooser_settings import evidence_of as val_evidence_of
from train.data import Photo, data_dir, load_split
from train.features import DEFAULT_CACHE
from train.fit import Progress, load_cache, padded_captions, resume_progress, save_progress, start_run
from train.metrics import caption_scores
from train.tag_thresholds import Photos, flickr_val
from train.text_objects import counts_in, objects_said

GRID_CELLS = 49
WARM_START_MODEL = "efficientnet_lite0"  # the shipped Flickr8k decoder
GROUNDED_MODEL = "grounded_lite0"
# what warm_start has nothing for
OBJECT_PARTS = frozenset({"object_class", "object_count", "no_object", "object_project"})


@dataclass
class Settings:
    out: str = "runs/grounded"
    cache: str = str(DEFAULT_CACHE)
    data: str | None = None
    seed: int = 1234
    min_count: int = 5
    max_caption_len: int = 22
    photos_per_batch: int = 32
    captions_per_image: int = 2  # of each image's five, drawn anew each epoch (all five cost 2.5 times as much)
    with_photos: bool = True  # False: an objects-only decoder, trained without any photo (no feature grids)
    train_photos: int = 0  # the first N Flickr8k training photos only (0: all 6,000); a quick trial
    text_images: int = 0  # the first N COCO caption groups only (0: all)
    val_photos: int = 0  # the first N Flickr8k val photos only (0: all 1,000)
    text_val_images: int = 250  # COCO caption groups held out for the text loss
    image_dropout: float = 0.15
    objects_dropout: float = 0.1
    lr: float = 3e-4
    # Object cells through LayerNorm -> Linear -> ReLU, as the grid's cells are (measured, not shipped: docs/MODEL.md)
    object_projection: bool = False
    object_lr_scale: float = 1.0  # the object cells' own layers (new, unlike the rest) learn this much faster
    miss_scale: float = 1.0  # the measured miss rates times this (Flickr8k's 224 px photos are missed more often)
    lr_decay: float = 0.8
    grad_clip: float = 5.0
    attention_reg: float = 1.0
    epochs: int = 8
    patience: int = 2
    select_by: str = "BLEU-4"  # the epoch kept: best Flickr8k val BLEU-4, or lowest "text_val_loss"
    val_beam: int = 3
    threads: int = 2


@dataclass(frozen=True)
class TextImage:
    captions: tuple[tuple[str, ...], ...]
    objects: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class DetectorNoise:
    """How the detector errs on Flickr8k val, for making caption-read objects as unreliable."""

    miss_rate: dict[str, float]  # per category: photos where >= 2 references name it but nothing was found
    default_miss_rate: float
    false_alarm_rate: float  # photos with a found category no reference names
    false_alarm_kinds: tuple[tuple[str, ...], tuple[float, ...]]
    count_off_rate: float


def first_of(photos: Photos, count: int) -> Photos:
    """The first `count` of `photos` (all when 0), named apart so that their caches are their own."""
    if not count:
        return photos
    return Photos(f"{photos.name}-first{count}", photos.paths[:count], photos.references[:count])


def coco_text_images(path: Path = COCO_TEXT_CAPTIONS) -> list[TextImage]:
    document = json.loads(path.read_text())
    captions: dict[int, list[str]] = defaultdict(list)
    for annotation in document["annotations"]:
        captions[annotation["image_id"]].append(annotation["caption"])
    return [TextImage(tuple(tuple(tokenize(c)) for c in texts), tuple(objects_said(texts)))
            for _, texts in sorted(captions.items())]


def measure_noise(photos: list[Photo], found: list[list[Detection]]) -> DetectorNoise:
    """The detector's misses (per category named by >= 2 references), false alarms and miscounts on `photos`."""
    seen, missed = Counter[str](), Counter[str]()
    false_kinds = Counter[str]()
    photos_with_false = 0
    count_pairs = count_off = 0
    for photo, detections in zip(photos, found, strict=True):
        references = list(photo.raw)
        named = objects_named_by_at_least(references, 2)
        given = dict(objects_of(detections))
        for label in named:
            seen[label] += 1
            missed[label] += label not in given
        mentioned = objects_in_any(references)
        invented = [label for label in given if label not in mentioned]
        photos_with_false += bool(invented)
        false_kinds.update(invented)
        dogs_said = sorted(counts["dog"] for counts in map(counts_in, references) if "dog" in counts)
        if "dog" in given and "dog" in named and dogs_said:
            count_pairs += 1
            count_off += given["dog"] != dogs_said[len(dogs_said) // 2]
    rates = {label: missed[label] / seen[label] for label in seen if seen[label] >= 20}
    total_missed, total_seen = sum(missed.values()), sum(seen.values())
    kinds = sorted(false_kinds)
    return DetectorNoise(
        miss_rate=rates, default_miss_rate=(total_missed - missed["person"]) / max(1, total_seen - seen["person"]),
        false_alarm_rate=photos_with_false / len(photos),
        false_alarm_kinds=(tuple(kinds), tuple(false_kinds[k] / sum(false_kinds.values()) for k in kinds)),
        count_off_rate=count_off / max(1, count_pairs))


def noisy(objects: tuple[tuple[str, int], ...], noise: DetectorNoise, rng: random.Random) -> list[tuple[str, int]]:
    """Caption-read objects as the detector would report them (concept dropout)."""
    kept = []
    for label, count in objects:
        if rng.random() < noise.miss_rate.get(label, noise.default_miss_rate):
            continue
        if rng.random() < noise.count_off_rate:
            count = min(COUNT_CAP, max(1, count + rng.choice((-1, 1))))
        kept.append((label, count))
    if rng.random() < noise.false_alarm_rate and noise.false_alarm_kinds[0]:
        label = rng.choices(noise.false_alarm_kinds[0], weights=noise.false_alarm_kinds[1])[0]
        if label not in dict(kept):
            kept.insert(rng.randrange(len(kept) + 1), (label, 1))
    return kept


def build_vocabulary(photos: list[Photo], texts: list[TextImage], min_count: int) -> Vocabulary:
    captions = [list(c) for p in photos if p.split == "train" for c in p.captions]
    captions += [list(c) for t in texts for c in t.captions]
    return Vocabulary.build(captions, min_count)


def warm_start(decoder: CaptionDecoder, shipped: Checkpoint, vocab: Vocabulary) -> None:
    """Copy the shipped decoder's weights where they fit: same-shaped layers whole, word rows by word, and the
    grid half of the initial-state layers."""
    old, new = shipped.decoder.state_dict(), decoder.state_dict()
    rows = [(i, shipped.vocab.id_of(w)) for i, w in enumerate(vocab.words)
            if shipped.vocab.id_of(w) != shipped.vocab.unk_id or w == "<unk>"]
    new_rows, old_rows = torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows])
    for key, value in old.items():
        if key in ("embed.weight", "output.weight", "output.bias"):
            new[key][new_rows] = value[old_rows]
        elif key in ("init_hidden.weight", "init_cell.weight"):
            new[key].zero_()
            new[key][:, : value.shape[1]] = value
        elif key in new and new[key].shape == value.shape:
            new[key] = value
    decoder.load_state_dict(new)


def batches(training: list[Photo], texts: list[TextImage], grid: torch.Tensor | None,
            said: dict[int, list[tuple[str, int]]], vocab: Vocabulary, noise: DetectorNoise, s: Settings,
            rng: random.Random, feature_dim: int):
    """Shuffled batches: Flickr8k training photos with their grid (none when `grid` is None), and COCO caption
    groups without one; every image's objects read from its captions, with the detector's noise."""
    train = list(training)
    rng.shuffle(train)
    order = list(range(len(texts)))
    rng.shuffle(order)
    per_batch = -(-len(texts) // -(-len(train) // s.photos_per_batch))
    for number, start in enumerate(range(0, len(train), s.photos_per_batch)):
        chunk = train[start:start + s.photos_per_batch]
        text_chunk = [texts[i] for i in order[number * per_batch:(number + 1) * per_batch]]
        item_objects, present, item_captions = [], [], []
        for photo in chunk:
            dropped = rng.random() < s.objects_dropout
            item_objects.append([] if dropped else noisy(tuple(said[photo.index]), noise, rng))
            present.append(grid is not None and rng.random() >= s.image_dropout)
            item_captions.append(photo.captions)
        for text in text_chunk:
            item_objects.append(noisy(text.objects, noise, rng))
            present.append(False)
            item_captions.append(text.captions)
        if grid is None:  # one empty cell, masked out: nothing of the grid is computed for nothing
            grids = torch.zeros(len(item_captions), 1, feature_dim)
        else:
            grids = torch.zeros(len(item_captions), GRID_CELLS, feature_dim)
            grids[: len(chunk)] = grid[torch.tensor([p.index for p in chunk])].float()
        drawn = [rng.sample(captions, min(s.captions_per_image, len(captions))) for captions in item_captions]
        image_of_caption, captions, lengths = padded_captions(drawn, vocab, s.max_caption_len)
        yield grids, object_input(item_objects), torch.tensor(present), image_of_caption, captions, lengths


def caption_loss(decoder: CaptionDecoder, batch, s: Settings) -> tuple[torch.Tensor, torch.Tensor]:
    grids, objects, present, image_of_caption, captions, lengths = batch
    logits, attention_totals = decoder(grids, image_of_caption, captions, lengths, objects, present)
    targets = torch.cat([captions[: int((lengths > t + 1).sum()), t + 1] for t in range(int(lengths[0]) - 1)])
    loss = F.cross_entropy(logits, targets)
    with_image = present[image_of_caption]
    if s.attention_reg and with_image.any():
        # Doubly-stochastic attention, over the grid of captions that had one.
        grid_totals = attention_totals[with_image, :GRID_CELLS]
        loss_total = loss + s.attention_reg * ((1.0 - grid_totals) ** 2).mean()
    else:
        loss_total = loss
    return loss_total, loss


@torch.no_grad()
def text_loss(decoder: CaptionDecoder, texts: list[TextImage], vocab: Vocabulary, noise: DetectorNoise,
              s: Settings, feature_dim: int) -> float:
    decoder.eval()
    rng = random.Random(7)
    losses = []
    for start in range(0, len(texts), 50):
        chunk = texts[start:start + 50]
        objects = object_input([noisy(t.objects, noise, rng) for t in chunk])
        image_of_caption, captions, lengths = padded_captions([t.captions for t in chunk], vocab, s.max_caption_len)
        batch = (torch.zeros(len(chunk), 1, feature_dim), objects, torch.zeros(len(chunk), dtype=torch.bool),
                 image_of_caption, captions, lengths)
        losses.append(float(caption_loss(decoder, batch, Settings(attention_reg=0.0))[1]))
    decoder.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def validate(decoder: CaptionDecoder, grid: torch.Tensor | None, photos: list[Photo],
             objects: dict[int, list[tuple[str, int]]],
             vocab: Vocabulary, beam: int, batch_size: int = 100) -> dict[str, float]:
    """Captions of `photos` with the detector's `objects`, scored against their references."""
    decoder.eval()
    predictions = {}
    for start in range(0, len(photos), batch_size):
        chunk = photos[start:start + batch_size]
        rows = torch.tensor([p.index for p in chunk])
        found = object_input([objects[p.index] for p in chunk])
        if grid is None:
            grids = torch.zeros(len(chunk), 1, decoder.config.feature_dim)
            present = torch.zeros(len(chunk), dtype=torch.bool)
        else:
            grids, present = grid[rows].float(), None
        for photo, hyp in zip(chunk, beam_search(decoder, grids, vocab, beam, objects=found, image_present=present),
                              strict=True):
            predictions[photo.filename] = vocab.decode(hyp.tokens)
    decoder.train()
    scores = caption_scores(predictions, {p.filename: list(p.raw) for p in photos})
    scores["distinct"] = len(set(predictions.values())) / len(predictions)
    return scores


def to_checkpoint(decoder: CaptionDecoder, vocab: Vocabulary, shipped: Checkpoint, metrics: dict,
                  s: Settings, noise: DetectorNoise) -> Checkpoint:
    return Checkpoint(decoder=decoder, vocab=vocab, encoder_name=shipped.encoder_name,
                      encoder_sha256=shipped.encoder_sha256, concepts=shipped.concepts, metrics=metrics,
                      training={**asdict(s), "warm_start": shipped.model_id, "object_input_min_score": INPUT_MIN_SCORE,
                                "noise": asdict(noise)},
                      name=f"photocap-{GROUNDED_MODEL}" if s.with_photos else "describer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default in asdict(Settings()).items():
        kind = (lambda text: text.lower() in ("1", "true", "yes")) if isinstance(default, bool) else (
            type(default) if default is not None else str)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default)
    s = Settings(**vars(parser.parse_args()))
    rng, out = start_run(s)  # type: ignore[arg-type]  # the same seed, threads and out fields

    root = data_dir(s.data)
    photos = load_split(root)
    grid = load_cache("efficientnet_lite0", Path(s.cache), photos)[0] if s.with_photos else None
    feature_dim = 1280  # EfficientNet-Lite0's channels
    training = [p for p in photos if p.split == "train"][: s.train_photos or None]
    val = [p for p in photos if p.split == "val"][: s.val_photos or None]
    captioner = Captioner.load(detector_size=384, device="cpu")
    _, val_found = val_evidence_of(first_of(flickr_val(root), s.val_photos), captioner, Path(s.cache))
    detected = {p.index: objects_of(found) for p, found in zip(val, val_found, strict=True)}
    noise = measure_noise(val, val_found)
    noise = replace(noise, miss_rate={k: v * s.miss_scale for k, v in noise.miss_rate.items()},
                    default_miss_rate=noise.default_miss_rate * s.miss_scale)
    said = {p.index: objects_said(p.raw) for p in training}
    print(f"detector noise on Flickr8k val: false alarms on {noise.false_alarm_rate:.1%} of photos, counts off "
          f"{noise.count_off_rate:.1%}, misses (other than people) {noise.default_miss_rate:.1%}, people "
          f"{noise.miss_rate.get('person', 0):.1%}", flush=True)
    texts = coco_text_images()[: s.text_images or None]
    rng_split = random.Random(s.seed)
    rng_split.shuffle(texts)
    text_val, text_train = texts[: s.text_val_images], texts[s.text_val_images:]
    shipped = load_checkpoint(resolve_model(WARM_START_MODEL))
    vocab = build_vocabulary(training, text_train, s.min_count)
    config = DecoderConfig(vocab_size=len(vocab), feature_dim=feature_dim,
                           num_concepts=shipped.decoder.config.num_concepts, num_object_classes=NUM_CLASS_IDS,
                           object_projection=s.object_projection)
    decoder = CaptionDecoder(config)
    warm_start(decoder, shipped, vocab)
    new_parts = [p for name, p in decoder.named_parameters() if name.split(".")[0] in OBJECT_PARTS]
    rest = [p for name, p in decoder.named_parameters() if name.split(".")[0] not in OBJECT_PARTS]
    optimizer = torch.optim.Adam([{"params": rest, "lr": s.lr},
                                  {"params": new_parts, "lr": s.lr * s.object_lr_scale}])
    progress = resume_progress(out / "last.pt", {"decoder": decoder}, optimizer, rng) or Progress(
        float("-inf"), 0, 0, [])
    print(f"vocabulary {len(vocab)} words; {len(training)} photos, "
          f"{len(text_train)} caption-only images ({len(text_val)} held out)", flush=True)
    decoder.train()
    for epoch in range(progress.epoch + 1, s.epochs + 1):
        started, total, steps = time.time(), 0.0, 0
        for batch in batches(training, text_train, grid, said, vocab, noise, s, rng, feature_dim):
            optimizer.zero_grad()
            loss, plain = caption_loss(decoder, batch, s)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(decoder.parameters(), s.grad_clip)
            optimizer.step()
            total, steps = total + plain.item(), steps + 1
            if steps % 20 == 0:
                print(f"  epoch {epoch} step {steps} loss {total / steps:.3f} ({time.time() - started:.0f} s)",
                      flush=True)
        scores = validate(decoder, grid, val, detected, vocab, s.val_beam)
        held_out = text_loss(decoder, text_val, vocab, noise, s, feature_dim)
        record = {"epoch": epoch, "train_loss": total / steps, "text_val_loss": held_out,
                  "seconds": time.time() - started, **{k: round(v, 4) for k, v in scores.items()}}
        progress.history.append(record)
        print(json.dumps(record), flush=True)
        merit = -held_out if s.select_by == "text_val_loss" else scores["BLEU-4"]
        if merit > progress.best:
            progress.best, progress.stale = merit, 0
            save_checkpoint(to_checkpoint(decoder, vocab, shipped, {"val": record}, s, noise), out / "best.pt")
        else:
            progress.stale += 1
            for group in optimizer.param_groups:
                group["lr"] *= s.lr_decay
        progress.epoch = epoch
        save_checkpoint(to_checkpoint(decoder, vocab, shipped, {"val": record}, s, noise), out / f"epoch{epoch}.pt")
        save_progress(out / "last.pt", {"decoder": decoder}, optimizer, progress, rng)
        (out / "history.json").write_text(json.dumps(progress.history, indent=1))
        if progress.stale >= s.patience:
            break
    print(f"best validation {s.select_by} {abs(progress.best):.3f}; {out / 'best.pt'}")


if __name__ == "__main__":
    main()

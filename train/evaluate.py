"""Benchmark: caption quality of shipped models on the Karpathy test split, and captioning speed.

    python -m train.evaluate                                   # every shipped model, beams 1, 3 and 5
    python -m train.evaluate --model runs/lite0/best.pt --beams 3 --split val

Each of the 1,000 test images is captioned free-running (beam search, never teacher-forced) and scored
against its 5 human captions: BLEU-1..4 and CIDEr-D (pycocoevalcap), lower-cased word tokens. Images are
decoded and encoded exactly as `photocap index` does it, unless --use-cache takes cached feature grids.
Also prints the encoder's and the decoder's photos/s on this machine.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from photocap.media.decode import decode_photo
from photocap.model.captioner import Captioner, shipped_models
from train.data import Photo, data_dir, load_split
from train.features import DEFAULT_CACHE, cache_dir
from train.metrics import caption_scores


def encode_photos(captioner: Captioner, root: Path, photos: list[Photo], batch_size: int,
                  use_cache: bool) -> tuple[torch.Tensor, torch.Tensor | None, float | None]:
    """Feature grids of `photos`, the tagger's pooled features (None: the grids' mean, or no tagger) and the
    encoder's photos/s (None when read from the cache)."""
    directory = cache_dir(captioner.checkpoint.encoder_name, DEFAULT_CACHE)
    if use_cache and not captioner.checkpoint.encoder_tuned and captioner.tag_encoder is None \
            and (directory / "grid.npy").exists():
        meta = json.loads((directory / "meta.json").read_text())
        if meta["weights_sha256"] == captioner.checkpoint.encoder_sha256:
            grid = np.load(directory / "grid.npy", mmap_mode="r")
            return torch.from_numpy(np.stack([grid[p.index] for p in photos])).float(), None, None
    grids, pooled, encoder_seconds = [], [], 0.0
    for start in range(0, len(photos), batch_size):
        pixels = np.stack([decode_photo(root / "Images" / p.filename).pixels
                           for p in photos[start : start + batch_size]])
        began = time.perf_counter()
        grids.append(captioner.encode(pixels))
        encoder_seconds += time.perf_counter() - began
        if captioner.tag_encoder is not None:
            pooled.append(captioner.tag_features(pixels, grids[-1]))
    return torch.cat(grids), torch.cat(pooled) if pooled else None, len(photos) / encoder_seconds


def evaluate(captioner: Captioner, grid: torch.Tensor, pooled: torch.Tensor | None, photos: list[Photo], beam: int,
             batch_size: int) -> tuple[dict[str, float], dict[str, str], float]:
    predictions: dict[str, str] = {}
    methods: Counter[str] = Counter()
    began = time.perf_counter()
    for start in range(0, len(photos), batch_size):
        chunk = photos[start : start + batch_size]
        end = start + len(chunk)
        captions = captioner.describe(grid[start:end], beam, None if pooled is None else pooled[start:end])
        for photo, caption in zip(chunk, captions, strict=True):
            predictions[photo.filename] = caption.text
            methods[caption.method] += 1
    photos_per_s = len(photos) / (time.perf_counter() - began)
    scores = caption_scores(predictions, {p.filename: list(p.raw) for p in photos})
    scores["distinct"] = 100 * len(set(predictions.values())) / len(predictions)
    scores["words"] = sum(len(c.split()) for c in predictions.values()) / len(predictions)
    scores |= {f"chosen_{method}": 100 * count / len(predictions) for method, count in methods.items()}
    return scores, predictions, photos_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="shipped model name or checkpoint path (repeatable)")
    parser.add_argument("--beams", default="1,3,5")
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--encoder-weights", type=Path, default=None,
                        help="for a model trained on weights photocap does not install")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="the encoder's number format (default auto, as photocap index runs it)")
    parser.add_argument("--use-cache", action="store_true", help="read cached feature grids (train.features)")
    parser.add_argument("--json-out", type=Path, help="write all figures (and captions) to this file")
    parser.add_argument("--plain-beam", action="store_true",
                        help="keep the beam's best caption (no caption chooser, no tags): the captioner alone")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    root = data_dir(args.data)
    photos = [p for p in load_split(root) if p.split == args.split]
    models = args.model or sorted(shipped_models())
    report: dict[str, dict] = {}
    for model in models:
        captioner = Captioner.load(model, device="cpu", encoder_weights=args.encoder_weights,
                                   precision=args.precision)
        if args.plain_beam:
            captioner.chooser = None
        grid, pooled, encoder_speed = encode_photos(captioner, root, photos, args.batch_size, args.use_cache)
        print(f"\n{captioner.model_id}  ({args.split} split, {len(photos)} images, encoder in {captioner.precision})")
        if encoder_speed:
            print(f"  encoder {captioner.checkpoint.encoder_name}: {encoder_speed:.1f} photos/s")
        print(f"  {'beam':>4} {'BLEU-1':>7} {'BLEU-2':>7} {'BLEU-3':>7} {'BLEU-4':>7} {'CIDEr-D':>8}"
              f" {'distinct%':>9} {'words':>6} {'decoder photos/s':>17}")
        entry: dict[str, object] = {"encoder_photos_per_s": encoder_speed, "beams": {}}
        for beam in (int(b) for b in args.beams.split(",")):
            scores, predictions, speed = evaluate(captioner, grid, pooled, photos, beam, args.batch_size)
            chosen = ", ".join(f"{k.removeprefix('chosen_')} {v:.1f}%" for k, v in scores.items()
                               if k.startswith("chosen_"))
            print(f"  {beam:>4} {scores['BLEU-1']:7.1f} {scores['BLEU-2']:7.1f} {scores['BLEU-3']:7.1f} "
                  f"{scores['BLEU-4']:7.1f} {scores['CIDEr-D']:8.3f} {scores['distinct']:9.1f} "
                  f"{scores['words']:6.1f} {speed:17.1f}   {chosen}")
            entry["beams"][beam] = {**scores, "decoder_photos_per_s": speed, "captions": predictions}
        report[captioner.model_id] = entry
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

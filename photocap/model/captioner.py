"""The inference API: load a shipped model once, then caption batches of photos on a device.

    captioner = Captioner.load()                       # the default shipped model, CUDA if present
    captions = captioner.caption_files(["beach.jpg"])  # or caption_images(pil_images), caption_pixels(array)
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from photocap.images import INPUT_SIZE, PhotoDecodeError, decode_photo, pixels_of
from photocap.model.beam import beam_search
from photocap.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from photocap.model.encoder import Encoder, EncoderUnavailable, apply_tuned_weights, load_encoder

DEFAULT_MODEL = "efficientnet_lite0"
CONCEPT_WORDS_KEPT = 30  # per photo, the most probable words of the word-presence head
CONCEPT_MIN_PROBABILITY = 0.05


@dataclass(frozen=True)
class Caption:
    text: str
    score: float  # length-normalised log-probability of the caption under the model
    words: list[tuple[str, float]] = field(default_factory=list)  # likely words, most probable first


def shipped_models() -> dict[str, Path]:
    """Models shipped inside the package, by name."""
    assets = resources.files("photocap") / "assets"
    return {Path(str(p)).stem: Path(str(p)) for p in assets.iterdir() if str(p).endswith(".pt")}


def resolve_model(model: str | Path | None) -> Path:
    """A shipped model's name (None: the default), or the path of a checkpoint file."""
    if model is not None and (Path(model).suffix == ".pt" or Path(model).exists()):
        return Path(model)
    name = str(model or DEFAULT_MODEL)
    models = shipped_models()
    if name not in models:
        known = ", ".join(sorted(models)) or "none (the package is missing its assets)"
        raise CheckpointError(f"no shipped model named {name!r}; shipped models: {known}")
    return models[name]


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; use auto, cpu or cuda")
    return torch.device(device)


class Captioner:
    def __init__(self, checkpoint: Checkpoint, encoder: Encoder, device: torch.device):
        self.checkpoint, self.encoder, self.device = checkpoint, encoder, device
        self.encoder.trunk.to(device)
        if device.type == "cuda":
            self.encoder.trunk.to(memory_format=torch.channels_last)
        self.decoder = checkpoint.decoder.to(device).eval()

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto",
             encoder_weights: Path | None = None) -> Captioner:
        """Load a model (see resolve_model) and the encoder it was trained on; raises CheckpointError."""
        torch_device = resolve_device(device)
        checkpoint = load_checkpoint(resolve_model(model))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the EfficientNet package prints as it loads
                encoder = load_encoder(checkpoint.encoder_name, encoder_weights)
        except EncoderUnavailable as error:
            raise CheckpointError(f"model {checkpoint.name} needs encoder {checkpoint.encoder_name}: {error}") from None
        if encoder.weights_sha256 != checkpoint.encoder_sha256:
            raise CheckpointError(
                f"model {checkpoint.name} was trained on {checkpoint.encoder_name} weights "
                f"{checkpoint.encoder_sha256[:12]}, but {encoder.weights_path} has {encoder.weights_sha256[:12]}"
            )
        try:
            apply_tuned_weights(encoder, checkpoint.encoder_tuned)
        except ValueError as error:
            raise CheckpointError(f"model {checkpoint.name}: {error}") from None
        return cls(checkpoint, encoder, torch_device)

    @property
    def model_id(self) -> str:
        return self.checkpoint.model_id

    @property
    def model_checksum(self) -> str:
        return self.checkpoint.sha256

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    @torch.inference_mode()
    def encode(self, pixels: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Feature grids (B, cells, C) of uint8 pixels (B, 224, 224, 3)."""
        batch = torch.as_tensor(pixels).to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2).float().div_(255)
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return self.encoder.grid(batch).float()

    @torch.inference_mode()
    def describe(self, grid: torch.Tensor, beam_size: int = 3) -> list[Caption]:
        """Captions (and likely words, if the model has a word-presence head) of encoded photos."""
        vocab = self.checkpoint.vocab
        hypotheses = beam_search(self.decoder, grid, vocab, beam_size)
        words: list[list[tuple[str, float]]] = [[] for _ in hypotheses]
        if self.checkpoint.concepts:
            probabilities = self.decoder.concept_probabilities(grid)
            top = probabilities.topk(min(CONCEPT_WORDS_KEPT, probabilities.shape[1]), dim=1)
            for row, (values, ids) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True)):
                words[row] = [(self.checkpoint.concepts[i], round(p, 4))
                              for p, i in zip(values, ids, strict=True) if p >= CONCEPT_MIN_PROBABILITY]
        return [Caption(vocab.decode(h.tokens), h.score, w) for h, w in zip(hypotheses, words, strict=True)]

    def caption_pixels(self, pixels: torch.Tensor | np.ndarray, beam_size: int = 3) -> list[Caption]:
        return self.describe(self.encode(pixels), beam_size)

    def caption_images(self, images: list[Image.Image], beam_size: int = 3) -> list[Caption]:
        return self.caption_pixels(np.stack([pixels_of(image, INPUT_SIZE) for image in images]), beam_size)

    def caption_files(self, paths: list[str | Path], beam_size: int = 3) -> list[Caption | PhotoDecodeError]:
        """A caption per file, or the PhotoDecodeError that file raised."""
        results: list[Caption | PhotoDecodeError] = []
        decoded, rows = [], []
        for path in paths:
            try:
                decoded.append(decode_photo(path).pixels)
                rows.append(len(results))
                results.append(PhotoDecodeError("pending"))
            except PhotoDecodeError as error:
                results.append(error)
        if decoded:
            for row, caption in zip(rows, self.caption_pixels(np.stack(decoded), beam_size), strict=True):
                results[row] = caption
        return results

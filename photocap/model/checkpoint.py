"""The captioner's checkpoint: one file with the decoder's weights (fp16), its vocabulary (JSON-able list),
hyper-parameters, the encoder it was trained on (name and weight checksum, plus the weights of any encoder
stage fine-tuned with the decoder) and the metrics it reached.
Only plain types and tensors are stored, so it loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from photocap.atomic import write_atomically
from photocap.model.decoder import CaptionDecoder, DecoderConfig
from photocap.model.vocab import Vocabulary

FORMAT = "photocap.captioner/1"


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable, corrupt or does not fit this code."""


@dataclass
class Checkpoint:
    decoder: CaptionDecoder
    vocab: Vocabulary
    encoder_name: str
    encoder_sha256: str
    concepts: list[str] = field(default_factory=list)  # the words of the word-presence head, in order
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)  # settings the model was trained with
    name: str = ""
    sha256: str = ""  # of the checkpoint file; with `name`, identifies the model that wrote a caption
    # Fine-tuned encoder weights (trunk state-dict entries, e.g. "layer4.*") that replace the installed ones.
    encoder_tuned: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.sha256[:12]}" if self.sha256 else self.name


def _half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().cpu()
            for k, v in state.items()}


def _full(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write atomically: a reader never sees half a file, a crash never leaves one."""
    payload = {
        "format": FORMAT,
        "name": checkpoint.name,
        "config": checkpoint.decoder.config.to_dict(),
        "weights": _half(checkpoint.decoder.state_dict()),
        "vocab": checkpoint.vocab.to_json(),
        "encoder": {"name": checkpoint.encoder_name, "weights_sha256": checkpoint.encoder_sha256,
                    "tuned": _half(checkpoint.encoder_tuned)},
        "concepts": list(checkpoint.concepts),
        "metrics": dict(checkpoint.metrics),
        "training": dict(checkpoint.training),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(str(path), buffer.getvalue(), replace=True)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> Checkpoint:
    """Load a checkpoint into an eval-mode float32 decoder on `device`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint {path} is corrupt or not a photocap checkpoint ({first_line})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a {FORMAT} checkpoint (found {found!r})")
    try:
        config = DecoderConfig(**payload["config"])
        vocab = Vocabulary.from_json(payload["vocab"])
        if len(vocab) != config.vocab_size:
            raise CheckpointError(f"{path}: vocabulary has {len(vocab)} words, weights expect {config.vocab_size}")
        decoder = CaptionDecoder(config)
        decoder.load_state_dict(_full(payload["weights"]))
        encoder_tuned = _full(payload["encoder"].get("tuned", {}))
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0]
        raise CheckpointError(f"checkpoint {path} does not match this photocap version ({first_line})") from None
    return Checkpoint(
        decoder=decoder.to(device).eval(),
        vocab=vocab,
        encoder_name=payload["encoder"]["name"],
        encoder_sha256=payload["encoder"]["weights_sha256"],
        concepts=list(payload.get("concepts", [])),
        encoder_tuned=encoder_tuned,
        metrics=dict(payload.get("metrics", {})),
        training=dict(payload.get("training", {})),
        name=payload.get("name") or path.stem,
        sha256=file_sha256(path),
    )

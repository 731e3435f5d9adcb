"""The inference API: load a shipped model once, then caption and tag batches of photos on a device.

    captioner = Captioner.load()                       # the default shipped model, CUDA if present
    captions = captioner.caption_files(["beach.jpg"])  # or caption_images(pil_images), caption_pixels(array)
    captions[0].text, captions[0].tags                 # "a dog runs on the beach", [Tag("dog", 0.97, ...), ...]

Each photo's caption is chosen among the beam's candidates (and, where those name what the tags contradict,
the describer's or a guided search's) by photocap.model.chooser, with the ImageNet tagger
(photocap.model.tags) and, when one is loaded, the COCO object detector (photocap.model.detector) as evidence.
The describer (photocap.model.describer) proposes captions people wrote for everyday photos of the same detected
objects: "two giraffes standing next to each other", which the Flickr8k decoder cannot say. It is asked only for
photos whose beam captions the chooser turned down.
The tagger reads EfficientNet-Lite0's pooled feature: the default model's own encoder computes it; a model on
another encoder runs the Lite0 trunk beside it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from photocap.media.decode import INPUT_SIZE, PhotoDecodeError, decode_photo, pixels_of
from photocap.model.beam import Hypothesis, beam_candidates
from photocap.model.calibration import Calibration, CaptionSignals, shipped_calibration
from photocap.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from photocap.model.chooser import CHOOSER_RULES, CaptionChooser, ChosenCaption, Evidence, Guidance, with_detections
from photocap.model.describer import Describer
from photocap.model.detector import Detection, Detector, DetectorUnavailable, load_detector
from photocap.model.encoder import Encoder, EncoderUnavailable, apply_tuned_weights, load_encoder
from photocap.model.installed import DETECTOR_WEIGHTS
from photocap.model.object_input import ObjectInput, detections_input
from photocap.model.precision import autocast_for, forward_in_chunks, resolve_precision
from photocap.model.tag_vocabulary import SEARCH_TAG_MIN_PROBABILITY, object_tag
from photocap.model.tags import Tag, Tagger, TaggerUnavailable

DEFAULT_MODEL = "grounded_lite0"
TAGGER_ENCODER = "efficientnet_lite0"  # the encoder whose ImageNet head makes the tags
CONCEPT_WORDS_KEPT = 30  # per photo, the most probable words of the word-presence head
CONCEPT_MIN_PROBABILITY = 0.05
GUIDED_SEARCHES = 2  # a second guided search forbids what the first one invented


@dataclass(frozen=True)
class Caption:
    text: str
    score: float | None  # length-normalised log-probability under the model (None: built from tags)
    words: list[tuple[str, float]] = field(default_factory=list)  # likely words, most probable first
    tags: list[Tag] = field(default_factory=list)  # most probable first
    confidence: float | None = None  # how sure the chooser is that the caption is true (None: no tagger)
    method: str = "beam"  # how it was chosen (photocap.model.chooser.METHODS)
    feature: np.ndarray | None = None  # the tagger's pooled feature (float16), to tag again without decoding
    detections: list[Detection] | None = None  # what the detector found (None: no detector looked)


@dataclass
class Draft:
    """A photo described but for its caption, which is chosen (`verdict` a ChosenCaption) or waits for a
    guided search (`verdict` a Guidance; `grid` kept for it)."""

    candidates: list[tuple[str, float]]  # the beam's (text, score), best first
    words: list[tuple[str, float]]
    tags: list[Tag] = field(default_factory=list)
    evidence: Evidence | None = None
    feature: np.ndarray | None = None
    verdict: ChosenCaption | Guidance | None = None
    grid: torch.Tensor | None = None
    detections: list[Detection] | None = None

    @property
    def waiting(self) -> bool:
        return isinstance(self.verdict, Guidance)

    def caption(self) -> Caption:
        assert isinstance(self.verdict, ChosenCaption), "finish() the draft first"
        chosen, tagged = self.verdict, self.evidence is not None
        return Caption(chosen.text, _score_of(chosen, self.candidates), self.words, self.tags,
                       round(chosen.confidence, 4) if tagged else None, chosen.method, self.feature, self.detections)


def shipped_models() -> dict[str, Path]:
    """Captioning models shipped inside the package, by name (the object detector's weights are not one)."""
    assets = resources.files("photocap") / "assets"
    return {Path(str(p)).stem: Path(str(p)) for p in assets.iterdir()
            if str(p).endswith(".pt") and Path(str(p)).name != DETECTOR_WEIGHTS}


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
    def __init__(self, checkpoint: Checkpoint, encoder: Encoder, device: torch.device,
                 tagger: Tagger | None = None, tag_encoder: Encoder | None = None,
                 chooser: CaptionChooser | None = None, precision: str = "auto", detector: Detector | None = None,
                 describer: Describer | None = None, calibration: Calibration | None = None):
        self.checkpoint, self.encoder, self.device = checkpoint, encoder, device
        # Turns the chooser's raw confidence into the chance that a caption is right (None: raw).
        self.calibration = calibration
        self.precision = resolve_precision(precision, device)  # "fp32", "bf16" or "fp16" (CUDA)
        self._autocast = autocast_for(device, self.precision)
        self.tagger, self.chooser = tagger, chooser
        # The encoder whose pooled feature the tagger reads, when it is not the captioner's own.
        self.tag_encoder = tag_encoder
        for trunk in {id(e): e for e in (encoder, tag_encoder) if e is not None}.values():
            trunk.trunk.to(device)
            if device.type == "cuda":
                trunk.trunk.to(memory_format=torch.channels_last)
        self.decoder = checkpoint.decoder.to(device).eval()
        self.detector = detector
        self.describer = describer if detector is not None else None

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto",
             encoder_weights: Path | None = None, precision: str = "auto",
             detector_size: int | None = None) -> Captioner:
        """Load a model (see resolve_model) and the encoder it was trained on, to run in `precision`
        (photocap.model.precision), with the object detector at `detector_size` px (None: no detector);
        raises CheckpointError."""
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
        tagger, tag_encoder = _tagger_for(encoder, checkpoint, torch_device)
        detector, describer = None, None
        if detector_size is not None:
            try:
                detector = load_detector(torch_device, precision, detector_size)
            except DetectorUnavailable as error:
                raise CheckpointError(str(error)) from None
            describer = Describer.load()
        return cls(checkpoint, encoder, torch_device, tagger, tag_encoder, CaptionChooser() if tagger else None,
                   precision, detector, describer, shipped_calibration() if tagger else None)

    @property
    def model_id(self) -> str:
        """The captioning models that write captions: the decoder, and the describer beside it."""
        if self.describer is None:
            return self.checkpoint.model_id
        return f"{self.checkpoint.model_id}+{self.describer.model_id}"

    @property
    def model_checksum(self) -> str:
        """The decoder's checksum alone, or with the describer, the calibration, and the caption chooser's rules and
        vocabulary (the words it reads in a caption as a tag: "motorbike" is a motorcycle) that change what is
        stored."""
        parts = [self.checkpoint.sha256]
        if self.describer is not None:
            parts.append(self.describer.sha256)
        if self.calibration is not None:
            parts.append(self.calibration.sha256)
        if self.chooser is not None:
            parts.append(f"chooser-rules-{CHOOSER_RULES}/{self.chooser.vocabulary.sha256}")
        return parts[0] if len(parts) == 1 else hashlib.sha256("+".join(parts).encode()).hexdigest()

    @property
    def detector_id(self) -> str | None:
        return self.detector.id if self.detector is not None else None

    @property
    def detector_size(self) -> int | None:
        """The input size the detector wants its photos decoded at (None: no detector)."""
        return self.detector.input_size if self.detector is not None else None

    def encode(self, pixels: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Feature grids (B, cells, C) of uint8 pixels (B, 224, 224, 3)."""
        return self._grid_of(self.encoder, pixels)

    @torch.inference_mode()
    def _grid_of(self, encoder: Encoder, pixels: torch.Tensor | np.ndarray) -> torch.Tensor:
        batch = torch.as_tensor(pixels).to(self.device, non_blocking=True)
        batch = batch.permute(0, 3, 1, 2).float().div_(255)
        if self.device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return forward_in_chunks(lambda chunk: encoder.grid(chunk).float(), batch)

    @torch.inference_mode()
    def tag_features(self, pixels: torch.Tensor | np.ndarray, grid: torch.Tensor) -> torch.Tensor | None:
        """The pooled feature (B, 1280) the tagger reads: the mean of `grid` when the captioner's encoder is
        the tagger's, else the tag encoder's on `pixels`; None without a tagger."""
        if self.tagger is None:
            return None
        if self.tag_encoder is None:
            return grid.mean(dim=1)
        return self._grid_of(self.tag_encoder, pixels).mean(dim=1)

    @torch.inference_mode()
    def describe(self, grid: torch.Tensor, beam_size: int = 3, pooled: torch.Tensor | None = None,
                 detections: Sequence[list[Detection]] | None = None) -> list[Caption]:
        """Captions, tags and likely words of encoded photos. `pooled` is the tagger's feature (see
        tag_features); when the captioner's encoder is the tagger's it defaults to the grid's mean.
        `detections`, per photo, are the detector's findings (see detect)."""
        return self.finish(self.draft(grid, beam_size, pooled, detections), beam_size)

    def detect(self, detector_pixels: torch.Tensor | np.ndarray) -> list[list[Detection]]:
        """The detector's findings in uint8 pixels (B, S, S, 3) at its input size (detector_size)."""
        assert self.detector is not None, "no detector loaded"
        batch = torch.as_tensor(detector_pixels).permute(0, 3, 1, 2)
        return self.detector.detect(batch)

    @torch.inference_mode()
    def draft(self, grid: torch.Tensor, beam_size: int = 3, pooled: torch.Tensor | None = None,
              detections: Sequence[list[Detection]] | None = None) -> list[Draft]:
        """The first step of `describe`: each photo's beam candidates, tags and the chooser's verdict. Photos
        whose candidates the chooser turned down wait for a guided search (`finish`), which costs as much for
        a few photos as for a batch: a caller may gather them across batches."""
        if pooled is None and self.tagger is not None and self.tag_encoder is None:
            pooled = grid.mean(dim=1)
        vocab = self.checkpoint.vocab
        seen: Sequence[list[Detection] | None] = detections if detections is not None else [None] * len(grid)
        candidates = [[(vocab.decode(h.tokens), h.score) for h in hypotheses]
                      for hypotheses in beam_candidates(self.decoder, grid, vocab, beam_size,
                                                        objects=self._objects(seen, grid.device))]
        words = self._likely_words(grid)
        if pooled is None or self.tagger is None or self.chooser is None:
            return [Draft(c, w, verdict=ChosenCaption(c[0][0], float("nan"), "beam"), detections=d)
                    for c, w, d in zip(candidates, words, seen, strict=True)]
        tags, evidence = self.tagger.tags_and_evidence(pooled, SEARCH_TAG_MIN_PROBABILITY)
        features = pooled.detach().to("cpu", torch.float16).numpy()
        drafts = []
        for i, (found, proof, objects) in enumerate(zip(candidates, evidence, seen, strict=True)):
            if objects is not None:
                proof = with_detections(proof, [(object_tag(d.label), d.score, d.area) for d in objects],
                                        self.chooser.vocabulary, self.chooser.settings)
            if self.checkpoint.concepts:  # the evidence for colours and clothes
                proof = replace(proof, words=dict(words[i]))
            verdict = self.chooser.judge(found, proof)
            waiting = isinstance(verdict, Guidance)
            drafts.append(Draft(found, words[i], tags[i], proof, features[i], verdict,
                                grid[i].detach().clone() if waiting else None, objects))
        return drafts

    @torch.inference_mode()
    def finish(self, drafts: Sequence[Draft], beam_size: int = 3) -> list[Caption]:
        """The captions of `drafts`, in order, after the describer and guided searches (all waiting
        drafts in one batch)."""
        self._describe_waiting(drafts)
        for search in range(GUIDED_SEARCHES):
            waiting = [d for d in drafts if isinstance(d.verdict, Guidance)]
            if not waiting:
                break
            assert self.chooser is not None
            grid = torch.stack([d.grid for d in waiting if d.grid is not None])
            guided = self._guided_candidates(grid, [d.verdict for d in waiting if isinstance(d.verdict, Guidance)],
                                             beam_size, self._objects([d.detections for d in waiting], grid.device))
            last = search == GUIDED_SEARCHES - 1
            for draft, found in zip(waiting, guided, strict=True):
                assert isinstance(draft.verdict, Guidance) and draft.evidence is not None
                draft.verdict = self.chooser.settle(draft.candidates, found, draft.evidence,
                                                    None if last else draft.verdict)
        return [self._calibrated(draft.caption()) for draft in drafts]

    def signals(self, caption: Caption) -> CaptionSignals:
        """What the calibration reads of a caption this captioner chose (with its raw confidence)."""
        assert caption.confidence is not None
        return CaptionSignals(caption.text, caption.method, caption.confidence, caption.score, dict(caption.words),
                              self._concept_words, [d.score for d in caption.detections or ()])

    def _calibrated(self, caption: Caption) -> Caption:
        if self.calibration is None or caption.confidence is None:
            return caption
        return replace(caption, confidence=round(self.calibration.probability(self.signals(caption)), 4))

    @functools.cached_property
    def _concept_words(self) -> frozenset[str]:
        return frozenset(self.checkpoint.concepts)

    def _describe_waiting(self, drafts: Sequence[Draft]) -> None:
        """The describer's captions for the detected objects of the drafts waiting for a caption; a draft whose
        describer captions the chooser turns down waits for a guided search."""
        for draft in drafts:
            if not isinstance(draft.verdict, Guidance) or self.describer is None or not draft.detections \
                    or draft.evidence is None:
                continue
            assert self.chooser is not None
            candidates = [(text, 0.0) for text in self.describer.candidates(draft.detections)]
            chosen = self.chooser.accept(candidates, draft.evidence, "grounded")
            if chosen is not None:
                draft.verdict = chosen

    def _objects(self, found: Sequence[list[Detection] | None], device: torch.device) -> ObjectInput | None:
        """What a grounded decoder is told of each photo's objects (None for other decoders)."""
        return detections_input(found, device) if self.decoder.grounded else None

    def _likely_words(self, grid: torch.Tensor) -> list[list[tuple[str, float]]]:
        words: list[list[tuple[str, float]]] = [[] for _ in range(grid.shape[0])]
        if self.checkpoint.concepts:
            probabilities = self.decoder.concept_probabilities(grid)
            top = probabilities.topk(min(CONCEPT_WORDS_KEPT, probabilities.shape[1]), dim=1)
            for row, (values, ids) in enumerate(zip(top.values.tolist(), top.indices.tolist(), strict=True)):
                words[row] = [(self.checkpoint.concepts[i], round(p, 4))
                              for p, i in zip(values, ids, strict=True) if p >= CONCEPT_MIN_PROBABILITY]
        return words

    def _guided_candidates(self, grid: torch.Tensor, guidance: list[Guidance], beam_size: int,
                           objects: ObjectInput | None = None) -> list[list[tuple[str, float]]]:
        assert self.chooser is not None
        vocab = self.checkpoint.vocab
        weights = torch.zeros(len(guidance), len(vocab), device=grid.device)
        for row, guide in enumerate(guidance):
            for index, weight in self.chooser.guidance_weights(guide, vocab.words).items():
                weights[row, index] = weight
        found: list[list[Hypothesis]] = beam_candidates(self.decoder, grid, vocab, beam_size, guidance=weights,
                                                        objects=objects)
        return [[(vocab.decode(h.tokens), h.score) for h in hypotheses] for hypotheses in found]

    def caption_pixels(self, pixels: torch.Tensor | np.ndarray, beam_size: int = 3,
                       detector_pixels: torch.Tensor | np.ndarray | None = None) -> list[Caption]:
        return self.finish(self.draft_pixels(pixels, beam_size, detector_pixels), beam_size)

    def draft_pixels(self, pixels: torch.Tensor | np.ndarray, beam_size: int = 3,
                     detector_pixels: torch.Tensor | np.ndarray | None = None) -> list[Draft]:
        """Drafts of uint8 photos (B, 224, 224, 3); with a detector, `detector_pixels` are the same photos at its
        input size (B, S, S, 3) (without them the detector does not look)."""
        grid = self.encode(pixels)
        detections = self.detect(detector_pixels) if self.detector is not None and detector_pixels is not None else None
        return self.draft(grid, beam_size, self.tag_features(pixels, grid), detections)

    def caption_images(self, images: list[Image.Image], beam_size: int = 3) -> list[Caption]:
        size = self.detector_size
        detector_pixels = np.stack([pixels_of(image, size) for image in images]) if size else None
        return self.caption_pixels(np.stack([pixels_of(image, INPUT_SIZE) for image in images]), beam_size,
                                   detector_pixels)

    def caption_files(self, paths: list[str | Path], beam_size: int = 3) -> list[Caption | PhotoDecodeError]:
        """A caption per file, or the PhotoDecodeError that file raised."""
        results: list[Caption | PhotoDecodeError] = []
        decoded, rows = [], []
        for path in paths:
            try:
                decoded.append(decode_photo(path, detector_size=self.detector_size))
                rows.append(len(results))
                results.append(PhotoDecodeError("pending"))
            except PhotoDecodeError as error:
                results.append(error)
        if decoded:
            detector_pixels = np.stack([p.detector_pixels for p in decoded]) if self.detector_size else None
            captions = self.caption_pixels(np.stack([p.pixels for p in decoded]), beam_size, detector_pixels)
            for row, caption in zip(rows, captions, strict=True):
                results[row] = caption
        return results


def _score_of(chosen: ChosenCaption, candidates: list[tuple[str, float]]) -> float | None:
    """The beam's score of the chosen caption, if the beam proposed it."""
    return next((score for text, score in candidates if text == chosen.text), None)


def _tagger_for(encoder: Encoder, checkpoint: Checkpoint,
                device: torch.device) -> tuple[Tagger | None, Encoder | None]:
    """The tagger, and the Lite0 trunk it reads when the captioner's encoder is another (or a tuned) one.
    Without the Lite0 weights the captioner still captions, untagged and unchecked."""
    try:
        tagger = Tagger.load(device)
    except TaggerUnavailable:
        return None, None
    own = encoder.name == TAGGER_ENCODER and not checkpoint.encoder_tuned
    if own and encoder.weights_sha256 == tagger.weights_sha256:
        return tagger, None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return tagger, load_encoder(TAGGER_ENCODER)
    except EncoderUnavailable:
        return None, None

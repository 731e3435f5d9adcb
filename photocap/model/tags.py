"""Object and scene tags for photos, from the ImageNet-1k classifier head inside EfficientNet-Lite0's weights.

    tagger = Tagger.load()
    pooled = captioner.encode(pixels).mean(dim=1)   # (B, 1280): the mean of the 7x7 grid is what the head reads
    for tags in tagger.tags(pooled):
        print([(tag.word, tag.probability) for tag in tags])   # golden retriever 0.71, dog 0.97, animal 0.98 ...

The head is the classifier that ships with the encoder (`_fc`, Linear 1280 -> 1000; the captioner's encoder
replaces it with Identity). fc(mean of the grid) equals the full network's logits: the grid already went through
the head convolution, its batch norm and ReLU6, and the network pools, then applies dropout (off in eval), then fc.
The tag map (photocap/assets/imagenet_tags.json, built by train/tag_map.py from WordNet) turns the 1,000 classes
into the words people search with; a tag's probability is the sum of its classes' probabilities, so many dog
breeds at 0.1 each make a confident "dog". The tags assume the pooled feature of the untuned Lite0 trunk: compare
`weights_sha256` with the captioner's encoder before trusting them.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from photocap.model.chooser import Evidence, everyday_words
from photocap.model.installed import EncoderUnavailable, lite0_weights, sha256_of
from photocap.model.tag_vocabulary import (
    TAG_MIN_PROBABILITY,
    TAGS_KEPT,
    TagMap,
    TagMapError,
    default_map_path,
    feature_encoder_id,
    read_tag_map,
    tagger_id,
)

EVIDENCE_FLOOR = 0.005  # tags below this are left out of the chooser's evidence


class TaggerUnavailable(RuntimeError):
    """The classifier head or the tag map cannot be loaded; the message says why."""


@dataclass(frozen=True)
class Tag:
    word: str
    probability: float
    path: str  # "animal|dog|golden retriever", for Lightroom's lr:hierarchicalSubject
    kind: str  # coarse kind: person, animal, food, vehicle, ... (TagMap.kinds)


def default_weights_path() -> Path:
    try:
        return lite0_weights()
    except EncoderUnavailable as error:
        raise TaggerUnavailable(str(error)) from None


@lru_cache(maxsize=4)
def _read_head(path: Path) -> tuple[torch.Tensor, torch.Tensor, str]:
    try:
        # The whole file is read (18 MB, old pickle format, no mmap); only the head is kept.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise TaggerUnavailable(f"cannot read the classifier weights {path}: {error}") from None
    if not isinstance(state, dict) or "_fc.weight" not in state or "_fc.bias" not in state:
        raise TaggerUnavailable(f"{path} has no EfficientNet classifier head (_fc.weight, _fc.bias)")
    return state["_fc.weight"].float(), state["_fc.bias"].float(), sha256_of(path)


class Tagger:
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, tag_map: TagMap, weights_sha256: str,
                 device: torch.device):
        if weight.shape[0] != len(tag_map.class_names):
            raise TaggerUnavailable(f"the head has {weight.shape[0]} classes, the tag map "
                                    f"{len(tag_map.class_names)}")
        self.device, self.map, self.weights_sha256 = device, tag_map, weights_sha256
        self.weight, self.bias = weight.to(device), bias.to(device)
        membership = torch.zeros(len(tag_map.class_names), len(tag_map.entries))
        for column, entry in enumerate(tag_map.entries):
            membership[list(entry.classes), column] = 1.0
        self.membership = membership.to(device)
        self._words = tuple(entry.word for entry in tag_map.entries)
        shares = everyday_words()["person_given_class"]
        if len(shares) != len(tag_map.class_names):
            raise TaggerUnavailable("everyday_words.json does not fit the tag map; rebuild it (train.everyday_words)")
        self.person_given_class = torch.tensor(shares, dtype=torch.float32, device=device)

    @classmethod
    def load(cls, device: str | torch.device = "cpu", weights: Path | None = None,
             tag_map: Path | None = None) -> Tagger:
        """The head from the installed EfficientNet-Lite0 weights (or `weights`) and the shipped tag map."""
        if str(device) == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        weight, bias, weights_sha256 = _read_head(Path(weights) if weights else default_weights_path())
        try:
            tags = read_tag_map(Path(tag_map) if tag_map else default_map_path())
        except TagMapError as error:
            raise TaggerUnavailable(str(error)) from None
        return cls(weight, bias, tags, weights_sha256, torch.device(device))

    @property
    def tagger_id(self) -> str:
        return tagger_id(self.weights_sha256, self.map)

    @property
    def feature_encoder(self) -> str:
        """Names the encoder whose pooled features this head reads (kept features must come from it)."""
        return feature_encoder_id(self.weights_sha256)

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    @torch.inference_mode()
    def class_probabilities(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, 1280) pooled features -> (B, 1000) ImageNet class probabilities."""
        pooled = pooled.to(self.device, torch.float32)
        return torch.addmm(self.bias, pooled, self.weight.T).softmax(dim=1)

    @torch.inference_mode()
    def tag_probabilities(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, 1280) -> (B, tags): each tag's classes summed (clamped: float sums can pass 1 by a hair)."""
        return self._tag_probabilities(self.class_probabilities(pooled))

    def _tag_probabilities(self, classes: torch.Tensor) -> torch.Tensor:
        return (classes @ self.membership).clamp_(0.0, 1.0)

    @torch.inference_mode()
    def tags_and_evidence(self, pooled: torch.Tensor,
                          min_probability: float = TAG_MIN_PROBABILITY) -> tuple[list[list[Tag]], list[Evidence]]:
        """`tags` and, from the same probabilities, what the caption chooser needs of each photo: every tag's
        probability (those above a trace) and the chance that it shows people (photocap.model.chooser)."""
        classes = self.class_probabilities(pooled)
        probabilities = self._tag_probabilities(classes)
        people = (classes @ self.person_given_class).tolist()
        evidence = []
        for row, chance in zip(probabilities, people, strict=True):
            kept = (row >= EVIDENCE_FLOOR).nonzero().flatten().tolist()
            values = row[kept].tolist()
            evidence.append(Evidence({self._words[i]: p for i, p in zip(kept, values, strict=True)}, float(chance)))
        return self._top_tags(probabilities, min_probability, TAGS_KEPT), evidence

    def tags(self, pooled: torch.Tensor, min_probability: float = TAG_MIN_PROBABILITY,
             limit: int = TAGS_KEPT) -> list[list[Tag]]:
        """Per photo, the tags at `min_probability` or above, most probable first (a tag before its children)."""
        return self._top_tags(self.tag_probabilities(pooled), min_probability, limit)

    def _top_tags(self, probabilities: torch.Tensor, min_probability: float, limit: int) -> list[list[Tag]]:
        top = probabilities.topk(min(limit, probabilities.shape[1]), dim=1)
        entries = self.map.entries
        return [[Tag(entries[i].word, round(p, 4), entries[i].path, entries[i].kind)
                 for p, i in zip(values, indices, strict=True) if p >= min_probability]
                for values, indices in zip(top.values.tolist(), top.indices.tolist(), strict=True)]

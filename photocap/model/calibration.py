"""A caption's confidence as the chance that it is right: the chooser's evidence, the captioner's own word
probabilities and how the caption was made, weighed by a logistic regression fitted on captions checked
against people's references (`python -m train.calibrate`, which writes assets/calibration.json and prints
its AUROC and reliability table; docs/MODEL.md).

The chooser's raw confidence (the weakest evidence for what a caption names) ranks captions, but it is not a
probability: 0.98 stood on "a red and white uniform is running through the air" for a stop sign. Below
`unsure_below` a caption is more likely wrong than right: the web app marks it and lists it for review, and
export does not write it as alt text unless asked to.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CALIBRATION_FILE = "calibration.json"
METHODS_WEIGHED = ("grounded", "guided", "replaced", "tags", "nothing sure")  # "beam" is the baseline
FEATURES = ("raw_confidence", "word_support_mean", "word_support_min", "beam_score", "top_detection",
            *(f"method_{method.replace(' ', '_')}" for method in METHODS_WEIGHED))
# Likely words under this probability are not in a photo's kept list (photocap.model.captioner).
UNLISTED_WORD = 0.0


@dataclass(frozen=True)
class CaptionSignals:
    """What the calibration reads of one chosen caption."""

    text: str
    method: str
    raw_confidence: float
    beam_score: float | None  # length-normalised log-probability, when the beam wrote it
    likely_words: Mapping[str, float]  # the word-presence head's probabilities (its most probable words)
    concept_words: frozenset[str]  # every word that head knows
    detection_scores: Sequence[float] = ()


def features_of(signals: CaptionSignals) -> list[float]:
    """The feature vector of FEATURES, in order."""
    known = [word for word in signals.text.lower().split() if word in signals.concept_words]
    support = [signals.likely_words.get(word, UNLISTED_WORD) for word in known]
    beam_score = signals.beam_score if signals.method in ("beam", "guided", "replaced") else None
    return [
        signals.raw_confidence,
        sum(support) / len(support) if support else 0.0,
        min(support) if support else 0.0,
        beam_score if beam_score is not None else 0.0,
        max(signals.detection_scores, default=0.0),
        *(1.0 if signals.method == method else 0.0 for method in METHODS_WEIGHED),
    ]


@dataclass(frozen=True)
class Calibration:
    weights: tuple[float, ...]  # one per FEATURES, on standardised features
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    unsure_below: float  # captions less likely right than this are unsure (marked, reviewed, not exported)
    sha256: str = ""

    def probability(self, signals: CaptionSignals) -> float:
        """The chance that the caption is right, in [0, 1]."""
        return self.probability_of(features_of(signals))

    def probability_of(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * (x - m) / s for w, x, m, s in
                            zip(self.weights, features, self.means, self.scales, strict=True))
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_json(self, extra: Mapping[str, object] | None = None) -> str:
        document = {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias,
                    "means": list(self.means), "scales": list(self.scales), "unsure_below": self.unsure_below,
                    **(extra or {})}
        return json.dumps(document, indent=1) + "\n"


def parse_calibration(text: str) -> Calibration:
    document = json.loads(text)
    if tuple(document["features"]) != FEATURES:
        raise ValueError(f"{CALIBRATION_FILE} was fitted on other features: {document['features']}")
    return Calibration(tuple(document["weights"]), float(document["bias"]), tuple(document["means"]),
                       tuple(document["scales"]), float(document["unsure_below"]),
                       hashlib.sha256(text.encode()).hexdigest())


@lru_cache(maxsize=1)
def shipped_calibration() -> Calibration:
    return parse_calibration((resources.files("photocap") / "assets" / CALIBRATION_FILE).read_text())


def unsure_below() -> float:
    """The confidence under which a caption is unsure (the shipped calibration's measured threshold)."""
    return shipped_calibration().unsure_below


def is_unsure(caption_source: str | None, confidence: float | None, below: float) -> bool:
    """Whether a photo's caption is the model's with a confidence under `below`; the user's own captions and those
    the files carry never are. (The web app's review list asks the catalog the same: Catalog.captions_to_review.)"""
    return caption_source == "model" and confidence is not None and confidence < below

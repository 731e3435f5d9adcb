"""The caption confidence's calibration: the fit (train.calibrate) on data whose answer is known, and the shipped
calibration's behaviour on hand-built captions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photocap.model.calibration import FEATURES, CaptionSignals, parse_calibration, shipped_calibration
from train.calibrate import auroc, fit

CONCEPTS = frozenset({"dog", "runs", "grass", "beach", "giraffe"})


def signals(raw: float, support: float = 0.9, method: str = "beam") -> CaptionSignals:
    return CaptionSignals("a dog runs on the grass", method, raw, -0.4,
                          {"dog": support, "runs": support, "grass": support}, CONCEPTS, [0.8])


def test_the_fit_finds_the_feature_that_predicts_rightness() -> None:
    rng = np.random.default_rng(1)
    features = rng.random((600, len(FEATURES)))
    right = rng.random(600) < 1 / (1 + np.exp(-8 * (features[:, 0] - 0.5)))  # only raw confidence matters
    calibration = fit(features, right)
    assert calibration.weights[0] > 1.0 and max(abs(w) for w in calibration.weights[1:]) < 0.5
    predicted = np.array([calibration.probability_of(row) for row in features])
    assert auroc(predicted, right) > 0.8
    assert abs(predicted.mean() - right.mean()) < 0.03  # calibrated on average
    assert auroc(features[:, 1], right) == pytest.approx(0.5, abs=0.08)


def test_the_shipped_calibration_trusts_stronger_evidence_more() -> None:
    calibration = shipped_calibration()
    weak, strong = calibration.probability(signals(0.1)), calibration.probability(signals(0.95))
    assert 0.0 <= weak < strong <= 1.0
    unsupported = calibration.probability(signals(0.95, support=0.0))
    assert unsupported < strong  # the captioner's own words head does not see the words it wrote
    assert 0.0 < calibration.unsure_below < 1.0


def test_a_calibration_fitted_on_other_features_is_refused() -> None:
    document = json.loads(shipped_calibration().to_json())
    document["features"] = ["raw_confidence"]
    with pytest.raises(ValueError, match="other features"):
        parse_calibration(json.dumps(document))

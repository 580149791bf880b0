"""The trained model on the held-out split it never saw (goal: 0.95 intent, 0.95 entity value)."""
from __future__ import annotations

import pytest

from benchmarks.evaluate_nlu import evaluate

pytestmark = pytest.mark.e2e

# Regression floor, below the 0.95 goal so a retrain's normal variation does not fail CI. Measured on a
# holdout written apart from the training data (no near duplicates: tests/unit/test_nlu_data.py), the
# model scores 0.86 on intents (2026-12-02); the 0.90 floor held only while a third of the holdout
# nearly repeated training examples. The floor is set under the honest figure; raising it back to 0.90
# needs better training data, not an easier holdout.
MIN_INTENT_ACCURACY = 0.80
MIN_ENTITY_VALUE_ACCURACY = 0.90


def test_held_out_intent_and_entity_value_accuracy(stack):
    report = evaluate(stack.rasa_url, stack.config.rasa_token)
    print(f"\nheld-out intent accuracy {report.intent_accuracy:.3f}, "
          f"entity value accuracy {report.entity_value_accuracy:.3f} over {report.examples} examples")
    assert report.intent_accuracy >= MIN_INTENT_ACCURACY, report.confusions
    assert report.entity_value_accuracy >= MIN_ENTITY_VALUE_ACCURACY

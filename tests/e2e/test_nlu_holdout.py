"""The trained model on the held-out sets it never saw, Chinese and English apart (issue goals: Chinese 0.97 intent and
0.98 entity value, English 0.95 intent)."""
from __future__ import annotations

import pytest

from benchmarks.evaluate_nlu import evaluate

pytestmark = pytest.mark.e2e

# Regression floor, below the 0.95 goal so a retrain's normal variation does not fail CI. Measured on a
# holdout written apart from the training data (no near duplicates: tests/unit/test_nlu_data.py), the
# model scores 0.86 on intents (2026-12-02); the 0.90 floor held only while a third of the holdout
# nearly repeated training examples. The floor is set under the honest figure; raising it back to 0.90
# needs better training data, not an easier holdout.
# English (2026-12-06, first model with English): 0.838 intent, 0.803 entity values.
# After 2,314 more training lines (2026-12-06, session 9): Chinese 0.907 intent, 1.000 entity values; English 0.869
# and 0.921. Floors set a few points under them (a retrain moves single lines both ways).
# English with the encoder's second opinion (2026-12-08, three trainings): 0.907–0.920; the floor fails without it.
MIN_INTENT_ACCURACY = {"zh": 0.85, "en": 0.88}
MIN_ENTITY_VALUE_ACCURACY = {"zh": 0.90, "en": 0.80}


@pytest.fixture(scope="module")
def reports(stack):
    return evaluate(stack.rasa_url, stack.config.rasa_token)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_held_out_intent_and_entity_value_accuracy(reports, language):
    report = reports[language]
    print(f"\n[{language}] held-out intent accuracy {report.intent_accuracy:.3f}, "
          f"entity value accuracy {report.entity_value_accuracy:.3f} over {report.examples} examples")
    assert report.intent_accuracy >= MIN_INTENT_ACCURACY[language], report.confusions
    assert report.entity_value_accuracy >= MIN_ENTITY_VALUE_ACCURACY[language]

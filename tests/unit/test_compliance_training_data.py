"""What the compliance classifier learns from, and what it must never learn from."""
from __future__ import annotations

import collections
import re
from pathlib import Path

import numpy as np
import pytest

from compliance_filters.classifier import CATEGORIES, LABELS
from compliance_filters.features import model_text
from compliance_filters.threat_structure import lexicon, roles, structure_features
from compliance_filters.train import (CONFIRM_FALSE_BLOCK_BUDGET, FALSE_BLOCK_BUDGET, HARM_FALSE_BLOCK_BUDGET, calibrate,
                                      calibrate_confirm, calibrate_lift)
from compliance_filters.training_data import (CORPUS_PATH, SUPPLEMENT_PATH, load_cold, load_tsv,
                                              refuse_evaluation_data)
from chinese_text import to_simplified

EVAL_DIR = Path(__file__).resolve().parents[1] / "compliance_eval"
_NON_WORD = re.compile(r"[\W_]+")


def _trigrams(text: str) -> set[str]:
    compact = _NON_WORD.sub("", text.lower())
    return {compact[i:i + 3] for i in range(max(1, len(compact) - 2))}


@pytest.fixture(scope="module")
def supplement():
    return load_tsv(SUPPLEMENT_PATH)


def test_supplement_schema(supplement):
    assert len(supplement) >= 700
    for row in supplement:
        assert set(row) == {"text", "label", "lang", "kind"} and row["text"].strip()
        assert row["label"] in LABELS and row["lang"] in {"zh", "en"} and row["kind"] == "handwritten"
    labels = collections.Counter(row["label"] for row in supplement)
    assert all(labels[c] >= 40 for c in CATEGORIES) and labels["ok"] >= 150


def test_no_supplement_line_is_a_near_copy_of_an_evaluation_line(supplement):
    evaluation = [line.split("\t")[4] for line in
                  (EVAL_DIR / "independent_eval.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    evaluation_grams = [_trigrams(text) for text in evaluation]
    for row in supplement:
        grams = _trigrams(row["text"])
        closest = max(len(grams & other) / len(grams | other) for other in evaluation_grams)
        assert closest <= 0.5, row["text"]


def test_every_role_word_occurs_in_the_training_data():
    training = "\n".join(to_simplified(r["text"]).lower()
                         for r in load_tsv(CORPUS_PATH) + load_tsv(SUPPLEMENT_PATH) + load_cold())
    unattested = [entry for entries in lexicon().values() for entry in entries if entry.rstrip("*") not in training]
    assert unattested == []


@pytest.mark.parametrize("path", [EVAL_DIR / "independent_eval.tsv", EVAL_DIR / "cold_test.csv"])
def test_the_evaluation_data_is_refused(path):
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(path)
    with pytest.raises(ValueError, match="evaluation"):
        load_tsv(path)


def test_cold_offensive_rows_teach_insult_and_safe_rows_ok():
    rows = load_cold()
    assert {r["label"] for r in rows} == {"insult", "ok"}
    assert 10_000 <= len(rows) <= 15_000  # half of the training split, chosen by hash


def test_roles_of_a_threat_and_of_its_negation():
    assert {"cond", "you", "harm_body"} <= set(roles("再不还钱，你回家路上小心出意外"))
    assert "negation" in roles("我们不会联系您的家人") and "family" in roles("我们不会联系您的家人")
    assert roles("your kidney") == ["you"]  # English words match whole: "kid" is not in "kidney"
    assert "harm_body" in roles("someone is going to get hurt")
    assert "s:cond+harm_body" in structure_features("再不还就让你住院")


def test_calibration_takes_the_lowest_threshold_within_the_false_block_budget():
    lawful = [{"label": "ok"}] * 1000
    harmful = [{"label": "violence"}] * 10
    probabilities = np.zeros((1010, len(CATEGORIES)))
    probabilities[:1000, 0] = np.linspace(0.0, 0.6, 1000)  # lawful rows' violence scores
    probabilities[1000:, 0] = 0.9
    thresholds = calibrate(lawful + harmful, probabilities)
    blocked_lawful = np.mean(probabilities[:1000, 0] >= thresholds["violence"])
    assert blocked_lawful <= FALSE_BLOCK_BUDGET
    assert np.mean(probabilities[:1000, 0] >= thresholds["violence"] - 0.01) > FALSE_BLOCK_BUDGET


def test_the_lift_threshold_lifts_no_harmful_row_whose_lift_score_it_reads():
    rows = [{"label": "false_legal_consequences"},  # a liftable rule's hit: its score sets the floor
            {"label": "violence"},  # never liftable: no score
            {"label": "ok"}]
    assert calibrate_lift(rows, np.array([0.3, np.nan, 0.0])) == pytest.approx(0.30)
    assert calibrate_lift(rows, np.array([0.01, np.nan, 0.0])) is None


def test_the_confirmation_threshold_is_the_lowest_within_the_harm_and_confirmation_budgets():
    lawful = [{"label": "ok"}] * 1000
    harm = np.linspace(0.0, 0.6, 1000)  # lawful rows' harm probabilities; 0.59+ (about 1.7 %) over the harm threshold
    probabilities = np.zeros((1000, len(CATEGORIES)))
    probabilities[::10, 0] = 0.9  # every tenth lawful row is at violence's own threshold
    thresholds = dict.fromkeys(CATEGORIES, 0.85)
    t = calibrate_confirm(lawful, probabilities, harm, thresholds, harm_threshold=0.59)
    blocked = lambda c: np.mean((harm >= 0.59) | ((probabilities[:, 0] >= 0.85) & (harm >= c)))
    assert t < 0.59 and blocked(t) <= HARM_FALSE_BLOCK_BUDGET + CONFIRM_FALSE_BLOCK_BUDGET
    assert blocked(t - 0.01) > HARM_FALSE_BLOCK_BUDGET + CONFIRM_FALSE_BLOCK_BUDGET
    everything = np.ones((1000, len(CATEGORIES)))
    assert calibrate_confirm(lawful, everything, np.full(1000, 0.5), thresholds, harm_threshold=0.51) is None


@pytest.mark.parametrize("text, negated, plain", [
    ("I've checked, and you have nothing outstanding right now.", "~watch", "watch"),
    ("No one will ever hurt you over this.", "~harm_body", "harm_body"),
    ("我不清楚。", "~watch", "watch"),
    ("我们不会打扰您。", "~harm_body", "harm_body"),
])
def test_a_role_word_in_a_negations_scope_fills_the_role_negated(text, negated, plain):
    found = roles(model_text(text))
    assert negated in found and plain not in found


@pytest.mark.parametrize("text, role", [
    ("If you don't pay, we will hurt you.", "harm_body"),  # the condition ends the scope
    ("再不还钱就打死你", "harm_body"),  # 不 of the condition is not next to the harm
    ("you never pay, so we'll post your photo online", "expose"),
])
def test_a_threat_after_a_negated_condition_keeps_its_role(text, role):
    assert role in roles(model_text(text))

"""Corpus, held-out split and learned classifier of the outgoing-utterance compliance filter."""
from __future__ import annotations

import collections

import pytest

from compliance_filters.classifier import CATEGORIES, LABELS, Classifier, normalise_for_model
from compliance_filters.train import evaluate, fit, heldout, load_corpus, split, transform

HARD_OK_KINDS = {"lawful_fact", "offer", "empathy", "anti_fraud", "negated_threat", "echo"}


@pytest.fixture(scope="module")
def rows():
    return load_corpus()


@pytest.fixture(scope="module")
def model(rows):
    train_rows, _ = split(rows)
    bundle = fit(train_rows)
    return Classifier(bundle["vectorizer"], bundle["estimators"], tuple(bundle["categories"]),
                      dict.fromkeys(CATEGORIES, 0.85))


def test_corpus_schema(rows):
    assert len(rows) >= 1600
    for r in rows:
        assert set(r) == {"text", "label", "lang", "kind"}
        assert r["text"].strip() and r["kind"].strip()
        assert r["label"] in LABELS
        assert r["lang"] in {"zh", "en"}
    labels = collections.Counter(r["label"] for r in rows)
    assert set(labels) == set(LABELS)
    assert 0.40 <= labels["ok"] / len(rows) <= 0.50
    assert all(labels[c] >= 100 for c in CATEGORIES)
    en_share = sum(r["lang"] == "en" for r in rows) / len(rows)
    assert 0.20 <= en_share <= 0.30


def test_corpus_has_no_duplicates_after_normalisation(rows):
    keys = collections.Counter(normalise_for_model(r["text"]) for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []


def test_ok_rows_are_rich_in_hard_lawful_cases(rows):
    ok = [r for r in rows if r["label"] == "ok"]
    assert sum(r["kind"] in HARD_OK_KINDS for r in ok) / len(ok) >= 0.30
    assert {r["kind"] for r in ok} >= HARD_OK_KINDS


def test_every_blocked_category_has_evasion_forms(rows):
    for c in CATEGORIES:
        kinds = {r["kind"] for r in rows if r["label"] == c}
        assert {"evasion_traditional", "evasion_spaces", "mixed_zh_en"} <= kinds, c


def test_split_is_deterministic_and_disjoint(rows):
    train_rows, test_rows = split(rows)
    assert split(rows) == (train_rows, test_rows)
    assert [heldout(r["text"]) for r in rows] == [heldout(r["text"]) for r in rows]
    train_keys = {normalise_for_model(r["text"]) for r in train_rows}
    test_keys = {normalise_for_model(r["text"]) for r in test_rows}
    assert not train_keys & test_keys
    assert len(train_rows) + len(test_rows) == len(rows)
    assert 0.15 <= len(test_rows) / len(rows) <= 0.25
    # Script and separators do not move a sentence across the split.
    assert heldout("我们不会联系您的家人") == heldout("我們 不會·聯繫您的家人")


def test_predict_returns_a_probability_per_blocked_category(model):
    probs = model.predict("我们会联系你的家人")
    assert set(probs) == set(CATEGORIES)
    assert "ok" not in probs
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert set(model.predict("")) == set(CATEGORIES)


def test_fast_path_matches_scikit_learn(rows):
    import numpy as np

    train_rows, test_rows = split(rows)
    bundle = fit(train_rows)
    clf = Classifier(bundle["vectorizer"], bundle["estimators"])
    texts = [r["text"] for r in test_rows[:50]]
    x = transform(bundle["vectorizer"], texts)
    expected = np.column_stack([e.predict_proba(x)[:, 1] for e in bundle["estimators"]])
    got = np.array([[clf.predict(t)[c] for c in CATEGORIES] for t in texts])
    assert np.allclose(expected, got, atol=1e-6)  # the TF-IDF matrix is float32


def test_heldout_quality_at_threshold(rows, model):
    """Corpus rows only, threshold 0.85 for every category (the packaged model adds the supplement and
    COLD and calibrates per category; benchmarks.evaluate_filter measures it)."""
    _, test_rows = split(rows)
    result = evaluate(model, test_rows)
    assert result["macro_recall_blocked"] >= 0.83
    assert result["false_block_rate_ok"] <= 0.02
    for c in CATEGORIES:
        assert result["table"][c]["recall"] >= 0.70, c


@pytest.mark.parametrize("text", [
    "我们不会联系您的家人或同事。",
    "如协商不成，我们可能依法提起诉讼。",
    "逾期记录会按规定报送中国人民银行征信中心。",
    "We will never contact your employer.",
])
def test_lawful_lines_pass(model, text):
    assert model.blocked(text) == []


def test_classifier_categories_are_rule_categories_so_check_can_use_every_one():
    from compliance_filters.classifier import CATEGORIES
    from compliance_filters.rules import default_rules

    always_on = {name for name, category in default_rules().categories.items() if category.applies_when == "always"}
    assert set(CATEGORIES) == always_on


def test_fast_path_harm_probability_matches_scikit_learn(rows):
    import numpy as np

    train_rows, test_rows = split(rows)
    bundle = fit(train_rows)
    clf = Classifier(bundle["vectorizer"], bundle["estimators"], harm_estimator=bundle["harm_estimator"],
                     harm_threshold=0.5)
    # short lines too, whose vectors the norm floor shrinks
    texts = [r["text"] for r in test_rows[:50]] + ["还有别的吗？", "为什么？", "Why?", "打死你"]
    expected = bundle["harm_estimator"].predict_proba(transform(bundle["vectorizer"], texts))[:, 1]
    got = np.array([clf.predict_with_harm(t)[1] for t in texts])
    assert np.allclose(expected, got, atol=1e-6)
    assert set(clf.predict(texts[0])) == set(CATEGORIES)


def test_a_short_line_is_divided_by_the_norm_floor_and_a_long_one_by_its_norm(rows):
    import numpy as np

    from compliance_filters.train import NORM_FLOOR

    train_rows, _ = split(rows)
    vectorizer = fit(train_rows)["vectorizer"]
    assert vectorizer.norm_floor_ == NORM_FLOOR > 0
    short, long = "还有别的吗？", "如果你再不还钱，我们就把你欠钱的事情发到你们公司的群里，让你的同事和老板都知道。"
    x = transform(vectorizer, [short, long])
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    assert norms[0] < 0.7 and abs(norms[1] - 1.0) < 1e-5

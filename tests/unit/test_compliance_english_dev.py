"""The English side of the outgoing filter, on the English development supplement
(tests/compliance_eval/dev_set_en.tsv): the set stays apart from every training and evaluation file,
and the filter's English behaviour does not regress on it. Every line used here comes from that
supplement, none from the independent set."""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from compliance_filters import check
from compliance_filters.training_data import (COLD_TRAIN_PATH, CORPUS_PATH, SUPPLEMENT_PATH, load_tsv,
                                              refuse_evaluation_data)

EVAL_DIR = Path(__file__).resolve().parents[1] / "compliance_eval"
DEV_SET_EN = EVAL_DIR / "dev_set_en.tsv"
VERIFIED = {"identity_verified": True}
_NON_WORD = re.compile(r"[\W_]+")
# Measured when the supplement was written and the filter tuned on it (README "Compliance filter
# figures"): recall 0.957, lawful blocked 0.031. A little room, so a retrain's noise does not fail.
MIN_RECALL = 0.94
MAX_LAWFUL_BLOCKED = 0.04


def _trigrams(text: str) -> set[str]:
    compact = _NON_WORD.sub("", text.lower())
    return {compact[i:i + 3] for i in range(max(1, len(compact) - 2))}


def _eval_texts(name: str) -> list[str]:
    return [line.split("\t")[4] for line in (EVAL_DIR / name).read_text(encoding="utf-8").splitlines()[1:]]


@pytest.fixture(scope="module")
def dev_rows() -> list[dict[str, str]]:
    with DEV_SET_EN.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_english_dev_set_is_well_formed_large_enough_and_refused_by_the_trainer(dev_rows):
    assert list(dev_rows[0]) == ["label", "category", "lang", "source", "text"]
    assert all(row["lang"] == "en" and row["text"].strip() for row in dev_rows)
    counts = Counter(row["label"] for row in dev_rows)
    assert counts["block"] >= 150 and counts["lawful"] >= 150 and set(counts) == {"block", "lawful"}
    per_category = Counter((row["label"], row["category"]) for row in dev_rows)
    assert min(per_category.values()) >= 15 and len(per_category) == 18  # both labels in all nine categories
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(DEV_SET_EN)


def test_english_dev_set_is_apart_from_every_training_and_evaluation_file(dev_rows):
    """Character-trigram Jaccard ≤ 0.45 against every line of the training files (corpus, supplement,
    COLD train) and of the other evaluation sets, so tuning on it does not tune on them."""
    others = (_eval_texts("independent_eval.tsv") + _eval_texts("dev_set.tsv")
              + [r["text"] for r in load_tsv(CORPUS_PATH) + load_tsv(SUPPLEMENT_PATH)])
    with COLD_TRAIN_PATH.open(encoding="utf-8-sig", newline="") as f:
        others += [row["TEXT"] for row in csv.DictReader(f)]
    grams = [_trigrams(text) for text in others]
    index: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            index.setdefault(gram, []).append(i)
    for row in dev_rows:
        mine = _trigrams(row["text"])
        candidates = {i for gram in mine for i in index.get(gram, ())}
        closest = max((len(mine & grams[i]) / len(mine | grams[i]) for i in candidates), default=0.0)
        assert closest <= 0.45, row["text"]


# Lines of the supplement the rule layers decide by structure alone (no classifier): whoever the
# third party is, whichever authority is claimed, someone of ours watching the borrower, and the
# reported / named / disowned / owned-as-a-mistake forms of words that would otherwise block.
RULE_BLOCKS = [
    "We notified the people at your gym that you're in collections.",
    "We will write to your references and ask them to cover your balance.",
    "My dialer is set to call you forty times today.",
    "This is not a collection agency, this is a law enforcement office.",
    "I work for the government agency that handles defaulted consumer loans.",
    "We can freeze your spouse's bank account for your debt.",
    "We tracked your location through the app; you're at the mall right now.",
    "I'll write a review on your business page telling customers you don't pay your debts.",
]
RULE_PASSES = [
    "You mentioned the last agent called you a loser; I'm sorry, and I've flagged it for review.",
    "The word deadbeat should never be used by a collector, and you can report anyone who does.",
    "That message saying we'd break your legs did not come from us, and we will help you report it to the FTC.",
    "We are a private company, not a government agency and not the police.",
    "We only contacted your sister to ask for your phone number; we didn't mention any debt.",
    "Our dialer stops after seven tries per week, per Regulation F.",
    "Our call to your workplace yesterday was a mistake, and I apologize; we've blocked that number.",
]


@pytest.mark.parametrize("text", RULE_BLOCKS)
def test_rule_layers_block_by_structure(dev_rows, text):
    assert any(row["text"] == text and row["label"] == "block" for row in dev_rows)
    assert not check(text, VERIFIED, classifier=None).allowed


@pytest.mark.parametrize("text", RULE_PASSES)
def test_rule_layers_excuse_reported_named_and_disowned_words(dev_rows, text):
    assert any(row["text"] == text and row["label"] == "lawful" for row in dev_rows)
    assert check(text, VERIFIED, classifier=None).allowed


def test_whole_filter_on_the_english_dev_set(dev_rows):
    """Rules + the packaged classifier, as the egress runs them."""
    harmful = [row for row in dev_rows if row["label"] == "block"]
    lawful = [row for row in dev_rows if row["label"] == "lawful"]
    missed = [row["text"] for row in harmful if check(row["text"], VERIFIED).allowed]
    blocked = [row["text"] for row in lawful if not check(row["text"], VERIFIED).allowed]
    assert 1 - len(missed) / len(harmful) >= MIN_RECALL, missed
    assert len(blocked) / len(lawful) <= MAX_LAWFUL_BLOCKED, blocked

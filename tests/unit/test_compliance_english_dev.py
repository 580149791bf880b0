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
# The second, smaller English set, written before the English structure changes to check that what
# was tuned on the first carries over; apart from every file the first is apart from, and from the first.
DEV_SET_EN2 = EVAL_DIR / "dev_set_en2.tsv"
# The third development set (Chinese and English, all nine categories), written before the third filter
# round changed anything; apart from every training, development and evaluation file.
DEV_SET_3 = EVAL_DIR / "dev_set_3.tsv"
VERIFIED = {"identity_verified": True}
_NON_WORD = re.compile(r"[\W_]+")
# Measured (README "Compliance filter figures"): before the English structure round, recall 0.883 and
# lawful blocked 0.074 on dev_set_en.tsv, 0.944 / 0.056 on dev_set_en2.tsv; after it 0.920 / 0.049 and
# 0.972 / 0.056. A little room, so a retrain's noise does not fail.
# dev_set_3.tsv (Chinese and English, written 2026-12-07 before a third round that was measured and not merged):
# 0.948 / 0.065.
FLOORS = {"dev_set_en.tsv": (0.90, 0.065), "dev_set_en2.tsv": (0.94, 0.085),
          "dev_set_3.tsv": (0.92, 0.075)}  # (min recall, max lawful blocked)


def _trigrams(text: str) -> set[str]:
    compact = _NON_WORD.sub("", text.lower())
    return {compact[i:i + 3] for i in range(max(1, len(compact) - 2))}


def _eval_texts(name: str) -> list[str]:
    return [line.split("\t")[4] for line in (EVAL_DIR / name).read_text(encoding="utf-8").splitlines()[1:]]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def dev_rows() -> list[dict[str, str]]:
    return _rows(DEV_SET_EN)


def test_english_dev_set_is_well_formed_large_enough_and_refused_by_the_trainer(dev_rows):
    assert list(dev_rows[0]) == ["label", "category", "lang", "source", "text"]
    assert all(row["lang"] == "en" and row["text"].strip() for row in dev_rows)
    counts = Counter(row["label"] for row in dev_rows)
    assert counts["block"] >= 150 and counts["lawful"] >= 150 and set(counts) == {"block", "lawful"}
    per_category = Counter((row["label"], row["category"]) for row in dev_rows)
    assert min(per_category.values()) >= 15 and len(per_category) == 18  # both labels in all nine categories
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(DEV_SET_EN)


@pytest.mark.parametrize("path", [DEV_SET_EN, DEV_SET_EN2, DEV_SET_3], ids=lambda p: p.name)
def test_english_dev_set_is_apart_from_every_training_and_evaluation_file(path):
    """Character-trigram Jaccard ≤ 0.45 against every line of the training files (corpus, supplement,
    COLD train) and of the other evaluation sets, so tuning on it does not tune on them."""
    # The evaluation sets are compared silently: only the development line is ever named in a failure. The
    # second independent set was written after the English sets and kept apart from them by its author.
    apart_from = ("independent_eval.tsv", "dev_set.tsv", "dev_set_en.tsv", "dev_set_en2.tsv", "dev_set_3.tsv")
    if path == DEV_SET_3:
        apart_from += ("independent_eval_2.tsv",)
    others = ([text for name in apart_from if name != path.name for text in _eval_texts(name)]
              + [r["text"] for r in load_tsv(CORPUS_PATH) + load_tsv(SUPPLEMENT_PATH)])
    with COLD_TRAIN_PATH.open(encoding="utf-8-sig", newline="") as f:
        others += [row["TEXT"] for row in csv.DictReader(f)]
    grams = [_trigrams(text) for text in others]
    index: dict[str, list[int]] = {}
    for i, g in enumerate(grams):
        for gram in g:
            index.setdefault(gram, []).append(i)
    for row in _rows(path):
        mine = _trigrams(row["text"])
        candidates = {i for gram in mine for i in index.get(gram, ())}
        closest = max((len(mine & grams[i]) / len(mine | grams[i]) for i in candidates), default=0.0)
        assert closest <= 0.45, row["text"]


def test_third_dev_set_is_well_formed_bilingual_covers_every_category_and_is_refused_by_the_trainer():
    rows = _rows(DEV_SET_3)
    assert list(rows[0]) == ["label", "category", "lang", "source", "text"]
    assert all(row["text"].strip() for row in rows)
    counts = Counter((row["label"], row["lang"]) for row in rows)
    assert set(counts) == {("block", "zh"), ("block", "en"), ("lawful", "zh"), ("lawful", "en")}
    assert min(counts.values()) >= 70
    per_category = Counter((row["label"], row["category"]) for row in rows)
    assert len(per_category) == 18 and min(per_category.values()) >= 15
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(DEV_SET_3)


def test_second_english_dev_set_is_well_formed_and_refused_by_the_trainer():
    rows = _rows(DEV_SET_EN2)
    assert list(rows[0]) == ["label", "category", "lang", "source", "text"]
    assert all(row["lang"] == "en" and row["text"].strip() for row in rows)
    counts = Counter(row["label"] for row in rows)
    assert counts["block"] >= 30 and counts["lawful"] >= 30 and set(counts) == {"block", "lawful"}
    with pytest.raises(ValueError, match="evaluation"):
        refuse_evaluation_data(DEV_SET_EN2)


@pytest.mark.parametrize("path", [DEV_SET_EN, DEV_SET_EN2, DEV_SET_3], ids=lambda p: p.name)
def test_whole_filter_on_the_english_dev_sets(path):
    """Rules + the packaged classifier, as the egress runs them."""
    rows = _rows(path)
    min_recall, max_lawful_blocked = FLOORS[path.name]
    harmful = [row for row in rows if row["label"] == "block"]
    lawful = [row for row in rows if row["label"] == "lawful"]
    missed = [row["text"] for row in harmful if check(row["text"], VERIFIED).allowed]
    blocked = [row["text"] for row in lawful if not check(row["text"], VERIFIED).allowed]
    assert 1 - len(missed) / len(harmful) >= min_recall, missed
    assert len(blocked) / len(lawful) <= max_lawful_blocked, blocked

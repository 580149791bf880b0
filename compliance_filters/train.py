"""Train and evaluate the compliance classifier.

    python -m compliance_filters.train

Reads compliance_filters/data/corpus.tsv, keeps the held-out fifth (see `heldout`) out of
training, fits char 1–4-gram TF-IDF on normalised text plus one class-balanced logistic regression
per blocked category (one-vs-rest; `ok` rows are negatives for every category), prints a
per-category precision / recall / F1 table on the held-out rows at the blocking threshold, and
saves the model to var/compliance_classifier.joblib and the table to
var/compliance_classifier_report.txt. Deterministic: fixed seeds, liblinear, no sampling.
"""
from __future__ import annotations

import csv
import hashlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from compliance_filters.classifier import (CATEGORIES, CORPUS_PATH, LABELS, MODEL_PATH, REPORT_PATH, THRESHOLD,
                                           Classifier, char_ngrams, corpus_sha256, normalise_for_model)

HELDOUT_PERCENT = 20
C = 100.0
SEED = 0


def heldout(text: str) -> bool:
    """True for the ~20 % of rows held out of training: decided by the SHA-1 of the normalised text,
    so it is deterministic, independent of row order, and two rows that normalise alike fall on the
    same side."""
    digest = hashlib.sha1(normalise_for_model(text).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100 < HELDOUT_PERCENT


def load_corpus(path: Path = CORPUS_PATH) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def split(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    train_rows = [r for r in rows if not heldout(r["text"])]
    test_rows = [r for r in rows if heldout(r["text"])]
    return train_rows, test_rows


def fit(rows: list[dict[str, str]]) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [normalise_for_model(r["text"]) for r in rows]
    labels = np.array([r["label"] for r in rows])
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=1)
    x = vectorizer.fit_transform(texts)
    estimators = []
    for category in CATEGORIES:
        model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=2000,
                                   random_state=SEED)
        model.fit(x, (labels == category).astype(int))
        estimators.append(model)
    return {"vectorizer": vectorizer, "estimators": estimators, "categories": list(CATEGORIES)}


def evaluate(clf: Classifier, rows: list[dict[str, str]], threshold: float = THRESHOLD) -> dict[str, Any]:
    """Decision: the most probable category if its probability ≥ threshold, else ok."""
    gold, pred, blocked = [], [], []
    for r in rows:
        probs = clf.predict(r["text"])
        best = max(probs, key=probs.__getitem__)
        gold.append(r["label"])
        pred.append(best if probs[best] >= threshold else "ok")
        blocked.append(probs[best] >= threshold)
    table = {}
    for label in LABELS:
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        n_pred = sum(p == label for p in pred)
        n_gold = sum(g == label for g in gold)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        block_recall = (sum(b for g, b in zip(gold, blocked) if g == label) / n_gold) if n_gold else 0.0
        table[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold,
                        "blocked": block_recall}
    ok_rows = [b for g, b in zip(gold, blocked) if g == "ok"]
    return {
        "table": table,
        "macro_recall_blocked": statistics.mean(table[c]["recall"] for c in CATEGORIES),
        "macro_f1_blocked": statistics.mean(table[c]["f1"] for c in CATEGORIES),
        "false_block_rate_ok": sum(ok_rows) / len(ok_rows) if ok_rows else 0.0,
        "false_blocks": [r["text"] for r, g, b in zip(rows, gold, blocked) if g == "ok" and b],
        "misses": [(r["text"], r["label"], p) for r, g, p in zip(rows, gold, pred) if g != "ok" and p != g],
        "threshold": threshold,
    }


def format_report(result: dict[str, Any], n_train: int, n_test: int, seconds: float, latency_ms: float) -> str:
    lines = [f"compliance classifier — held-out evaluation (threshold {result['threshold']:.2f})",
             f"train rows {n_train}, held-out rows {n_test}, training {seconds:.2f} s, "
             f"predict {latency_ms:.3f} ms/utterance", "",
             f"{'label':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'blocked':>9}{'support':>9}"]
    for label, m in result["table"].items():
        lines.append(f"{label:<22}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}"
                     f"{m['blocked']:>9.3f}{m['support']:>9d}")
    lines += ["", "('blocked' = share of rows with any category ≥ threshold; for ok that is the false-block rate)",
              f"macro recall over blocked categories: {result['macro_recall_blocked']:.3f}",
              f"macro F1 over blocked categories:     {result['macro_f1_blocked']:.3f}",
              f"false-block rate on held-out ok rows: {result['false_block_rate_ok']:.3f}"]
    if result["false_blocks"]:
        lines += ["", "false blocks:"] + [f"  {t}" for t in result["false_blocks"]]
    if result["misses"]:
        lines += ["", "missed / wrong category (text, gold, predicted):"]
        lines += [f"  {t}\t{g}\t{p}" for t, g, p in result["misses"]]
    return "\n".join(lines) + "\n"


def measure_latency(clf: Classifier, texts: list[str], rounds: int = 3) -> float:
    clf.predict(texts[0])
    start = time.perf_counter()
    for _ in range(rounds):
        for t in texts:
            clf.predict(t)
    return (time.perf_counter() - start) * 1000 / (rounds * len(texts))


def train(save: bool = True, verbose: bool = True) -> dict[str, Any]:
    rows = load_corpus()
    train_rows, test_rows = split(rows)
    start = time.perf_counter()
    bundle = fit(train_rows)
    seconds = time.perf_counter() - start
    bundle["corpus_sha256"] = corpus_sha256()
    clf = Classifier(bundle["vectorizer"], bundle["estimators"], tuple(bundle["categories"]))
    result = evaluate(clf, test_rows)
    latency = measure_latency(clf, [r["text"] for r in test_rows])
    report = format_report(result, len(train_rows), len(test_rows), seconds, latency)
    if save:
        import joblib

        MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(bundle, MODEL_PATH)
        REPORT_PATH.write_text(report, encoding="utf-8")
    if verbose:
        sys.stdout.write(report)
    return {"bundle": bundle, "classifier": clf, "result": result, "seconds": seconds, "latency_ms": latency,
            "report": report}


if __name__ == "__main__":
    train()

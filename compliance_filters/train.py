"""Train, calibrate and evaluate the compliance classifier.

    python -m compliance_filters.train

Training rows: corpus.tsv less its held-out fifth (see `heldout`), supplement.tsv, and COLD's
training split (compliance_filters.training_data; the evaluation data is refused there). Fits
TF-IDF over compliance_filters.features plus one class-balanced logistic regression per blocked
category (one-vs-rest; `ok` rows are negatives for every category), fitted by stochastic gradient
descent: liblinear took ten times longer on COLD's long comments, and the model is retrained
whenever a training file changes (at gateway start when needed).

A harm regression (harmful of any category against lawful; classifier.py says why) is fitted on the
same rows and weights. Hand-written supplement rows weigh SUPPLEMENT_WEIGHT each, COLD rows COLD_WEIGHT.

Calibration: each category's blocking threshold is the lowest probability at which at most
FALSE_BLOCK_BUDGET of the lawful collection rows are blocked for that category, measured on
out-of-fold predictions (FOLDS-fold cross-validation over the corpus and supplement rows; COLD
rows stay in every training fold). The harm threshold likewise, with HARM_FALSE_BLOCK_BUDGET over
all lawful rows. Never on the held-out corpus rows, never on the evaluation set.

Confirmation threshold: the lowest grid threshold below the harm threshold at which blocking also
the rows with a category at its own threshold and the harm probability at the confirmation threshold
blocks at most HARM_FALSE_BLOCK_BUDGET + CONFIRM_FALSE_BLOCK_BUDGET of lawful rows, out of fold.

Lift threshold: the highest grid threshold under which no harmful collection row that only the
rules of liftable categories block (rules.yml classifier.may_lift) would have been lifted, its lift
score (compliance_filters.check.lift_score: the parts of the line the lift reads) computed out of fold.

Prints a per-category table on the held-out corpus rows, and saves the model to
var/compliance_classifier.v2.joblib and the table to var/compliance_classifier.v2.report.txt.
Deterministic: fixed seeds, liblinear, folds by hash.
"""
from __future__ import annotations

import hashlib
import statistics
import sys
import time
from typing import Any, Sequence

import numpy as np

from compliance_filters.classifier import (BUNDLE_FORMAT, CATEGORIES, DEFAULT_THRESHOLD, LABELS, MODEL_PATH,
                                           REPORT_PATH, Classifier, from_bundle, normalise_for_model)
from compliance_filters.check import lift_score, rule_hits
from compliance_filters.features import FEATURE_VERSION, features
from compliance_filters.rules import default_rules
from compliance_filters.training_data import (COLD_WEIGHT, CORPUS_PATH, SUPPLEMENT_PATH, SUPPLEMENT_WEIGHT,
                                              load_cold, load_tsv, training_files_sha256)

HELDOUT_PERCENT = 20
_VERIFIED = {"identity_verified": True}
# An utterance's TF-IDF vector is divided by max(its norm, NORM_FLOOR), not by its norm: a short line
# has few features, and scaled to unit length each would weigh as much as a long threat's (classifier.py).
# 35: below the norm of 95 % of dev_set.tsv's lines (median 47), above that of a two-to-six-character
# Chinese line (10-20). A list of 75 short lawful questions and acknowledgements: 16 blocked without
# it, 5 with it (25: 10 of 75 in a trial); dev_set.tsv recall / lawful blocked 0.994 / 0.007 → 0.987 / 0.007.
NORM_FLOOR = 35.0
ALPHA = 3e-5  # L2 penalty of the regression (tuned with SUPPLEMENT_WEIGHT on the dev set)
EPOCHS = 20
SEED = 0
FOLDS = 5
# Per category, the share of lawful rows it may block at its threshold; nine categories together
# then stay near the 2 % goal for lawful lines.
FALSE_BLOCK_BUDGET = 0.002
# The share of lawful rows (out of fold) the harm regression may block at its threshold, chosen on
# tests/compliance_eval/dev_set.tsv (never the independent set). The training rows hold many hard
# lawful lines (legal facts, promises not to act), so a training budget above the 2 % goal still
# blocks few lawful lines elsewhere. With the rules, on the dev set: 0.02 → recall 0.981 / lawful
# blocked 0.010, 0.03 → 0.990 / 0.010, 0.04 → 0.994 / 0.026 (measured before the norm floor).
HARM_FALSE_BLOCK_BUDGET = 0.03
# The further share of lawful rows (out of fold) that the confirmation rule — a category at its own
# threshold with the harm probability at the confirmation threshold (classifier.py says why) — may
# block on top of the harm threshold's. Chosen on the development sets, never the independent set.
CONFIRM_FALSE_BLOCK_BUDGET = 0.004
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


def _bucket(text: str) -> int:
    return int(hashlib.sha1(normalise_for_model(text).encode("utf-8")).hexdigest()[:8], 16) % 100


def heldout(text: str) -> bool:
    """True for the ~20 % of corpus rows held out of training: decided by the SHA-1 of the
    normalised text, so it is deterministic, independent of row order, and two rows that normalise
    alike fall on the same side."""
    return _bucket(text) < HELDOUT_PERCENT


def load_corpus() -> list[dict[str, str]]:
    return load_tsv(CORPUS_PATH)


def split(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    train_rows = [r for r in rows if not heldout(r["text"])]
    test_rows = [r for r in rows if heldout(r["text"])]
    return train_rows, test_rows


def training_rows() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(collection rows: corpus training part + supplement, COLD rows)."""
    corpus_train, _ = split(load_corpus())
    supplement = [dict(r, weight=SUPPLEMENT_WEIGHT) for r in load_tsv(SUPPLEMENT_PATH)]
    return corpus_train + supplement, load_cold()


def vectorize(rows: Sequence[dict[str, str]]) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, dtype=np.float32, norm=None)
    vectorizer.norm_floor_ = NORM_FLOOR
    return vectorizer, floor_normalise(vectorizer.fit_transform([r["text"] for r in rows]), NORM_FLOOR)


def floor_normalise(x: Any, floor: float) -> Any:
    """Each row divided by max(its L2 norm, floor) (classifier.py says why)."""
    from scipy import sparse

    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.maximum(np.maximum(norms, floor), 1e-12)).astype(x.dtype) @ x


def transform(vectorizer: Any, texts: Sequence[str]) -> Any:
    """The matrix the regressions read for ``texts`` (what Classifier.predict computes one at a time)."""
    return floor_normalise(vectorizer.transform(texts), getattr(vectorizer, "norm_floor_", 0.0))


def _regression(x: Any, target: np.ndarray, weights: np.ndarray) -> Any:
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(loss="log_loss", alpha=ALPHA, class_weight="balanced", max_iter=EPOCHS, tol=None,
                          random_state=SEED)
    model.fit(x, target.astype(int), sample_weight=weights)
    return model


def fit_estimators(x: Any, labels: np.ndarray, weights: np.ndarray) -> list[Any]:
    return [_regression(x, labels == category, weights) for category in CATEGORIES]


def fit_harm(x: Any, labels: np.ndarray, weights: np.ndarray) -> Any:
    """One regression: harmful (any blocked category) against lawful."""
    return _regression(x, labels != "ok", weights)


def fit(rows: Sequence[dict[str, str]], weights: Sequence[float] | None = None) -> dict[str, Any]:
    vectorizer, x = vectorize(rows)
    labels = np.array([r["label"] for r in rows])
    sample_weight = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=np.float64)
    return {"vectorizer": vectorizer, "estimators": fit_estimators(x, labels, sample_weight),
            "harm_estimator": fit_harm(x, labels, sample_weight), "categories": list(CATEGORIES)}


def _weighted(collection: list[dict[str, str]], cold: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[float]]:
    return collection + cold, [float(r.get("weight", 1.0)) for r in collection] + [COLD_WEIGHT] * len(cold)


def out_of_fold_probabilities(collection: list[dict[str, str]], cold: list[dict[str, str]]
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, categories) probabilities, (rows,) harm probabilities and (rows,) lift scores (NaN where
    the lift does not apply) of each collection row from regressions that never saw it.

    The TF-IDF vocabulary is fitted once on all rows (it reads no label); the regressions are
    refitted per fold."""
    rows, weights = _weighted(collection, cold)
    vectorizer, x = vectorize(rows)
    labels = np.array([r["label"] for r in rows])
    folds = np.array([_bucket(r["text"]) % FOLDS for r in collection] + [-1] * len(cold))
    probabilities = np.zeros((len(collection), len(CATEGORIES)))
    harm = np.zeros(len(collection))
    lift_scores = np.full(len(collection), np.nan)
    rules = default_rules()
    hits = [rule_hits(r["text"], _VERIFIED, rules) for r in collection]
    for fold in range(FOLDS):
        inside = folds != fold
        weights_inside = np.asarray(weights)[inside]
        clf = Classifier(vectorizer, fit_estimators(x[inside], labels[inside], weights_inside),
                         harm_estimator=fit_harm(x[inside], labels[inside], weights_inside))
        for i in np.flatnonzero(folds == fold):
            scores, harm[i] = clf.predict_with_harm(collection[i]["text"])
            probabilities[i] = [scores[c] for c in CATEGORIES]
            score = lift_score(hits[i], rules, clf)
            if score is not None:
                lift_scores[i] = score
    return probabilities, harm, lift_scores


def calibrate(collection: list[dict[str, str]], probabilities: np.ndarray) -> dict[str, float]:
    """Per category: the lowest grid threshold blocking at most FALSE_BLOCK_BUDGET of lawful rows."""
    lawful = np.array([r["label"] == "ok" for r in collection])
    thresholds = {}
    for j, category in enumerate(CATEGORIES):
        lawful_scores = probabilities[lawful, j]
        thresholds[category] = next(
            (float(t) for t in THRESHOLD_GRID if np.mean(lawful_scores >= t) <= FALSE_BLOCK_BUDGET),
            DEFAULT_THRESHOLD,
        )
    return thresholds


def calibrate_harm(collection: list[dict[str, str]], harm: np.ndarray) -> float:
    """The lowest grid threshold at which at most HARM_FALSE_BLOCK_BUDGET of lawful rows are harmful."""
    lawful_scores = harm[np.array([r["label"] == "ok" for r in collection])]
    return next((float(t) for t in THRESHOLD_GRID if np.mean(lawful_scores >= t) <= HARM_FALSE_BLOCK_BUDGET),
                DEFAULT_THRESHOLD)


def calibrate_confirm(collection: list[dict[str, str]], probabilities: np.ndarray, harm: np.ndarray,
                      thresholds: dict[str, float], harm_threshold: float,
                      categories: Sequence[str] = CATEGORIES) -> float | None:
    """The lowest grid threshold under the harm threshold at which the harm threshold and the
    confirmation rule (for ``categories``: rules.yml classifier.may_confirm) together block at most
    HARM_FALSE_BLOCK_BUDGET + CONFIRM_FALSE_BLOCK_BUDGET of lawful rows; None when none does."""
    lawful = np.array([r["label"] == "ok" for r in collection])
    columns = [j for j, c in enumerate(CATEGORIES) if c in categories]
    at_own_threshold = (probabilities[:, columns] >= np.array([thresholds[CATEGORIES[j]] for j in columns])).any(axis=1)
    budget = HARM_FALSE_BLOCK_BUDGET + CONFIRM_FALSE_BLOCK_BUDGET
    return next((float(t) for t in THRESHOLD_GRID if t < harm_threshold
                 and np.mean(((harm >= harm_threshold) | (at_own_threshold & (harm >= t)))[lawful]) <= budget), None)


def calibrate_lift(collection: list[dict[str, str]], lift_scores: np.ndarray) -> float | None:
    """The highest grid threshold under which no harmful row's lift score falls (NaN: the lift does
    not apply to the row); None when even the lowest would lift one."""
    harmful = np.array([r["label"] != "ok" for r in collection]) & ~np.isnan(lift_scores)
    floor = float(lift_scores[harmful].min()) if harmful.any() else 1.0
    below = [float(t) for t in THRESHOLD_GRID if t <= floor]
    return max(below) if below else None


def evaluate(clf: Classifier, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Decision: Classifier.blocked (the harm regression decides whether, the most probable category which), else ok."""
    gold, pred, blocked = [], [], []
    for r in rows:
        probs = clf.predict(r["text"])
        over = clf.blocked(r["text"])
        gold.append(r["label"])
        pred.append(max(over, key=probs.__getitem__) if over else "ok")
        blocked.append(bool(over))
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
    }


def format_report(result: dict[str, Any], thresholds: dict[str, float], n_train: int, n_test: int,
                  seconds: float, latency_ms: float) -> str:
    lines = ["compliance classifier — held-out corpus rows (same generator as the training rows: memory, "
             "not generalisation; see benchmarks.evaluate_filter --set independent)",
             f"train rows {n_train}, held-out rows {n_test}, training + calibration {seconds:.1f} s, "
             f"predict {latency_ms:.3f} ms/utterance", "",
             f"{'label':<26}{'threshold':>10}{'precision':>10}{'recall':>8}{'f1':>8}{'blocked':>9}{'support':>9}"]
    for label, m in result["table"].items():
        threshold = f"{thresholds[label]:.2f}" if label in thresholds else ""
        lines.append(f"{label:<26}{threshold:>10}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}"
                     f"{m['blocked']:>9.3f}{m['support']:>9d}")
    lines += ["", "('blocked' = share of rows with any category at its threshold; for ok that is the false-block rate)",
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
    collection, cold = training_rows()
    start = time.perf_counter()
    probabilities, harm, lift_scores = out_of_fold_probabilities(collection, cold)
    thresholds = calibrate(collection, probabilities)
    rows, weights = _weighted(collection, cold)
    bundle = fit(rows, weights)
    seconds = time.perf_counter() - start
    bundle["thresholds"] = thresholds
    bundle["harm_threshold"] = calibrate_harm(collection, harm)
    bundle["confirm_threshold"] = calibrate_confirm(collection, probabilities, harm, thresholds, bundle["harm_threshold"],
                                                    default_rules().classifier.may_confirm)
    bundle["lift_threshold"] = calibrate_lift(collection, lift_scores)
    bundle["bundle_format"] = BUNDLE_FORMAT
    bundle["training_sha256"] = training_files_sha256()
    bundle["feature_version"] = FEATURE_VERSION
    clf = from_bundle(bundle)
    _, test_rows = split(load_corpus())
    result = evaluate(clf, test_rows)
    latency = measure_latency(clf, [r["text"] for r in test_rows])
    report = format_report(result, thresholds, len(rows), len(test_rows), seconds, latency)
    report += f"harm threshold (any category): {bundle['harm_threshold']:.2f}\n"
    report += f"confirmation threshold (a category at its own threshold): {bundle['confirm_threshold']}\n"
    report += f"lift threshold (liftable rule hits): {bundle['lift_threshold']}\n"
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

"""Learned compliance classifier: category → probability for an outgoing utterance.

The model (TF-IDF over compliance_filters.features — character n-grams, English words and
threat-structure roles — one logistic regression per blocked category, each with its own
calibrated blocking threshold, and one **harm** regression, harmful-of-any-category against lawful,
with its own calibrated threshold) is trained by compliance_filters.train from the files
compliance_filters.training_data names, and stored, uncommitted, in
var/compliance_classifier.v2.joblib. `load_classifier()` retrains it when that file is missing, was
trained from different files, or is older than one of them.

Why a norm floor (train.NORM_FLOOR): scaled to unit length, the two or three features of a short line
("还有别的吗？", "为什么？") weigh as much as a long threat's hundred, so a character merely common in
threats ("别" of 别想跑, "么", "你": the generator's lawful rows all say 您, its threats 你) decided
alone. Divided by max(norm, floor) instead, a line with little evidence stays near the bias.

Why the harm regression: one-vs-rest regressions see a category's ~200 rows as positives and every
other category's harmful rows as negatives, so a threat to the family that reads half like
violence, half like disclosure is pushed down by both. The harm regression pools all harmful rows
against the lawful ones and learns the shape they share (condition, harm, actor, second person);
it decides whether the classifier blocks (on the development set the category regressions, each at
its own threshold, blocked lawful lines the harm regression let pass), and the category regressions
decide which category the block is filed under — unless the rules excused that very category (a
negation or an anti-fraud quotation), which the classifier never overrules. The per-category
thresholds are still calibrated and used by a bundle without a harm regression.

Why a confirmation threshold: the two kinds of regression fail apart. A veiled English threat in
words the harm regression weighs little ("my dialer is set to call you forty times today": harm
0.42) can still be one its category regression is sure of (harassment 1.0), while a lawful line the
harm regression doubts is rarely one a category regression is sure of at its own, strict threshold
(each blocks at most 0.2 % of lawful rows). So the classifier also blocks when a category reaches
its own threshold and the harm probability reaches the lower confirmation threshold: two regressions
agreeing. Calibrated out of fold like the others (train.calibrate_confirm); on the training rows out
of fold it caught more harmful rows than lowering the harm threshold to the same share of lawful
rows blocked (English: 0.931 against 0.919 at 5.65 % of its lawful rows).

`Classifier.predict` does not call scikit-learn: it reads the fitted vocabulary, idf and weights
into plain arrays once and scores an utterance with a dictionary lookup per feature, so one
utterance costs well under a millisecond.
"""
from __future__ import annotations

import logging
import math
import threading
from typing import Any, Mapping

import numpy as np

from compliance_filters.features import FEATURE_VERSION, compact, features
from compliance_filters.training_data import ROOT, newest_training_file_mtime, training_files_sha256

log = logging.getLogger(__name__)

# ".v2": the features and the bundle's keys changed with issue 15; a model of the old format under
# the old name is simply never read.
MODEL_PATH = ROOT / "var" / "compliance_classifier.v2.joblib"
REPORT_PATH = ROOT / "var" / "compliance_classifier.v2.report.txt"

LABELS = ("ok", "violence", "third_party_disclosure", "impersonation", "false_legal_consequences", "insult", "harassment",
          "public_shaming", "inducing_borrowing", "privacy_intimidation")
CATEGORIES = LABELS[1:]
# Blocking threshold of a category the calibration could not set (it never happens for a model
# train.py made; kept for a bundle without thresholds).
DEFAULT_THRESHOLD = 0.85
# Stored with a trained model; a bundle of another format (e.g. without the lift threshold) is retrained.
BUNDLE_FORMAT = 6  # 5: the vectorizer's rows are divided by max(norm, norm_floor_); 6: the confirmation threshold


def normalise_for_model(text: str) -> str:
    """The compact text the corpus split and duplicate checks compare."""
    return compact(text)


class Classifier:
    """Scores an utterance; `predict` returns {category: probability} for every blocked category,
    `thresholds` the probability at which each category blocks."""

    def __init__(self, vectorizer: Any, estimators: list[Any], categories: tuple[str, ...] = CATEGORIES,
                 thresholds: Mapping[str, float] | None = None, harm_estimator: Any | None = None,
                 harm_threshold: float | None = None, lift_threshold: float | None = None,
                 confirm_threshold: float | None = None):
        self.categories = tuple(categories)
        self.thresholds = {c: float((thresholds or {}).get(c, DEFAULT_THRESHOLD)) for c in self.categories}
        # None when the bundle has no harm regression: then only the per-category thresholds block.
        self.harm_threshold = (float(harm_threshold if harm_threshold is not None else DEFAULT_THRESHOLD)
                               if harm_estimator is not None else None)
        # Below this harm probability a hit of a liftable rule (rules.yml classifier.may_lift) is lifted;
        # None: no rule hit is ever lifted.
        self.lift_threshold = float(lift_threshold) if lift_threshold is not None and harm_estimator is not None else None
        # At or above this harm probability (below the harm threshold) a category at its own threshold
        # blocks: both regressions agree. None: only the harm threshold blocks.
        self.confirm_threshold = (float(confirm_threshold) if confirm_threshold is not None and harm_estimator is not None
                                  else None)
        self._vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._sublinear = bool(vectorizer.sublinear_tf)
        # Divided by max(norm, floor) as train.floor_normalise does; a model from before the floor
        # (the vectorizer's own norm="l2") has none and divides by the norm alone.
        self._norm_floor = float(getattr(vectorizer, "norm_floor_", 0.0))
        columns = list(estimators) + ([harm_estimator] if harm_estimator is not None else [])
        # (n_features, n_categories [+ harm]), C-contiguous so one row holds one feature's weights.
        self._weights = np.ascontiguousarray(np.vstack([e.coef_.ravel() for e in columns]).T)
        self._bias = np.array([float(e.intercept_[0]) for e in columns])

    def predict(self, text: str) -> dict[str, float]:
        return self.predict_with_harm(text)[0]

    def predict_with_harm(self, text: str) -> tuple[dict[str, float], float | None]:
        """({category: probability}, probability that the utterance is harmful at all, or None
        without a harm regression) — one pass over the features."""
        known = [j for j in map(self._vocabulary.get, features(text)) if j is not None]
        scores = self._bias
        if known:
            idx, counts = np.unique(np.array(known, dtype=np.int64), return_counts=True)
            tf = counts.astype(np.float64)
            if self._sublinear:
                tf = 1.0 + np.log(tf)
            vals = tf * self._idf[idx]
            norm = max(math.sqrt(float(vals @ vals)), self._norm_floor)
            if norm > 0:
                vals /= norm
            scores = scores + vals @ self._weights[idx]
        probs = 1.0 / (1.0 + np.exp(-scores))
        harm = float(probs[len(self.categories)]) if self.harm_threshold is not None else None
        return {c: float(p) for c, p in zip(self.categories, probs)}, harm

    def blocked(self, text: str) -> list[str]:
        """With a harm regression: the most probable category when the harm probability reaches its
        threshold, or the most probable category at its own threshold when the harm probability reaches
        the confirmation threshold, else nothing. Without: the categories whose probability reaches
        their threshold, most probable first."""
        probs, harm = self.predict_with_harm(text)
        if harm is not None:
            if harm >= self.harm_threshold:
                return [max(probs, key=probs.__getitem__)]
            confirmed = self.confirmed(probs, harm)
            return [max(confirmed, key=probs.__getitem__)] if confirmed else []
        return sorted((c for c, p in probs.items() if p >= self.thresholds[c]), key=lambda c: -probs[c])

    def confirmed(self, probs: Mapping[str, float], harm: float) -> list[str]:
        """The categories at their own threshold when the harm probability reaches the confirmation
        threshold (and none without one)."""
        if self.confirm_threshold is None or harm < self.confirm_threshold:
            return []
        return [c for c, p in probs.items() if c in self.thresholds and p >= self.thresholds[c]]


def from_bundle(bundle: Mapping[str, Any]) -> Classifier:
    return Classifier(bundle["vectorizer"], bundle["estimators"], tuple(bundle["categories"]), bundle.get("thresholds"),
                      bundle.get("harm_estimator"), bundle.get("harm_threshold"), bundle.get("lift_threshold"),
                      bundle.get("confirm_threshold"))


_lock = threading.Lock()
_cached: Classifier | None = None
_cached_key: tuple[float, str] | None = None


def _stale(bundle: Mapping[str, Any], sha: str) -> bool:
    return (not MODEL_PATH.exists() or MODEL_PATH.stat().st_mtime < newest_training_file_mtime()
            or bundle.get("training_sha256") != sha or bundle.get("feature_version") != FEATURE_VERSION
            or bundle.get("bundle_format") != BUNDLE_FORMAT)


def load_classifier() -> Classifier | None:
    """The cached classifier; trains (and saves) it first if the stored model is missing or stale.

    Returns None only if the model can be neither loaded nor trained."""
    global _cached, _cached_key
    with _lock:
        try:
            sha = training_files_sha256()
            key = (newest_training_file_mtime(), sha)
            if _cached is not None and _cached_key == key:
                return _cached
            bundle: dict[str, Any] = {}
            if MODEL_PATH.exists() and MODEL_PATH.stat().st_mtime >= key[0]:
                import joblib

                try:
                    bundle = joblib.load(MODEL_PATH)
                except Exception:  # corrupt or from an incompatible library version: retrain
                    log.warning("could not read %s; retraining", MODEL_PATH, exc_info=True)
                    bundle = {}
            if not bundle or _stale(bundle, sha):
                from compliance_filters.train import train

                bundle = train(save=True, verbose=False)["bundle"]
            _cached = from_bundle(bundle)
            _cached_key = key
            return _cached
        except Exception:
            log.exception("compliance classifier unavailable")
            return None

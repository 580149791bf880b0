"""Learned compliance classifier: category → probability for an outgoing utterance.

The model (char 1–4-gram TF-IDF + one logistic regression per blocked category) is trained from
compliance_filters/data/corpus.tsv by compliance_filters.train and stored, uncommitted, in
var/compliance_classifier.joblib. `load_classifier()` retrains it when that file is missing, was
trained from a different corpus, or is older than the corpus.

`Classifier.predict` does not call scikit-learn: it reads the fitted vocabulary, idf and weights
into plain arrays once and scores an utterance with a dictionary lookup per n-gram, so one
utterance costs well under a millisecond.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nlu.normalise import to_simplified

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"
CORPUS_PATH = DATA_DIR / "corpus.tsv"
MODEL_PATH = ROOT / "var" / "compliance_classifier.joblib"
REPORT_PATH = ROOT / "var" / "compliance_classifier_report.txt"

LABELS = ("ok", "violence", "third_party_disclosure", "impersonation", "false_legal_consequences", "insult", "harassment",
          "public_shaming", "inducing_borrowing", "privacy_intimidation")
CATEGORIES = LABELS[1:]
# Default blocking threshold on a category's probability.
THRESHOLD = 0.85
NGRAM_RANGE = (1, 4)

_NON_WORD = re.compile(r"[\W_]+")


def normalise_for_model(text: str) -> str:
    """NFKC + Traditional→Simplified, lower case, every whitespace / symbol / underscore removed.

    '爆 你·通 訊 錄' and '爆你通讯录' give the same string, so separators and script do not evade."""
    return _NON_WORD.sub("", to_simplified(text).lower())


def corpus_sha256(path: Path = CORPUS_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def char_ngrams(normalised: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    lo, hi = ngram_range
    n_chars = len(normalised)
    return [normalised[i:i + n] for n in range(lo, hi + 1) for i in range(n_chars - n + 1)]


class Classifier:
    """Scores an utterance; `predict` returns {category: probability} for every blocked category."""

    def __init__(self, vectorizer: Any, estimators: list[Any], categories: tuple[str, ...] = CATEGORIES,
                 threshold: float = THRESHOLD, ngram_range: tuple[int, int] = NGRAM_RANGE):
        self.categories = tuple(categories)
        self.threshold = threshold
        self._vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._sublinear = bool(vectorizer.sublinear_tf)
        # The vectorizer's analyzer is `char_ngrams` with this range (its own ngram_range is unused).
        self._ngram_range = tuple(ngram_range)
        # (n_features, n_categories), C-contiguous so one row holds one n-gram's weights.
        self._weights = np.ascontiguousarray(np.vstack([e.coef_.ravel() for e in estimators]).T)
        self._bias = np.array([float(e.intercept_[0]) for e in estimators])

    def predict(self, text: str) -> dict[str, float]:
        counts: dict[int, int] = {}
        vocab = self._vocabulary
        for gram in char_ngrams(normalise_for_model(text), self._ngram_range):
            j = vocab.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        scores = self._bias
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if self._sublinear:
                tf = 1.0 + np.log(tf)
            vals = tf * self._idf[idx]
            norm = math.sqrt(float(vals @ vals))
            if norm > 0:
                vals /= norm
            scores = scores + vals @ self._weights[idx]
        probs = 1.0 / (1.0 + np.exp(-scores))
        return {c: float(p) for c, p in zip(self.categories, probs)}

    def blocked(self, text: str, threshold: float | None = None) -> list[str]:
        """Categories whose probability reaches the threshold, most probable first."""
        limit = self.threshold if threshold is None else threshold
        probs = self.predict(text)
        return sorted((c for c, p in probs.items() if p >= limit), key=lambda c: -probs[c])


_lock = threading.Lock()
_cached: Classifier | None = None
_cached_key: tuple[float, str] | None = None


def _stale(bundle: dict[str, Any], sha: str) -> bool:
    return (not MODEL_PATH.exists() or MODEL_PATH.stat().st_mtime < CORPUS_PATH.stat().st_mtime
            or bundle.get("corpus_sha256") != sha)


def load_classifier() -> Classifier | None:
    """The cached classifier; trains (and saves) it first if the stored model is missing or stale.

    Returns None only if the model can be neither loaded nor trained."""
    global _cached, _cached_key
    with _lock:
        try:
            sha = corpus_sha256()
            key = (CORPUS_PATH.stat().st_mtime, sha)
            if _cached is not None and _cached_key == key:
                return _cached
            bundle: dict[str, Any] = {}
            if MODEL_PATH.exists() and MODEL_PATH.stat().st_mtime >= CORPUS_PATH.stat().st_mtime:
                import joblib

                try:
                    bundle = joblib.load(MODEL_PATH)
                except Exception:  # corrupt or from an incompatible library version: retrain
                    log.warning("could not read %s; retraining", MODEL_PATH, exc_info=True)
                    bundle = {}
            if not bundle or _stale(bundle, sha):
                from compliance_filters.train import train

                bundle = train(save=True, verbose=False)["bundle"]
            _cached = Classifier(bundle["vectorizer"], bundle["estimators"], tuple(bundle["categories"]))
            _cached_key = key
            return _cached
        except Exception:
            log.exception("compliance classifier unavailable")
            return None

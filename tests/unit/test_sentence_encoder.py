"""nlu.sentence_encoder gives each text one 384-wide unit vector, the same alone as in a batch and different for
different sentences. Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.rasa_script import run_in_rasa

EMBED = r"""
import json, sys
from nlu.sentence_encoder import SentenceEncoder

encoder = SentenceEncoder()
texts = json.loads(sys.argv[1])
print(json.dumps({"batch": encoder.embed(texts).tolist(), "alone": encoder.embed(texts[:1]).tolist(),
                  "none": encoder.embed([]).shape}))
"""
TEXTS = ["我这个月实在拿不出钱来", "最近手头很紧，真的还不上", "I'm broke this month, I can't pay", "明天下午三点我去银行转账",
         "好的，再见"]


@pytest.fixture(scope="module")
def embedded():
    return run_in_rasa(EMBED, json.dumps(TEXTS, ensure_ascii=False))[0]


def test_each_text_gets_one_384_wide_unit_vector(embedded):
    batch = np.array(embedded["batch"])
    assert batch.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-3)


def test_a_text_alone_gets_the_vector_it_gets_in_a_batch(embedded):
    assert float(np.dot(embedded["alone"][0], embedded["batch"][0])) > 0.9999


def test_different_sentences_get_different_vectors(embedded):
    batch = np.array(embedded["batch"])
    similarities = batch @ batch.T
    assert (similarities[~np.eye(len(TEXTS), dtype=bool)] < 0.99).all()


def test_no_texts_give_an_empty_matrix(embedded):
    assert embedded["none"] == [0, 384]

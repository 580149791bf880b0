"""nlu.encoder_intents.EncoderIntentBlend: a classifier trained on the real sentence encoder's embeddings, stored and
loaded back, blends its probabilities into DIET's ranking by the configured weight where DIET is unsure. Runs in
Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

import pytest

from tests.rasa_script import run_in_rasa

BLEND = r"""
import json, tempfile
from pathlib import Path
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from nlu.encoder_intents import EncoderIntentBlend

LINES = {
    "hardship": ["我失业了没钱还", "这个月实在拿不出钱", "I lost my job and have no money", "I can't afford it right now"],
    "promise_to_pay": ["我明天就还", "下周五还清", "I'll pay tomorrow", "I will pay on Friday"],
    "goodbye": ["再见", "先挂了", "bye", "talk to you later"],
    "provide_id_digits": ["my last four are 3821", "ID ends in 0486", "last 4 digits 5521", "it's 7765"],
}
training = TrainingData([Message(data={"text": text, "intent": intent}) for intent, texts in LINES.items()
                         for text in texts])
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource = Resource("blend")
config = {**EncoderIntentBlend.get_default_config(), "diet_weight": 0.3, "diet_trusted_above": 0.9}
trained = EncoderIntentBlend.create(config, storage, resource, None)
trained.train(training)

def served(component, text, diet_ranking):
    message = Message(data={"text": text})
    message.set("intent", diet_ranking[0])
    message.set("intent_ranking", diet_ranking)
    component.process([message])
    return {"intent": message.get("intent"), "ranking": message.get("intent_ranking")}

diet = [{"name": "goodbye", "confidence": 0.6}, {"name": "hardship", "confidence": 0.4}]
text = "money has been really tight lately, I just cannot cover it"
loaded = EncoderIntentBlend.load(config, storage, resource, None)
encoder_only = EncoderIntentBlend.load({**config, "diet_weight": 0.0, "encoder_unread_intents": []}, storage,
                                      resource, None)
diet_only = EncoderIntentBlend.load({**config, "diet_weight": 1.0}, storage, resource, None)
untouched = Message(data={"intent": diet[0], "intent_ranking": diet})
loaded.process([untouched])
sure = [{"name": "goodbye", "confidence": 0.9}, {"name": "hardship", "confidence": 0.1}]
third_party = [{"name": "wrong_person", "confidence": 0.5}, {"name": "hardship", "confidence": 0.5}]
print(json.dumps({
    "trained": served(trained, text, diet), "loaded": served(loaded, text, diet),
    "encoder_only": served(encoder_only, text, diet), "diet_only": served(diet_only, text, diet),
    "untouched": untouched.get("intent_ranking"), "diet_sure": served(loaded, text, sure),
    "third_party": served(loaded, text, third_party),
    "digits_read": served(encoder_only, "the last four are 4417", diet),
    "digits_unread": served(loaded, "the last four are 4417", diet),
    "chinese": served(encoder_only, "最近手头太紧了，还不上", diet),
    "digits": [served(encoder_only, f"not me, his ID ends in {digits}", diet)["ranking"]
               for digits in ("0486", "3821")],
}, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def blended():
    return run_in_rasa(BLEND)[0]


def _confidences(result):
    return {entry["name"]: entry["confidence"] for entry in result["ranking"]}


def test_the_encoder_alone_reads_a_reworded_hardship_as_hardship(blended):
    assert blended["encoder_only"]["intent"]["name"] == "hardship"


def test_the_blend_is_the_weighted_mean_of_diet_and_the_encoder(blended):
    encoder, diet, blend = (_confidences(blended[key]) for key in ("encoder_only", "diet_only", "loaded"))
    for intent, confidence in blend.items():
        assert confidence == pytest.approx(0.3 * diet.get(intent, 0.0) + 0.7 * encoder.get(intent, 0.0), abs=1e-6)
    assert blended["loaded"]["intent"] == blended["loaded"]["ranking"][0]
    assert blended["loaded"]["intent"]["name"] == "hardship"  # DIET's goodbye at 0.6 is outvoted


def test_a_weight_of_one_keeps_diet_s_ranking(blended):
    assert _confidences(blended["diet_only"]) == pytest.approx({"goodbye": 0.6, "hardship": 0.4, "promise_to_pay": 0.0,
                                                               "provide_id_digits": 0.0})


def test_the_stored_classifier_answers_as_the_trained_one(blended):
    assert _confidences(blended["loaded"]) == pytest.approx(_confidences(blended["trained"]), abs=1e-6)


def test_a_message_without_text_keeps_diet_s_ranking(blended):
    assert blended["untouched"] == [{"name": "goodbye", "confidence": 0.6}, {"name": "hardship", "confidence": 0.4}]


def test_diet_s_decision_stands_where_it_is_sure(blended):
    assert blended["diet_sure"]["ranking"] == [{"name": "goodbye", "confidence": 0.9},
                                               {"name": "hardship", "confidence": 0.1}]


def test_the_encoder_reads_every_number_alike(blended):
    first, second = blended["digits"]
    assert first == second


def test_diet_s_wrong_party_is_never_blended_away(blended):
    assert blended["third_party"]["intent"] == {"name": "wrong_person", "confidence": 0.5}


def test_a_chinese_message_keeps_diet_s_ranking(blended):
    assert blended["chinese"]["ranking"] == [{"name": "goodbye", "confidence": 0.6},
                                             {"name": "hardship", "confidence": 0.4}]


def test_where_the_encoder_reads_a_value_intent_diet_decides(blended):
    assert blended["digits_read"]["intent"]["name"] == "provide_id_digits"
    assert blended["digits_unread"]["ranking"] == [{"name": "goodbye", "confidence": 0.6},
                                                   {"name": "hardship", "confidence": 0.4}]

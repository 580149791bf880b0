"""Against the live Rasa server: even a tracker that a rule would lead straight to a disclosure
cannot get one predicted while identity_verified is false."""
from __future__ import annotations

import uuid

import httpx
import pytest

from dialogue.disclosure import DISCLOSURE_ACTIONS

pytestmark = pytest.mark.e2e


def _tracker_after_balance_then_affirm(verified: bool) -> list[dict]:
    # The rule "borrower agrees to pay in full right after hearing the balance" has no slot
    # condition: only the guard stands between this history and action_pay_in_full.
    return [
        {"event": "slot", "name": "identity_verified", "value": verified},
        {"event": "action", "name": "action_tell_balance"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "好的", "parse_data": {"intent": {"name": "affirm", "confidence": 1.0},
                                                        "entities": []}},
    ]


def _predict(stack, verified: bool) -> dict[str, float]:
    conversation_id = uuid.uuid4().hex
    params = {"token": stack.config.rasa_token}
    with httpx.Client(base_url=stack.rasa_url, timeout=60) as http:
        http.post(f"/conversations/{conversation_id}/tracker/events", params=params,
                  json=_tracker_after_balance_then_affirm(verified)).raise_for_status()
        response = http.post(f"/conversations/{conversation_id}/predict", params=params)
        response.raise_for_status()
    return {score["action"]: score["score"] for score in response.json()["scores"]}


def test_unverified_tracker_cannot_predict_any_disclosure_action(stack):
    scores = _predict(stack, verified=False)
    assert all(scores[action] == 0.0 for action in DISCLOSURE_ACTIONS)


def test_same_history_when_verified_predicts_pay_in_full(stack):
    scores = _predict(stack, verified=True)
    assert max(scores, key=scores.get) == "action_pay_in_full"

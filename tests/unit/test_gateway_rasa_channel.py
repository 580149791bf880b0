"""The gateway's Rasa channel (rasa_channels/gateway.py) reads the turn's facts from a real Rasa tracker:
only the handoff reasons raised while handling this message, even when a later turn is already logged.
Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

import pytest

from bot.rasa_client import RasaTurn, RasaUnavailable
from tests.rasa_script import run_in_rasa

FACTS_OF_EACH_TURN = r"""
import json
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_channels.gateway import turn_facts

def turn(message_id, action, *events):
    return [UserUttered("...", message_id=message_id), ActionExecuted(action), *events,
            BotUttered("..."), ActionExecuted("action_listen")]

events = [
    ActionExecuted("action_session_start"), SessionStarted(), SlotSet("borrower_known", True),
    ActionExecuted("action_listen"),
    *turn("opening", "utter_greeting"),
    *turn("verifying", "verification_form", SlotSet("identity_verified", True)),
    *turn("asking", "action_request_human", SlotSet("handoff_reason", "requested")),
    *turn("distressed", "action_handle_distress", SlotSet("handoff_reason", "distress"),
          SlotSet("handoff_reason", "distress"), SlotSet("collection_stopped", True)),
]
domain = Domain.load("domain.yml")
tracker = DialogueStateTracker.from_events("conv-1", events, domain.slots)
print(json.dumps({message_id: turn_facts(tracker, message_id)
                  for message_id in ("opening", "verifying", "asking", "distressed", "never-logged")}))
ended = DialogueStateTracker.from_events(
    "conv-2", events + turn("closing", "action_close_conversation", SlotSet("conversation_ended", True)), domain.slots)
print(json.dumps(turn_facts(ended, "closing")))
"""


@pytest.fixture(scope="module")
def facts():
    each_turn, closing = run_in_rasa(FACTS_OF_EACH_TURN, results=2, timeout=120)
    return each_turn, closing


def test_each_turn_reports_only_the_reasons_raised_while_handling_it(facts):
    each_turn, _ = facts
    assert {message_id: turn["handoff_reasons"] for message_id, turn in each_turn.items()} == {
        "opening": [], "verifying": [], "asking": ["requested"], "distressed": ["distress"], "never-logged": []}


def test_the_slots_are_reported_as_they_stand_after_the_turn(facts):
    each_turn, closing = facts
    assert each_turn["asking"]["identity_verified"] is True and each_turn["asking"]["conversation_ended"] is False
    assert closing == {"identity_verified": True, "conversation_ended": True, "handoff_reasons": [], "language": "zh"}


def test_the_gateway_reads_the_channels_answer_and_refuses_any_other():
    turn = RasaTurn.from_json({"messages": [{"text": "好的"}], "identity_verified": True,
                               "conversation_ended": False, "handoff_reasons": ["requested"]})
    assert turn == RasaTurn([{"text": "好的"}], True, False, ("requested",))
    with pytest.raises(RasaUnavailable, match="credentials.yml"):
        RasaTurn.from_json([{"recipient_id": "c", "text": "好的"}])  # Rasa's REST channel answer

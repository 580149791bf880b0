"""rasa_runtime/action_responses.py replaces Rasa's per-call `jsonschema.validate` of action server responses with a
validator built once: it must accept and refuse exactly what Rasa's own check does, with the same error.
Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

COMPARE = r"""
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa_runtime import action_responses

responses = {
    "typical": {"events": [{"event": "slot", "timestamp": None, "name": "requested_slot", "value": None},
                           {"event": "active_loop", "name": None}],
                "responses": [{"text": "您好", "buttons": []}]},
    "empty": {},
    "events not a list": {"events": {"event": "slot"}},
    "unknown event": {"events": [{"event": "teleport", "where": "moon"}]},
    "slot without a name": {"events": [{"event": "slot", "value": 3}]},
    "response not an object": {"responses": ["text"]},
    "not an object": ["events"],
}

def outcome(validate, response):
    try:
        return validate(response)
    except ValidationError as error:
        return ["refused", error.message, list(error.absolute_path)]

action = RemoteAction("action_x", None)
original = {name: outcome(action._validate_action_result, response) for name, response in responses.items()}
action_responses.install()
patched = {name: outcome(action._validate_action_result, response) for name, response in responses.items()}
print(json.dumps([original, patched]))
"""


def test_the_validator_built_once_accepts_and_refuses_what_rasas_own_check_does():
    [(original, patched)] = run_in_rasa(COMPARE, timeout=120)
    assert patched == original
    assert original["typical"] is True and original["empty"] is True
    refused = {name for name, result in original.items() if result is not True}
    assert refused == {"events not a list", "unknown event", "slot without a name", "response not an object",
                       "not an object"}

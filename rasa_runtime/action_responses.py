"""Rasa validates every action server response against its JSON schema with `jsonschema.validate`, which checks
the schema itself against the metaschema and builds a new validator on every call: a quarter of Rasa's CPU under
load (issue 17's profile). The schema is a constant, so this builds its validator once and validates each response
with it, exactly as strictly: the same schema, the same error (the best match), the same message.

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

from typing import Any

import jsonschema
from rasa.core.actions.action import RemoteAction

_SCHEMA = RemoteAction.action_response_format_spec()
_VALIDATOR_CLASS = jsonschema.validators.validator_for(_SCHEMA)
_VALIDATOR_CLASS.check_schema(_SCHEMA)
_VALIDATOR = _VALIDATOR_CLASS(_SCHEMA)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(result))
    if error is None:
        return True
    error.message += (". Failed to validate Action server response from API, make sure your response from the "
                      "Action endpoint is valid. For more information about the format visit "
                      "https://rasa.com/docs/rasa/custom-actions")
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result

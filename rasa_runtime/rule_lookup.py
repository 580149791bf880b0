"""Rasa's RulePolicy finds the rules that match a conversation by filtering every rule against each of the
conversation's states from the last one back to the first (`_get_possible_keys`), although a rule longer than the
states looked at so far is the only kind that can still fail: a rule of n states matches once its last n states
did. This checks each rule against its own number of states only and stops when no rule is left to check, so its cost
no longer grows with the conversation; the rules it returns are the same.

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.generator import State


def possible_keys(policy: RulePolicy, lookup: dict[str, Any], states: list[State]) -> set[str]:
    keys = set(lookup)
    for index, state in enumerate(reversed(states)):
        # Rasa's own check passes a rule at every state before its first one (`_is_rule_applicable`).
        pending = {key for key in keys if index < len(policy._rule_key_to_state(key))}
        if not pending:
            break
        keys = (keys - pending) | {key for key in pending if policy._is_rule_applicable(key, index, state)}
    return keys


def install() -> None:
    RulePolicy._get_possible_keys = possible_keys

"""Handing a conversation to a person: an action only names the reason.

The gateway's Rasa channel reports every reason set during a turn; the gateway's handoff desk queues the
conversation and records the request in the ledger with the priority of bot/handoff.yml.
"""
from __future__ import annotations

from rasa_sdk.events import SlotSet


def hand_off(reason: str) -> list[dict]:
    return [SlotSet("handoff_reason", reason)]

"""Events that close whatever form is open and mark the conversation as over."""
from __future__ import annotations

from rasa_sdk.events import ActiveLoop, SlotSet


def close_active_form() -> list[dict]:
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


def end_conversation() -> list[dict]:
    return close_active_form() + [SlotSet("conversation_ended", True)]

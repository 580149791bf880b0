"""Events that close (or reopen) whatever form is open and mark the conversation as over."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet


def close_active_form() -> list[dict]:
    return [ActiveLoop(None), SlotSet("requested_slot", None)]


def reopen_form(tracker: Tracker) -> list[dict]:
    """Close the open form and run it again: it asks its pending question and takes the next answer as usual,
    where a form merely interrupted would not validate it."""
    form = tracker.active_loop_name
    return close_active_form() + ([FollowupAction(form)] if form else [])


def end_conversation() -> list[dict]:
    return close_active_form() + [SlotSet("conversation_ended", True)]

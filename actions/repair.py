"""Turns that answer nothing the bot asked: a greeting, "can you hear me?", "what did you say?", "hold on", chit-chat,
or words the NLU did not get. Each gets a short answer and then the pending question again, and the next valid
answer works: an open form is closed and resumed (a resumed form asks its next empty slot and takes the next answer
as usual, where an interrupted one would not validate it). Misunderstandings in a row hand off to a person; any turn
that was understood starts the count again.
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import is_verified, latest_intent
from actions.conversation_end import close_active_form, reopen_form
from actions.handoff import hand_off
from actions.replies import reply

MAX_MISUNDERSTOOD_IN_A_ROW = 3
MISUNDERSTOOD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})

REPAIR_INTENTS = frozenset({"greet", "check_hearing", "ask_repeat", "ask_to_wait"})
_DIGIT_RUN = re.compile(r"\d[\d ]*\d|\d")


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """This turn plus the borrower's turns just before it that the NLU did not understand."""
    count = 1
    user_turns = [event for event in tracker.events if event.get("event") == "user"]
    for event in reversed(user_turns[:-1]):
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent not in MISUNDERSTOOD_INTENTS:
            break
        count += 1
    return count


def _asks_id_digits_and_got_other_digits(tracker: Tracker) -> bool:
    if tracker.get_slot("requested_slot") != "id_last4":
        return False
    runs = [run.replace(" ", "") for run in _DIGIT_RUN.findall(tracker.latest_message.get("text") or "")]
    return any(len(run) != 4 for run in runs)


def _resume(tracker: Tracker) -> list[dict]:
    """The open form asks its pending question again; without one the turn ends here."""
    return reopen_form(tracker) + ([] if tracker.active_loop_name else [FollowupAction("action_listen")])


class ActionRepairTurn(Action):
    """A turn that keeps the conversation going without answering: a short answer, then the question again."""

    def name(self) -> str:
        return "action_repair_turn"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        intent = latest_intent(tracker)
        dispatcher.utter_message(text=reply(tracker, f"repair_{intent if intent in REPAIR_INTENTS else 'ask_repeat'}"))
        if not tracker.active_loop_name and intent == "ask_repeat":
            last = _last_bot_text(tracker)
            if last:
                dispatcher.utter_message(text=last)
        elif not tracker.active_loop_name and intent != "ask_to_wait":
            dispatcher.utter_message(text=reply(tracker, "how_can_i_help"))
        return _resume(tracker)


class ActionDefaultFallback(Action):
    """Words the bot did not get (low NLU confidence, chit-chat, or no policy sure what to do)."""

    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        if misunderstood_in_a_row(tracker) >= MAX_MISUNDERSTOOD_IN_A_ROW:
            dispatcher.utter_message(text=reply(tracker, "misunderstood_handed_off"))
            return close_active_form() + hand_off("nlu_fallback") + [FollowupAction("action_listen")]
        if _asks_id_digits_and_got_other_digits(tracker):
            dispatcher.utter_message(text=reply(tracker, "not_four_digits"))
        elif tracker.active_loop_name:
            dispatcher.utter_message(text=reply(tracker, "misunderstood"))
        else:
            dispatcher.utter_message(
                text=reply(tracker, "misunderstood_verified" if is_verified(tracker) else "misunderstood_say_again"))
        return _resume(tracker)


def _last_bot_text(tracker: Tracker) -> str | None:
    for event in reversed(tracker.events):
        if event.get("event") == "bot" and event.get("text"):
            return event["text"]
    return None

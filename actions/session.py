"""Session start: load the borrower named by the gateway; unknown ids get a generic, disclosure-free conversation."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, channel, conversation_id, ledger, now


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        session_metadata = tracker.get_slot("session_started_metadata")
        events: list[dict] = [SessionStarted()]
        if session_metadata:  # SessionStarted resets slots; keep what the gateway told us
            events.append(SlotSet("session_started_metadata", session_metadata))
        events += self._borrower_slots(tracker)
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def _borrower_slots(tracker: Tracker) -> list[dict]:
        known_id = borrower_id(tracker)
        borrower = ledger().get_borrower(known_id) if known_id else None
        if borrower is None:
            return [SlotSet("borrower_known", False)]
        account = ledger().get_primary_account(borrower.borrower_id)
        ledger().start_conversation(conversation_id(tracker), borrower.borrower_id, channel(tracker), now(tracker))
        slots = [
            SlotSet("borrower_known", True),
            SlotSet("borrower_name", f"{borrower.full_name}{borrower.honorific}"),
        ]
        if account is not None:
            slots.append(SlotSet("lender_name", account.lender_name))
        return slots

"""Session start: record the conversation for the borrower id the gateway named, whether or not the ledger
knows it, and set nothing the opening could reveal (the lender is set only once identity is verified). The one
thing taken from the record is the language to greet in: the opening names no one and says nothing of a debt in
either language, and only someone holding the borrower's own link or number reaches it."""
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
        language = self._record_conversation(tracker)
        if language is not None:
            events.append(SlotSet("language", language))
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def _record_conversation(tracker: Tracker) -> str | None:
        """The same lookup and the same write for a known and an unknown id (an unknown one is recorded without a
        borrower), so neither the reply nor its timing tells them apart. Returns the borrower's language."""
        claimed_id = borrower_id(tracker)
        borrower = ledger().get_borrower(claimed_id) if claimed_id else None
        ledger().start_conversation(
            conversation_id(tracker), borrower.borrower_id if borrower else None, channel(tracker), now(tracker))
        return borrower.language if borrower else None

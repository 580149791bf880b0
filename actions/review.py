"""Requests from a party whose identity is not verified (stop contact, dispute, distress): nobody on the line is
known to be the borrower, so the account is not changed; the ledger keeps the request for a person to review and
apply (issue 10 finding 7; DESIGN.md "Trust")."""
from __future__ import annotations

from rasa_sdk import Tracker

from actions.conversation_context import borrower_id, borrower_words, channel, conversation_id, ledger


def record_for_review(tracker: Tracker, kind: str) -> None:
    ledger().record_review_request(
        conversation_id(tracker), borrower_id(tracker), channel(tracker), kind, said=borrower_words(tracker))

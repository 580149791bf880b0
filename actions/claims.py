"""What the borrower tells us about their situation: hardship, disputes, payments already made."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import (
    borrower_id, borrower_timezone, borrower_words, conversation_id, is_verified, ledger, local_today, now,
)
from actions.conversation_end import close_active_form
from actions.entities import as_cents, latest_entity, latest_value
from actions.handoff import hand_off
from actions.guarded import DisclosureAction
from actions.plans import propose
from actions.replies import reply, wording
from actions.review import record_for_review
from actions.strategy import place_again
from chinese_text import parse_date
from ledger.views import AccountView


def record_hardship(tracker: Tracker, detail: str | None = None) -> AccountView | None:
    """A verified borrower's hardship on the ledger, in their words unless `detail` is given; their account is placed
    again at once (its strategy may soften). Returns the primary account, or None."""
    known_id = borrower_id(tracker)
    account = ledger().get_primary_account(known_id)
    ledger().record_claim(
        known_id, account.account_id if account else None, conversation_id(tracker), "hardship",
        detail=borrower_words(tracker) if detail is None else detail,
    )
    place_again(tracker, known_id, "hardship claim")
    return account


class ActionRecordHardship(DisclosureAction):
    """Records the hardship and offers the gentler, fee-free plan or a person."""

    def name(self) -> str:
        return "action_record_hardship"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = record_hardship(tracker)
        dispatcher.utter_message(text=reply(tracker, "hardship_recorded"))
        events: list[dict] = [SlotSet("hardship", True)]
        if account is not None:
            events += propose(dispatcher, tracker, account, requested=None, hardship=True)
        return events


class ActionRecordDispute(Action):
    """A verified borrower's dispute pauses collection and goes to a person; nothing about the debt is argued here.
    An unverified party's is recorded for a person to review (the account is not touched) and handed off too, in
    words that mention no debt; a known and an unknown borrower id hear the same."""

    def name(self) -> str:
        return "action_record_dispute"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        events = close_active_form() + [SlotSet("collection_stopped", True)] + hand_off("dispute")
        if not is_verified(tracker):
            record_for_review(tracker, "dispute")
            dispatcher.utter_message(text=reply(tracker, "claim_for_review"))
            return events
        known_id = borrower_id(tracker)
        account = ledger().get_primary_account(known_id)
        ledger().record_claim(
            known_id, account.account_id if account else None, conversation_id(tracker), "dispute",
            detail=borrower_words(tracker),
        )
        place_again(tracker, known_id, "dispute")
        dispatcher.utter_message(text=reply(tracker, "dispute_recorded"))
        return events


class ActionRecordPaidClaim(DisclosureAction):
    """Already paid: keep what they said (amount, date) for reconciliation; do not argue."""

    def name(self) -> str:
        return "action_record_paid_claim"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = borrower_id(tracker)
        account = ledger().get_primary_account(known_id)
        amount = as_cents(latest_value(tracker, "amount"))
        date_entity = latest_entity(tracker, "date")
        # The normaliser reads dates as future promises; a payment already made lies in the past.
        paid_on = (
            parse_date(date_entity.get("text") or "", now(tracker), borrower_timezone(tracker), prefer="past")
            if date_entity else None
        )
        ledger().record_claim(
            known_id, account.account_id if account else None, conversation_id(tracker), "paid",
            detail=borrower_words(tracker), amount_cents=amount, claimed_date=paid_on,
        )
        words = wording(tracker, account)
        said_key = "paid_said_" + ("_".join(part for part, told in (("amount", amount), ("date", paid_on)) if told)
                                   or "plain")
        said = reply(tracker, said_key, amount=words.money(amount) if amount else "",
                     date=words.date(paid_on, local_today(tracker)) if paid_on else "")
        dispatcher.utter_message(text=reply(tracker, "paid_claim_recorded", said=said))
        return []

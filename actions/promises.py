"""Promise to pay: a form collects amount and date; the ledger stores it before the bot confirms."""
from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, conversation_id, ledger, local_today, now
from actions.entities import as_cents, as_date, latest_value
from actions.guarded import DisclosureAction
from actions.replies import refusal_reply, reply, wording
from ledger.errors import PolicyViolation
from ledger.policy import promise_window
from chinese_text import parse_amount_cents


class ValidatePromiseForm(FormValidationAction):
    def name(self) -> str:
        return "validate_promise_form"

    def validate_promise_amount(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        account = ledger().get_primary_account(borrower_id(tracker))
        cents = as_cents(value) if not isinstance(value, str) else parse_amount_cents(value)
        if account is None or cents is None:
            dispatcher.utter_message(text=reply(tracker, "amount_not_heard"))
            return {"promise_amount": None}
        if not 0 < cents <= account.balance_cents:
            dispatcher.utter_message(
                text=reply(tracker, "amount_out_of_range", balance=wording(tracker, account).money(account.balance_cents)))
            return {"promise_amount": None}
        return {"promise_amount": cents}

    def validate_promise_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        account = ledger().get_primary_account(borrower_id(tracker))
        day = as_date(value)
        if account is None or day is None:
            dispatcher.utter_message(text=reply(tracker, "date_not_heard"))
            return {"promise_date": None}
        today = local_today(tracker)
        earliest, latest = promise_window(account.risk_tier, today, ledger().policy)
        if not earliest <= day <= latest:
            words = wording(tracker, account)
            dispatcher.utter_message(text=reply(
                tracker, "date_out_of_window", earliest=words.date(earliest, today), latest=words.date(latest, today)))
            return {"promise_date": None}
        return {"promise_date": day.isoformat()}


class ActionPromiseFromDelayRequest(DisclosureAction):
    """"缓几天，30号还一千二": a delay asked for together with an amount is a promise of that amount by that day.
    Puts the message's amount and day in the promise form's slots; the form validates them and asks for what is
    missing, and the promise is recorded as any other."""

    def name(self) -> str:
        return "action_promise_from_delay_request"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        return [SlotSet("promise_amount", as_cents(latest_value(tracker, "amount"))),
                SlotSet("promise_date", latest_value(tracker, "date"))]


class ActionRecordPromise(DisclosureAction):
    def name(self) -> str:
        return "action_record_promise"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = ledger().get_primary_account(borrower_id(tracker))
        cents = as_cents(tracker.get_slot("promise_amount"))
        day = as_date(tracker.get_slot("promise_date"))
        reset = [SlotSet("promise_amount", None), SlotSet("promise_date", None)]
        if account is None or cents is None or day is None:
            dispatcher.utter_message(text=reply(tracker, "promise_not_recorded"))
            return reset
        today = local_today(tracker)
        try:
            promise = ledger().record_promise(account.account_id, conversation_id(tracker), cents, day, today,
                                              at=now(tracker))
        except PolicyViolation as refusal:
            dispatcher.utter_message(text=refusal_reply(tracker, refusal, account, today, ledger().policy))
            return reset
        words = wording(tracker, account)
        remaining = account.balance_cents - promise.amount_cents
        text = reply(tracker, "promise_recorded", date=words.date(promise.promised_date, today),
                     amount=words.money(promise.amount_cents))
        if remaining > 0:
            text += reply(tracker, "promise_remaining", remaining=words.money(remaining))
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_anything_else")
        return reset + [SlotSet("agreement_reached", True)]

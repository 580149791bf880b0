"""Promise to pay: a form collects amount and date; the ledger stores it before the bot confirms."""
from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, conversation_id, ledger, local_today
from actions.entities import as_cents, as_date
from ledger.wording import spoken_date, yuan
from actions.guarded import DisclosureAction
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
            dispatcher.utter_message(text="抱歉，我没有听清金额，请再说一次。")
            return {"promise_amount": None}
        if not 0 < cents <= account.balance_cents:
            dispatcher.utter_message(
                text=f"还款金额需要大于0元，且不超过您当前的应还金额{yuan(account.balance_cents)}。"
            )
            return {"promise_amount": None}
        return {"promise_amount": cents}

    def validate_promise_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        account = ledger().get_primary_account(borrower_id(tracker))
        day = as_date(value)
        if account is None or day is None:
            dispatcher.utter_message(text="抱歉，我没有听清日期，请再说一次。")
            return {"promise_date": None}
        today = local_today(tracker)
        earliest, latest = promise_window(account.risk_tier, today, ledger().policy)
        if not earliest <= day <= latest:
            dispatcher.utter_message(
                text=f"根据还款政策，约定的还款日期需要在{spoken_date(earliest, today)}到{spoken_date(latest, today)}之间。"
            )
            return {"promise_date": None}
        return {"promise_date": day.isoformat()}


class ActionRecordPromise(DisclosureAction):
    def name(self) -> str:
        return "action_record_promise"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = ledger().get_primary_account(borrower_id(tracker))
        cents = as_cents(tracker.get_slot("promise_amount"))
        day = as_date(tracker.get_slot("promise_date"))
        reset = [SlotSet("promise_amount", None), SlotSet("promise_date", None)]
        if account is None or cents is None or day is None:
            dispatcher.utter_message(text="抱歉，还款约定没有记录成功，我为您转接人工专员处理。")
            return reset
        today = local_today(tracker)
        try:
            promise = ledger().record_promise(account.account_id, conversation_id(tracker), cents, day, today)
        except PolicyViolation as refusal:
            dispatcher.utter_message(text=refusal.message)
            return reset
        remaining = account.balance_cents - promise.amount_cents
        text = f"好的，已为您记录：{spoken_date(promise.promised_date, today)}前还款{yuan(promise.amount_cents)}。"
        if remaining > 0:
            text += f"还款后剩余{yuan(remaining)}，我们会再与您约定。"
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_anything_else")
        return reset + [SlotSet("agreement_reached", True)]

"""Telling a verified borrower what they owe, and settling in full."""
from __future__ import annotations


from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import conversation_id, is_voice, ledger, local_today
from actions.entities import as_date, latest_value
from ledger.wording import spoken_date, yuan
from ledger.views import AccountView
from actions.guarded import AccountAction
from ledger.errors import PolicyViolation


class ActionTellBalance(AccountAction):
    def name(self) -> str:
        return "action_tell_balance"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        today = local_today(tracker)
        if is_voice(tracker):
            dispatcher.utter_message(
                text=(f"您在{account.lender_name}的借款当前应还{yuan(account.balance_cents)}，已逾期{account.days_past_due}天。"
                      "请问是什么原因导致逾期的呢？您今天方便全额还款吗？"))
            return []
        dispatcher.utter_message(
            text=(
                f"您在{account.lender_name}的借款当前应还{yuan(account.balance_cents)}"
                f"（本金{yuan(account.principal_cents)}、利息{yuan(account.interest_cents)}、"
                f"逾期费用{yuan(account.fees_cents)}），到期日是{spoken_date(account.due_date, today)}，"
                f"目前已逾期{account.days_past_due}天。请问是什么原因导致逾期的呢？您今天方便全额还款吗？"
            )
        )
        return []


class ActionPayInFull(AccountAction):
    """Records a promise for the whole balance, on the date the borrower named or today."""

    def name(self) -> str:
        return "action_pay_in_full"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        today = local_today(tracker)
        pay_on = as_date(latest_value(tracker, "date")) or today
        try:
            promise = ledger().record_promise(
                account.account_id, conversation_id(tracker), account.balance_cents, pay_on, today
            )
        except PolicyViolation as refusal:
            dispatcher.utter_message(text=f"{refusal.message}请问您能在这个期限内还清吗？")
            return []
        dispatcher.utter_message(
            text=(
                f"好的，已为您登记：{spoken_date(promise.promised_date, today)}前全额还款"
                f"{yuan(promise.amount_cents)}。"
            )
        )
        dispatcher.utter_message(response="utter_how_to_pay")
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("agreement_reached", True)]

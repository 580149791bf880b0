"""Telling a verified borrower what they owe, and settling in full."""
from __future__ import annotations


from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import conversation_id, is_voice, ledger, local_today, now
from actions.entities import as_date, latest_value
from ledger.views import AccountView
from actions.guarded import AccountAction
from actions.replies import keyed_question, refusal_reply, reply, wording
from ledger.errors import PolicyViolation


class ActionTellBalance(AccountAction):
    def name(self) -> str:
        return "action_tell_balance"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        words = wording(tracker, account)
        today = local_today(tracker)
        # Counted today, in the borrower's calendar: the imported days_past_due is as old as the import.
        days = (today - account.due_date).days
        amounts = {"lender": account.lender_name, "balance": words.money(account.balance_cents), "days": days,
                   "due": words.date(account.due_date, today)}
        # Before (or on) the due date this is a reminder, not a collection: nothing is late yet.
        stage = "balance" if days > 0 else "balance_not_yet_due"
        if is_voice(tracker):
            # "您今天方便全额还款吗？": a yes is a promise of the whole balance (action_pay_in_full).
            question = reply(tracker, f"{stage}_spoken", **amounts)
            dispatcher.utter_message(**keyed_question(tracker, question, "keys_yes_no"))
            return []
        dispatcher.utter_message(text=reply(
            tracker, f"{stage}_written", **amounts, principal=words.money(account.principal_cents),
            interest=words.money(account.interest_cents), fees=words.money(account.fees_cents)))
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
                account.account_id, conversation_id(tracker), account.balance_cents, pay_on, today, at=now(tracker)
            )
        except PolicyViolation as refusal:
            dispatcher.utter_message(
                text=refusal_reply(tracker, refusal, account, today, ledger().policy, "ask_pay_within_window"))
            return []
        words = wording(tracker, account)
        dispatcher.utter_message(text=reply(
            tracker, "full_payment_recorded", date=words.date(promise.promised_date, today),
            amount=words.money(promise.amount_cents)))
        dispatcher.utter_message(response="utter_how_to_pay")
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("agreement_reached", True)]

"""Telling a verified borrower what they owe, and settling in full."""
from __future__ import annotations


from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import call_script, conversation_id, is_voice, ledger, local_today, now
from actions.entities import as_date, latest_value
from ledger.views import AccountView
from actions.guarded import AccountAction
from actions.plans import offered_periods
from actions.replies import keyed_question, refusal_reply, reply, wording
from ledger.errors import PolicyViolation
from ledger.policy import promise_window

# The strategy's script variant (campaigns/strategy.yml `script`) -> how an overdue balance is put on a call placed
# with it. 'reminder' has no entry: a reminder call reaches a borrower before the due date.
SCRIPTED_STAGES = {"overdue_gentle": "balance_gentle", "overdue_firm": "balance_firm", "hardship": "balance_hardship"}


def balance_stage(days_past_due: int, script: str, voice: bool) -> str:
    """Which wording tells the balance. The facts come first: before or on the due date it is a reminder, whatever the
    script (nothing is late yet). Then the script of a call the lender's dialer placed; otherwise (a borrower who
    called or wrote to us) the plain overdue wording."""
    if days_past_due <= 0:
        return "balance_not_yet_due"
    if voice and script in SCRIPTED_STAGES:
        return SCRIPTED_STAGES[script]
    return "balance"


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
        stage = balance_stage(days, call_script(tracker), is_voice(tracker))
        if stage == "balance_hardship":  # the fee-free plan on offer, within the segment's offer limit
            options = offered_periods(account, hardship=True)
            if options:
                amounts["periods"] = max(options)
            else:
                stage = "balance_hardship_no_plan"
        elif stage == "balance_firm":  # the latest date the policy lets a promise name
            amounts["latest"] = words.date(promise_window(account.risk_tier, today, ledger().policy)[1], today)
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

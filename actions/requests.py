"""Extension and fee-waiver requests: the lender's policy decides, the bot only reports it."""
from __future__ import annotations


from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import conversation_id, ledger, local_today
from actions.entities import as_date, latest_value
from ledger.views import AccountView
from actions.guarded import AccountAction
from actions.replies import reply, wording
from actions.strategy import hardship_case


class ActionRequestExtension(AccountAction):
    def name(self) -> str:
        return "action_request_extension"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        today = local_today(tracker)
        wanted = as_date(latest_value(tracker, "date"))
        requested_days = (wanted - today).days if wanted else None
        decision = ledger().decide_extension(account.account_id, conversation_id(tracker), requested_days, today)
        words = wording(tracker, account)
        if decision.granted:
            dispatcher.utter_message(text=reply(
                tracker, "extension_granted", date=words.date(decision.new_due_date, today),
                balance=words.money(account.balance_cents)))
        elif decision.reason_code == "exceeds_tier_maximum" and decision.max_days:
            dispatcher.utter_message(text=reply(tracker, "extension_too_long", days=decision.max_days))
        else:
            dispatcher.utter_message(text=reply(tracker, "extension_refused"))
        return []


class ActionRequestFeeWaiver(AccountAction):
    def name(self) -> str:
        return "action_request_fee_waiver"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        decision = ledger().decide_fee_waiver(
            account.account_id, conversation_id(tracker), hardship_case(tracker)
        )
        words = wording(tracker, account)
        if decision.granted:
            dispatcher.utter_message(text=reply(
                tracker, "waiver_granted", waived=words.money(decision.waived_cents),
                balance=words.money(account.balance_cents - decision.waived_cents)))
        elif decision.reason_code == "no_fees":
            dispatcher.utter_message(text=reply(tracker, "no_fees"))
        else:
            dispatcher.utter_message(text=reply(tracker, "waiver_refused"))
        return []

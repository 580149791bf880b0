"""Extension and fee-waiver requests: the lender's policy decides, the bot only reports it."""
from __future__ import annotations


from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import conversation_id, ledger, local_today
from actions.entities import as_date, latest_value
from ledger.wording import spoken_date, yuan
from ledger.views import AccountView
from actions.guarded import AccountAction


class ActionRequestExtension(AccountAction):
    def name(self) -> str:
        return "action_request_extension"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        today = local_today(tracker)
        wanted = as_date(latest_value(tracker, "date"))
        requested_days = (wanted - today).days if wanted else None
        decision = ledger().decide_extension(account.account_id, conversation_id(tracker), requested_days, today)
        if decision.granted:
            dispatcher.utter_message(
                text=f"根据还款政策，可以为您把还款日延至{spoken_date(decision.new_due_date, today)}，请在这之前还清{yuan(account.balance_cents)}。"
            )
        elif decision.reason_code == "exceeds_tier_maximum" and decision.max_days:
            dispatcher.utter_message(
                text=f"很抱歉，根据还款政策，最长只能延期{decision.max_days}天。如果时间不够，也可以考虑分期，您需要吗？"
            )
        else:
            dispatcher.utter_message(text="很抱歉，您的账户目前不符合延期条件。如果一次还清有困难，可以考虑分期，您希望分几期呢？")
        return []


class ActionRequestFeeWaiver(AccountAction):
    def name(self) -> str:
        return "action_request_fee_waiver"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        decision = ledger().decide_fee_waiver(
            account.account_id, conversation_id(tracker), bool(tracker.get_slot("hardship"))
        )
        if decision.granted:
            dispatcher.utter_message(
                text=(
                    f"根据减免政策，可以为您减免逾期费用{yuan(decision.waived_cents)}，"
                    f"减免后应还{yuan(account.balance_cents - decision.waived_cents)}。减免以您按约定时间还款为前提。"
                )
            )
        elif decision.reason_code == "no_fees":
            dispatcher.utter_message(text="您的账户目前没有产生逾期费用，无需减免。")
        else:
            dispatcher.utter_message(text="很抱歉，根据减免政策，您的账户暂不符合减免条件。如有特殊困难，可以告诉我，或转人工专员评估。")
        return []

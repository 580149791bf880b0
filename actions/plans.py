"""Instalment plans: the policy picks what may be offered; the ledger stores the schedule."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, conversation_id, is_voice, ledger, local_today
from actions.entities import latest_value
from ledger.wording import describe_plan, spoken_date, summarise_plan, yuan
from actions.guarded import AccountAction, DisclosureAction
from ledger.errors import PolicyViolation
from ledger.plans import FIRST_INSTALMENT_AFTER_DAYS
from ledger.policy import allowed_periods, hardship_offer
from ledger.views import AccountView

DEFAULT_PERIODS = 3


def choose_periods(requested: int | None, options: list[int]) -> int:
    """The requested length when the policy allows it, else the nearest allowed one below it."""
    if requested in options:
        return requested
    preferred = requested or DEFAULT_PERIODS
    shorter = [periods for periods in options if periods <= preferred]
    return max(shorter) if shorter else min(options)


def propose(
    dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView, requested: int | None, hardship: bool
) -> list[dict]:
    options = allowed_periods(account, hardship, ledger().policy)
    if not options:
        dispatcher.utter_message(text="根据您账户的情况，暂时无法办理分期。我可以为您转接人工专员商量其他方案。")
        return [SlotSet("plan_pending", False), FollowupAction("action_listen")]
    periods = hardship_offer(account, ledger().policy) if hardship and requested is None else choose_periods(requested, options)
    today = local_today(tracker)
    first_due = today + timedelta(days=FIRST_INSTALMENT_AFTER_DAYS)
    try:
        plan = ledger().propose_plan(account.account_id, conversation_id(tracker), periods, first_due, hardship=hardship)
    except PolicyViolation as refusal:
        dispatcher.utter_message(text=refusal.message)
        return [SlotSet("plan_pending", False), FollowupAction("action_listen")]
    prefix = ""
    if requested is not None and requested != periods:
        prefix = f"根据还款政策，您的账户可选{'、'.join(map(str, options))}期。"
    wording = summarise_plan(plan, today) if is_voice(tracker) else describe_plan(plan, today)
    dispatcher.utter_message(text=f"{prefix}可以为您申请{wording}您同意这个方案吗？")
    return [SlotSet("plan_pending", True), SlotSet("pending_plan_id", plan.plan_id)]


def _requested_periods(tracker: Tracker) -> int | None:
    requested = latest_value(tracker, "periods")
    return int(requested) if isinstance(requested, (int, float)) else None


def _pending_periods(tracker: Tracker, account: AccountView) -> int | None:
    plan_id = tracker.get_slot("pending_plan_id") if tracker.get_slot("plan_pending") else None
    if plan_id is None:
        return None
    return next((plan.periods for plan in ledger().plans_for(account.account_id) if plan.plan_id == int(plan_id)), None)


def accept(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict]:
    plan_id = tracker.get_slot("pending_plan_id")
    if plan_id is None:
        dispatcher.utter_message(text="抱歉，我没有找到待确认的分期方案。您希望分几期呢？")
        return [SlotSet("plan_pending", False)]
    plan = ledger().accept_plan(int(plan_id))
    first_due, first_amount = plan.items[0]
    dispatcher.utter_message(
        text=(
            f"好的，分{plan.periods}期方案已确认，共{yuan(plan.total_cents)}。"
            f"第一期{yuan(first_amount)}请在{spoken_date(first_due, local_today(tracker))}前还款。"
        )
    )
    dispatcher.utter_message(response="utter_anything_else")
    return [SlotSet("plan_pending", False), SlotSet("pending_plan_id", None), SlotSet("agreement_reached", True)]


class ActionProposePlan(AccountAction):
    def name(self) -> str:
        return "action_propose_plan"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        requested = _requested_periods(tracker)
        # "行，就三期" to a proposed 3-period plan names the plan on the table: that is a yes.
        if requested is not None and requested == _pending_periods(tracker, account):
            return accept(dispatcher, tracker) + [FollowupAction("action_listen")]
        return propose(dispatcher, tracker, account, requested, bool(tracker.get_slot("hardship")))


class ActionAcceptPlan(AccountAction):
    def name(self) -> str:
        return "action_accept_plan"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        requested = _requested_periods(tracker)
        pending = _pending_periods(tracker, account)
        # "行就12期" while 3 periods are on the table is not a yes to 3: propose what was said instead.
        if requested is not None and pending is not None and requested != pending:
            return propose(dispatcher, tracker, account, requested, bool(tracker.get_slot("hardship"))) + [
                FollowupAction("action_listen")]
        return accept(dispatcher, tracker)


class ActionDeclinePlan(DisclosureAction):
    def name(self) -> str:
        return "action_decline_plan"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = ledger().get_primary_account(borrower_id(tracker))
        options = allowed_periods(account, bool(tracker.get_slot("hardship")), ledger().policy) if account else []
        choices = f"可选{'、'.join(map(str, options))}期，" if options else ""
        dispatcher.utter_message(
            text=f"好的。您希望分几期呢？{choices}也可以告诉我您能先还多少、哪天还。"
        )
        return [SlotSet("plan_pending", False), SlotSet("pending_plan_id", None)]

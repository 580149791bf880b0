"""Instalment plans: the policy picks what may be offered; the ledger stores the schedule."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, conversation_id, is_voice, ledger, local_today
from actions.entities import latest_value
from actions.guarded import AccountAction, DisclosureAction
from actions.replies import keyed_question, refusal_reply, reply, wording
from ledger.errors import PolicyViolation
from ledger.plans import FIRST_INSTALMENT_AFTER_DAYS
from actions.strategy import hardship_case, offer_limit
from ledger.policy import allowed_periods
from ledger.views import AccountView, PlanView

DEFAULT_PERIODS = 3


def choose_periods(requested: int | None, options: list[int]) -> int:
    """The requested length when the policy allows it, else the nearest allowed one below it."""
    if requested in options:
        return requested
    preferred = requested or DEFAULT_PERIODS
    shorter = [periods for periods in options if periods <= preferred]
    return max(shorter) if shorter else min(options)


def offered_periods(account: AccountView, hardship: bool) -> list[int]:
    """The ledger policy's lengths, within the borrower's strategy segment's offer limit."""
    limit = offer_limit(account.borrower_id)
    return [periods for periods in allowed_periods(account, hardship, ledger().policy) if limit is None or periods <= limit]


def propose(
    dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView, requested: int | None, hardship: bool
) -> list[dict]:
    options = offered_periods(account, hardship)
    if not options:
        dispatcher.utter_message(text=reply(tracker, "no_plan_possible"))
        return [SlotSet("plan_pending", False), FollowupAction("action_listen")]
    periods = max(options) if hardship and requested is None else choose_periods(requested, options)
    today = local_today(tracker)
    first_due = today + timedelta(days=FIRST_INSTALMENT_AFTER_DAYS)
    try:
        plan = ledger().propose_plan(account.account_id, conversation_id(tracker), periods, first_due, hardship=hardship)
    except PolicyViolation as refusal:
        dispatcher.utter_message(text=refusal_reply(tracker, refusal, account, today, ledger().policy))
        return [SlotSet("plan_pending", False), FollowupAction("action_listen")]
    words = wording(tracker, account)
    prefix = ""
    if requested is not None and requested != periods:
        prefix = reply(tracker, "plan_options_note", options=words.options(options))
    said = words.summarise_plan(plan, today) if is_voice(tracker) else words.describe_plan(plan, today)
    offer = prefix + reply(tracker, "plan_offer", plan=said)
    dispatcher.utter_message(**keyed_question(tracker, offer, "keys_confirm"))
    return [SlotSet("plan_pending", True), SlotSet("pending_plan_id", plan.plan_id)]


def _requested_periods(tracker: Tracker) -> int | None:
    requested = latest_value(tracker, "periods")
    return int(requested) if isinstance(requested, (int, float)) else None


def pending_plan(tracker: Tracker, account: AccountView) -> PlanView | None:
    """The plan on the table (proposed, not yet accepted or declined), if any."""
    plan_id = tracker.get_slot("pending_plan_id") if tracker.get_slot("plan_pending") else None
    if plan_id is None:
        return None
    return next((plan for plan in ledger().plans_for(account.account_id) if plan.plan_id == int(plan_id)), None)


def _pending_periods(tracker: Tracker, account: AccountView) -> int | None:
    plan = pending_plan(tracker, account)
    return plan.periods if plan is not None else None


def accept(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict]:
    plan_id = tracker.get_slot("pending_plan_id")
    if plan_id is None:
        dispatcher.utter_message(text=reply(tracker, "no_pending_plan"))
        return [SlotSet("plan_pending", False)]
    plan = ledger().accept_plan(int(plan_id))
    first_due, first_amount = plan.items[0]
    words = wording(tracker, ledger().get_account(plan.account_id))
    dispatcher.utter_message(text=reply(
        tracker, "plan_accepted", periods=plan.periods, total=words.money(plan.total_cents),
        first_amount=words.money(first_amount), first_due=words.date(first_due, local_today(tracker))))
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
        return propose(dispatcher, tracker, account, requested, hardship_case(tracker))


class ActionRestatePlan(AccountAction):
    """"每期多少钱" with a plan on the table asks about the plan, not the balance: its terms again, and the question."""

    def name(self) -> str:
        return "action_restate_plan"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        plan = pending_plan(tracker, account)
        if plan is None:
            dispatcher.utter_message(text=reply(tracker, "no_pending_plan"))
            return [SlotSet("plan_pending", False)]
        said = wording(tracker, account).summarise_plan(plan, local_today(tracker))
        offer = reply(tracker, "plan_offer", plan=said)
        dispatcher.utter_message(**keyed_question(tracker, offer, "keys_confirm"))
        return []


class ActionAcceptPlan(AccountAction):
    def name(self) -> str:
        return "action_accept_plan"

    async def run_for_account(self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView) -> list[dict]:
        requested = _requested_periods(tracker)
        pending = _pending_periods(tracker, account)
        # "行就12期" while 3 periods are on the table is not a yes to 3: propose what was said instead.
        if requested is not None and pending is not None and requested != pending:
            return propose(dispatcher, tracker, account, requested, hardship_case(tracker)) + [
                FollowupAction("action_listen")]
        return accept(dispatcher, tracker)


class ActionDeclinePlan(DisclosureAction):
    def name(self) -> str:
        return "action_decline_plan"

    async def run_verified(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        account = ledger().get_primary_account(borrower_id(tracker))
        options = offered_periods(account, hardship_case(tracker)) if account else []
        choices = reply(tracker, "plan_choices", options=wording(tracker, account).options(options)) if options else ""
        dispatcher.utter_message(text=reply(tracker, "plan_declined", choices=choices))
        return [SlotSet("plan_pending", False), SlotSet("pending_plan_id", None)]

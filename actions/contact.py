"""Callbacks, do-not-contact, abuse, distress, hand-off to a person, and closing."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.claims import record_hardship
from actions.conversation_context import (
    borrower_id, borrower_timezone, borrower_words, channel, contact_policy, conversation_id, is_verified, ledger, now,
)
from actions.conversation_end import close_active_form, end_conversation, reopen_form
from actions.entities import as_date, latest_value
from actions.handoff import hand_off
from actions.replies import DISTRESS_KINDS, reply, wording
from actions.review import record_for_review

# Distress that is also a hardship the borrower told us of: recorded as one, so the person taking over and the
# account's strategy see it.
HARDSHIP_KINDS = ("severe_illness", "bereavement")

MAX_ABUSE_REPLIES = 2


class ActionRecordCallback(Action):
    def name(self) -> str:
        return "action_record_callback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = borrower_id(tracker)
        zone = borrower_timezone(tracker)
        when = contact_policy().callback_slot(as_date(latest_value(tracker, "date")), now(tracker), zone)
        if known_id and ledger().get_borrower(known_id):
            ledger().record_callback(known_id, conversation_id(tracker), when)
        local_now = now(tracker).astimezone(ZoneInfo(zone))
        dispatcher.utter_message(text=reply(
            tracker, "callback_booked", date=wording(tracker).date(when.date(), local_now.date()), time=f"{when:%H:%M}"))
        return end_conversation()


class ActionDoNotContact(Action):
    """A verified borrower's request stops contact at once; an unverified party's (who may be someone else at that
    number) is recorded for a person to review and apply, and told so without a word about any account."""

    def name(self) -> str:
        return "action_do_not_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        if not is_verified(tracker):
            record_for_review(tracker, "do_not_contact")
            dispatcher.utter_message(text=reply(tracker, "stop_request_for_review"))
            return end_conversation()
        ledger().set_do_not_contact(borrower_id(tracker), "requested_in_conversation", f"{channel(tracker)}:borrower")
        dispatcher.utter_message(text=reply(tracker, "contact_stopped"))
        return end_conversation()


class ActionAskStopConfirmation(Action):
    """Venting about the calls ("你们烦不烦啊，天天打") is not yet a request to stop: acknowledge it and ask. An
    open form is closed (a yes must not answer its question) and remembered, to resume if the answer is no."""

    def name(self) -> str:
        return "action_ask_stop_confirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        # A complaint whatever the answer: quality review reads these conversations, the dashboard counts them.
        ledger().record_complaint(conversation_id(tracker), borrower_id(tracker), channel(tracker),
                                  borrower_words(tracker), now(tracker))
        dispatcher.utter_message(text=reply(tracker, "ask_stop_confirmation"))
        return close_active_form() + [SlotSet("resume_form", tracker.active_loop_name)]


class ActionKeepContact(Action):
    """"No" to "stop contacting you?": thank them and go back to where the conversation was."""

    def name(self) -> str:
        return "action_keep_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        form = tracker.get_slot("resume_form")
        if form:
            dispatcher.utter_message(text=reply(tracker, "keep_contact"))
            return [SlotSet("resume_form", None), FollowupAction(form)]
        dispatcher.utter_message(text=reply(tracker, "keep_contact") + reply(tracker, "how_can_i_help"))
        return [FollowupAction("action_listen")]


class ActionHandleAbuse(Action):
    def name(self) -> str:
        return "action_handle_abuse"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        count = int(tracker.get_slot("abuse_count") or 0) + 1
        if count <= MAX_ABUSE_REPLIES:
            dispatcher.utter_message(text=reply(tracker, "abuse_calm"))
            # Rules see this action always close a form; an interrupted form is simply resumed.
            return [SlotSet("abuse_count", count)] + reopen_form(tracker)
        known_id = borrower_id(tracker)
        if known_id and ledger().get_borrower(known_id):
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), "ended_after_abuse",
                                            at=now(tracker))
        dispatcher.utter_message(text=reply(tracker, "abuse_end"))
        return [SlotSet("abuse_count", count)] + end_conversation() + [FollowupAction("action_listen")]


class ActionHandleDistress(Action):
    """Stops collection at once and puts a person on the conversation before anything else. Before verification the
    reply names no debt (whoever answered may not be the borrower) and the words are recorded for a person to
    review; the borrower is flagged (contact stopped) only for a verified borrower (bot.conversations)."""

    def name(self) -> str:
        return "action_handle_distress"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        heard = (tracker.latest_message or {}).get("metadata") or {}
        kind = heard.get("distress_kind")
        verified = is_verified(tracker)
        if not verified:
            record_for_review(tracker, "distress")
        # What the gateway's detector saw (message metadata); the NLU intent alone means self-harm risk. A threat
        # to the borrower's safety is answered alike either way; other replies name no debt before verification.
        kind = kind if kind in DISTRESS_KINDS else "self_harm"
        if verified and kind in HARDSHIP_KINDS:
            record_hardship(tracker, detail=f"{kind}: {heard.get('distress_phrase') or ''}")
        key = f"distress_{kind}" if verified or kind == "threatened" else f"distress_{kind}_unverified"
        dispatcher.utter_message(text=reply(tracker, key))
        return close_active_form() + [SlotSet("collection_stopped", True)] + hand_off("distress")


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(text=reply(tracker, "human_requested"))
        return close_active_form() + hand_off("requested")


class ActionCloseConversation(Action):
    """Closing summary of what this conversation agreed, read back from the ledger."""

    def name(self) -> str:
        return "action_close_conversation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = borrower_id(tracker)
        summary = self._summary(tracker, known_id) if is_verified(tracker) and known_id else ""
        if known_id and ledger().get_borrower(known_id):
            ledger().finish_conversation(
                conversation_id(tracker), "closed", summary, identity_verified=is_verified(tracker)
            )
        closing = reply(tracker, "closing_summary", summary=summary) if summary else ""
        dispatcher.utter_message(text=closing + reply(tracker, "goodbye"))
        return end_conversation()

    @staticmethod
    def _summary(tracker: Tracker, known_id: str) -> str:
        this_conversation = conversation_id(tracker)
        today = now(tracker).astimezone(ZoneInfo(borrower_timezone(tracker))).date()
        parts: list[str] = []
        account = ledger().get_primary_account(known_id)
        words = wording(tracker, account)
        if account is not None:
            for promise in ledger().promises_for(account.account_id):
                if promise.conversation_id == this_conversation:
                    parts.append(reply(tracker, "summary_promise", date=words.date(promise.promised_date, today),
                                       amount=words.money(promise.amount_cents)))
            for plan in ledger().plans_for(account.account_id):
                if plan.status == "accepted" and plan.conversation_id == this_conversation:
                    first_due, first_amount = plan.items[0]
                    parts.append(reply(
                        tracker, "summary_plan", periods=plan.periods, total=words.money(plan.total_cents),
                        first_due=words.date(first_due, today), first_amount=words.money(first_amount)))
        for claim in ledger().claims_for(known_id):
            if claim.conversation_id == this_conversation and claim.kind in ("dispute", "paid", "hardship"):
                parts.append(reply(tracker, f"summary_{claim.kind}"))
        return reply(tracker, "summary_separator").join(parts) + (reply(tracker, "summary_end") if parts else "")

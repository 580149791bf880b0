"""Callbacks, do-not-contact, abuse, distress, hand-off to a person, and closing."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import (
    borrower_id, borrower_timezone, channel, contact_policy, conversation_id, is_verified, ledger, now,
)
from actions.conversation_end import close_active_form, end_conversation, reopen_form
from actions.entities import as_date, latest_value
from actions.handoff import hand_off
from actions.review import record_for_review
from ledger.wording import spoken_date, yuan

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
        dispatcher.utter_message(
            text=f"好的，不打扰您了。我们会在{spoken_date(when.date(), local_now.date())}{when:%H:%M}左右再联系您，再见。"
        )
        return end_conversation()


class ActionDoNotContact(Action):
    """A verified borrower's request stops contact at once; an unverified party's (who may be someone else at that
    number) is recorded for a person to review and apply, and told so without a word about any account."""

    def name(self) -> str:
        return "action_do_not_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        if not is_verified(tracker):
            record_for_review(tracker, "do_not_contact")
            dispatcher.utter_message(text="好的，已记录您的要求，工作人员核实后会尽快处理。打扰您了，再见。")
            return end_conversation()
        ledger().set_do_not_contact(borrower_id(tracker), "requested_in_conversation", f"{channel(tracker)}:borrower")
        dispatcher.utter_message(
            text="好的，已记录您的要求，我们将停止主动联系您。如需处理账户，您可以随时通过官方App或客服热线联系我们。再见。"
        )
        return end_conversation()


class ActionAskStopConfirmation(Action):
    """Venting about the calls ("你们烦不烦啊，天天打") is not yet a request to stop: acknowledge it and ask. An
    open form is closed (a yes must not answer its question) and remembered, to resume if the answer is no."""

    def name(self) -> str:
        return "action_ask_stop_confirmation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(text="抱歉，频繁的联系给您添麻烦了。您是希望我们以后不再联系您吗？")
        return close_active_form() + [SlotSet("resume_form", tracker.active_loop_name)]


class ActionKeepContact(Action):
    """"No" to "stop contacting you?": thank them and go back to where the conversation was."""

    def name(self) -> str:
        return "action_keep_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        form = tracker.get_slot("resume_form")
        if form:
            dispatcher.utter_message(text="好的，谢谢您的理解。")
            return [SlotSet("resume_form", None), FollowupAction(form)]
        dispatcher.utter_message(text="好的，谢谢您的理解。请问有什么可以帮您？")
        return [FollowupAction("action_listen")]


class ActionHandleAbuse(Action):
    def name(self) -> str:
        return "action_handle_abuse"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        count = int(tracker.get_slot("abuse_count") or 0) + 1
        if count <= MAX_ABUSE_REPLIES:
            dispatcher.utter_message(text="理解您现在心情不好。我们希望和您一起找到解决办法，请您平和地沟通。")
            # Rules see this action always close a form; an interrupted form is simply resumed.
            return [SlotSet("abuse_count", count)] + reopen_form(tracker)
        known_id = borrower_id(tracker)
        if known_id and ledger().get_borrower(known_id):
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), "ended_after_abuse")
        dispatcher.utter_message(text="由于目前无法继续沟通，本次通话先到这里。如需帮助，您可以随时联系我们。再见。")
        return [SlotSet("abuse_count", count)] + end_conversation() + [FollowupAction("action_listen")]


class ActionHandleDistress(Action):
    """Stops collection at once and puts a person on the conversation before anything else. Before verification the
    reply names no debt (whoever answered may not be the borrower) and the words are recorded for a person to
    review; the borrower is flagged (contact stopped) only for a verified borrower (bot.conversations)."""

    def name(self) -> str:
        return "action_handle_distress"

    # What the gateway's detector saw (message metadata); the NLU intent alone means self-harm risk.
    REPLIES = {
        "self_harm": (
            "听到您这么说，我们很担心您。关于还款的事情现在先放一放，我马上为您转接人工专员。"
            "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。"
        ),
        "severe_illness": "听到您和家人正在经历病痛，我们很难过。还款的事情现在先放一放，我马上为您转接人工专员，一起商量合适的安排。",
        "bereavement": "听到您家里的不幸，请节哀。还款的事情现在先放一放，我马上为您转接人工专员，他们会为您提供帮助。",
        "threatened": "您的安全最重要。如果有人威胁或恐吓您，请立即拨打110报警。我们不会以任何方式威胁您，现在为您转接人工专员。",
    }
    UNVERIFIED_REPLIES = {
        "self_harm": (
            "听到您这么说，我们很担心您。我马上为您转接人工专员。"
            "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。"
        ),
        "severe_illness": "听到您和家人正在经历病痛，我们很难过。我马上为您转接人工专员，他们会为您提供帮助。",
        "bereavement": "听到您家里的不幸，请节哀。我马上为您转接人工专员，他们会为您提供帮助。",
        "threatened": REPLIES["threatened"],
    }

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        kind = ((tracker.latest_message or {}).get("metadata") or {}).get("distress_kind")
        verified = is_verified(tracker)
        if not verified:
            record_for_review(tracker, "distress")
        replies = self.REPLIES if verified else self.UNVERIFIED_REPLIES
        dispatcher.utter_message(text=replies.get(kind, replies["self_harm"]))
        return close_active_form() + [SlotSet("collection_stopped", True)] + hand_off("distress")


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        dispatcher.utter_message(text="好的，已为您申请转接人工专员，请稍候。")
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
        text = f"本次通话小结：{summary}" if summary else ""
        dispatcher.utter_message(text=f"{text}感谢您的接听，再见。")
        return end_conversation()

    @staticmethod
    def _summary(tracker: Tracker, known_id: str) -> str:
        this_conversation = conversation_id(tracker)
        today = now(tracker).astimezone(ZoneInfo(borrower_timezone(tracker))).date()
        parts: list[str] = []
        account = ledger().get_primary_account(known_id)
        if account is not None:
            for promise in ledger().promises_for(account.account_id):
                if promise.conversation_id == this_conversation:
                    parts.append(f"您承诺{spoken_date(promise.promised_date, today)}前还款{yuan(promise.amount_cents)}")
            for plan in ledger().plans_for(account.account_id):
                if plan.status == "accepted" and plan.conversation_id == this_conversation:
                    first_due, first_amount = plan.items[0]
                    parts.append(
                        f"分{plan.periods}期还款共{yuan(plan.total_cents)}，首期{spoken_date(first_due, today)}还{yuan(first_amount)}"
                    )
        for claim in ledger().claims_for(known_id):
            if claim.conversation_id == this_conversation and claim.kind in ("dispute", "paid", "hardship"):
                parts.append({"dispute": "已登记您的异议", "paid": "已登记您的还款核对申请", "hardship": "已登记您的困难情况"}[claim.kind])
        return "；".join(parts) + ("。" if parts else "")

"""Right-party verification: name confirmation, then the last four digits of the ID number."""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, channel, conversation_id, ledger
from actions.conversation_end import end_conversation
from nlu.normalise import parse_id_last4

MAX_ID_ATTEMPTS = 3
MAX_REFUSALS = 2


def _as_birth_date(answer: str) -> date | None:
    try:
        return date.fromisoformat(answer)
    except ValueError:
        return None


def _ledger_borrower_id(tracker: Tracker) -> str | None:
    """The conversation's borrower id, only if the ledger knows it."""
    known_id = borrower_id(tracker)
    return known_id if known_id and ledger().get_borrower(known_id) else None


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        # A failed, refused or wrong-party verification ends the form without asking for more.
        return [] if tracker.get_slot("verification_failed") else domain_slots

    def validate_name_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        if value == "yes":
            return {"name_answer": "yes"}
        if value == "no":
            return {"name_answer": "no", "verification_failed": True}
        return self._refusal(dispatcher, tracker, "name_answer")

    def validate_id_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        if value == "refused":
            return self._refusal(dispatcher, tracker, "id_last4")
        known_id = _ledger_borrower_id(tracker)
        if known_id and self._matches(known_id, str(value)):
            return {"id_last4": str(value)}
        attempts = int(tracker.get_slot("verification_attempts") or 0) + 1
        if attempts >= MAX_ID_ATTEMPTS:
            return {"id_last4": None, "verification_attempts": attempts, "verification_failed": True}
        dispatcher.utter_message(text="您提供的信息与我们的记录不一致，请再核对一下。")
        return {"id_last4": None, "verification_attempts": attempts}

    @staticmethod
    def _matches(known_id: str, answer: str) -> bool:
        """The answer is either the ID's last four digits or the date of birth (ISO, from NLU)."""
        birth_date = _as_birth_date(answer)
        if birth_date is not None:
            return ledger().verify_identity(known_id, date_of_birth=birth_date)
        digits = parse_id_last4(answer)
        return bool(digits) and ledger().verify_identity(known_id, id_last4=digits)

    @staticmethod
    def _refusal(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> dict:
        refusals = int(tracker.get_slot("verification_refusals") or 0) + 1
        if refusals >= MAX_REFUSALS:
            return {slot: "refused", "verification_refusals": refusals, "verification_failed": True}
        dispatcher.utter_message(response="utter_verification_why")
        return {slot: None, "verification_refusals": refusals}


class ActionVerificationResult(Action):
    """Decides, from the ledger and the form's outcome, whether this is the right party."""

    def name(self) -> str:
        return "action_verification_result"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = _ledger_borrower_id(tracker)
        answer = tracker.get_slot("id_last4")
        verified = (
            not tracker.get_slot("verification_failed")
            and tracker.get_slot("name_answer") == "yes"
            and bool(known_id and answer)
            and ValidateVerificationForm._matches(known_id, answer)
        )
        if verified:
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), "right_party_verified")
            dispatcher.utter_message(text="谢谢您的配合，身份核实通过。")
            return [SlotSet("identity_verified", True)]
        outcome, message = self._failure(tracker)
        if known_id:
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), outcome)
            ledger().finish_conversation(conversation_id(tracker), outcome, "", identity_verified=False)
        dispatcher.utter_message(text=message)
        return [SlotSet("identity_verified", False), SlotSet("verification_failed", True)] + end_conversation()

    @staticmethod
    def _failure(tracker: Tracker) -> tuple[str, str]:
        if tracker.get_slot("name_answer") == "no":
            return "wrong_party", "抱歉打扰您了，我们会核实联系方式。祝您生活愉快，再见。"
        if tracker.get_slot("name_answer") == "refused" or tracker.get_slot("id_last4") == "refused":
            return "verification_refused", "由于无法核实您的身份，我们不能继续沟通。如有需要，您可以通过官方客服渠道联系我们。再见。"
        return "verification_failed", "抱歉，身份信息核对未通过。为保护账户安全，本次沟通先到这里。如有疑问请通过官方客服渠道联系我们，再见。"


class ActionHandleWrongPerson(Action):
    def name(self) -> str:
        return "action_handle_wrong_person"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = _ledger_borrower_id(tracker)
        if known_id:
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), "wrong_party")
        dispatcher.utter_message(text="抱歉打扰您了，我们会核实联系方式。祝您生活愉快，再见。")
        return [SlotSet("identity_verified", False)] + end_conversation()

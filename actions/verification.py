"""Right-party verification: name confirmation, then the last four digits of the ID number.

Every answer is checked and recorded by the ledger (Ledger.check_identity), which counts failures per borrower
across conversations and channels and locks the check after too many (the `verification` section of
ledger/policy.yml). Three tries per conversation still end that conversation.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation_context import borrower_id, channel, conversation_id, latest_intent, ledger, now
from actions.conversation_end import end_conversation
from actions.replies import reply
from actions.review import record_for_review
from chinese_text import parse_id_last4
from chinese_text.names import names_someone_else
from ledger.views import IdentityCheckOutcome

MAX_ID_ATTEMPTS = 3
NOT_ME_INTENTS = frozenset({"wrong_person", "deny", "refuse_verification"})
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


def _names_someone_else(tracker: Tracker) -> bool:
    """The speaker gave a name that is not the one on file (never said back: the reply names no one)."""
    known_id = borrower_id(tracker)
    borrower = ledger().get_borrower(known_id) if known_id else None
    return borrower is not None and names_someone_else((tracker.latest_message or {}).get("text") or "", borrower.full_name)


def _check_answer(tracker: Tracker, known_id: str, answer: str) -> IdentityCheckOutcome:
    """The answer is either the ID's last four characters or the date of birth (ISO, from NLU). One that is
    neither is compared as given, so it fails and counts like any wrong answer."""
    birth_date = _as_birth_date(answer)
    if birth_date is not None:
        return ledger().check_identity(known_id, conversation_id(tracker), channel(tracker), date_of_birth=birth_date)
    return ledger().check_identity(known_id, conversation_id(tracker), channel(tracker),
                                   id_last4=parse_id_last4(answer) or answer)


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        # A failed, refused or wrong-party verification ends the form without asking for more.
        return [] if tracker.get_slot("verification_failed") else domain_slots

    def validate_name_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        if value == "yes" and _names_someone_else(tracker):
            value = "no"  # "是我，我是李娜" to "is this 张伟?": another person, whatever the yes
        if value == "yes":
            return {"name_answer": "yes"}
        if value == "no":
            return {"name_answer": "no", "verification_failed": True}
        return self._refusal(dispatcher, tracker, "name_answer")

    def validate_id_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> dict:
        if value == "refused":
            return self._refusal(dispatcher, tracker, "id_last4")
        name_answer = tracker.get_slot("name_answer")
        if name_answer is None and _names_someone_else(tracker):
            return {"id_last4": None, "name_answer": "no", "verification_failed": True}
        if name_answer is None and latest_intent(tracker) not in NOT_ME_INTENTS:
            name_answer = "yes"  # answering "is it you?" with the ID digits
        if name_answer != "yes":
            # Digits said in the same turn as "not me" are never checked.
            return {"id_last4": None}
        known_id = _ledger_borrower_id(tracker)
        outcome = _check_answer(tracker, known_id, str(value)) if known_id else None
        if outcome is not None and outcome.passed:
            return {"id_last4": str(value), "name_answer": "yes"}
        # An unknown id, a wrong answer and a locked check (whose answer was not even compared) all go on alike:
        # the same reply, the same number of tries, so none of them can be told from the others.
        attempts = int(tracker.get_slot("verification_attempts") or 0) + 1
        if attempts >= MAX_ID_ATTEMPTS:
            return {"id_last4": None, "verification_attempts": attempts, "verification_failed": True}
        dispatcher.utter_message(text=reply(tracker, "id_mismatch"))
        return {"id_last4": None, "verification_attempts": attempts, "name_answer": "yes"}

    @staticmethod
    def _refusal(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> dict:
        refusals = int(tracker.get_slot("verification_refusals") or 0) + 1
        if refusals >= MAX_REFUSALS:
            return {slot: "refused", "verification_refusals": refusals, "verification_failed": True}
        dispatcher.utter_message(response="utter_verification_why")
        return {slot: None, "verification_refusals": refusals}


class ActionVerificationResult(Action):
    """Decides, from the form's outcome and the ledger's record of its identity check, whether this is the right
    party."""

    def name(self) -> str:
        return "action_verification_result"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = _ledger_borrower_id(tracker)
        answer = tracker.get_slot("id_last4")
        verified = (
            not tracker.get_slot("verification_failed")
            and tracker.get_slot("name_answer") == "yes"
            and bool(known_id and answer)
            and ledger().verified_check(conversation_id(tracker), known_id) is not None
        )
        if verified:
            ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), "right_party_verified",
                                            at=now(tracker))
            dispatcher.utter_message(text=reply(tracker, "verified"))
            account = ledger().get_primary_account(known_id)
            if account is not None and account.currency == "USD":
                dispatcher.utter_message(text=reply(tracker, "debt_collector_disclosure", lender=account.lender_name))
            lender = [SlotSet("lender_name", account.lender_name)] if account is not None else []
            # Amounts and dates heard before verification (the ID digits read as an amount, say) start nothing.
            stale = [SlotSet("promise_amount", None), SlotSet("promise_date", None)]
            return [SlotSet("identity_verified", True)] + lender + stale
        outcome, message_key = self._failure(tracker, known_id)
        if known_id:
            _record_failure(tracker, known_id, outcome)
        ledger().finish_conversation(conversation_id(tracker), outcome, "", identity_verified=False,
                                     channel=channel(tracker))
        dispatcher.utter_message(text=reply(tracker, message_key))
        return [SlotSet("identity_verified", False), SlotSet("verification_failed", True)] + end_conversation()

    @staticmethod
    def _failure(tracker: Tracker, known_id: str | None) -> tuple[str, str]:
        """The outcome to record and the reply to say."""
        if tracker.get_slot("name_answer") == "no":
            return "wrong_party", "wrong_party"
        if tracker.get_slot("name_answer") == "refused" or tracker.get_slot("id_last4") == "refused":
            return "verification_refused", "verification_refused"
        if known_id and ledger().verification_locked_until(known_id) is not None:
            # Recorded as a lockout; said like any failure (actions.replies "verification_failed").
            return "verification_locked", "verification_failed"
        return "verification_failed", "verification_failed"


def _record_failure(tracker: Tracker, known_id: str, outcome: str) -> None:
    ledger().record_contact_attempt(known_id, channel(tracker), conversation_id(tracker), outcome, at=now(tracker))
    if outcome == "wrong_party":
        # The number or link on file may reach someone else: a person checks, and applying it stops contact (a
        # wrong_number flag) until the number is corrected. Nothing on the account changes now.
        record_for_review(tracker, "wrong_number")


class ActionHandleWrongPerson(Action):
    def name(self) -> str:
        return "action_handle_wrong_person"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
        known_id = _ledger_borrower_id(tracker)
        if known_id:
            _record_failure(tracker, known_id, "wrong_party")
        dispatcher.utter_message(text=reply(tracker, "wrong_party"))
        return [SlotSet("identity_verified", False)] + end_conversation()

"""The gateway's side of a call the lender's dialer placed (campaigns.twilio_dialer).

1. Answered: the carrier asks /voice/twilio/outbound?ticket=… what to do, with AnsweredBy from its
   answering-machine detection. A person (or unknown) is streamed to the conversation with a call token naming
   the borrower, the attempt and the script; a machine hears, per COLLECTIONS_DIALER_MACHINE_POLICY, either
   nothing (hang up) or a limited-content message naming no creditor and no debt, which passed the compliance
   filter at start and is audited each time it is left.
2. Streamed: when the media stream starts, the answered contact is reserved against the contact policy's caps
   (`admit`). Refused (a cap reached by a race, a hard stop since the call was placed, Redis down): the bot says a
   neutral goodbye and hangs up, and nothing is collected. A second stream for one attempt is refused outright.
3. Over: the carrier's final status callback (/voice/twilio/status?ticket=…) becomes the attempt's outcome in the
   ledger (a contact attempt under the attempt id, which is also the call's conversation id), an unanswered
   contact against the caps when no conversation took place, and frees the call's slot (campaigns.call_slots).
   Each attempt's outcome is recorded once, however often the carrier repeats the callback.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from redis.exceptions import RedisError
from twilio.twiml.voice_response import VoiceResponse

from bot.audit import AuditTrail
from bot.channels.phone_arrival import CallTokens, CarrierSignatures, connect_twiml, media_stream_url
from campaigns.call_slots import CallSlots
from campaigns.dial_tickets import DialTicket
from campaigns.dialer import CALL_SID
from compliance_filters import check
from compliance_filters.contact_policy import ContactPolicy
from configuration.settings import DialerSettings
from ledger.campaign_records import CampaignRecords
from ledger.errors import NotFound
from ledger.references import mask_reference
from ledger.repository import Ledger
from voice.call import CallParty

logger = logging.getLogger("bot.outbound_call")

CHANNEL = "phone"                 # the conversation's channel
POLICY_CHANNEL = "voice"          # the contact policy's name for calls (counted_channels)
FINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
PROGRESS_STATUSES = ("queued", "initiated", "ringing", "in-progress")
SAY_LANGUAGE = {"zh": "cmn-CN", "en": "en-US"}
UNVERIFIED_PHONE = {"identity_verified": False, "channel": CHANNEL}
_KEY = "collections:dialer:{}:{}"  # (what, attempt id)
_KEEP_SECONDS_AFTER_CALL = 24 * 3600
ADMITTED, DECLINED = "admitted", "declined"
# The call's outcome as the campaign's contact record (ledger.campaign_records) keeps it.
CAMPAIGN_STATUS = {"call_completed": "answered", "declined_by_policy": "refused", "answering_machine": "machine",
                   "ended_before_conversation": "no_answer", "no_answer": "no_answer", "busy": "busy",
                   "failed": "failed", "canceled": "canceled"}


class MalformedCallback(ValueError):
    """A status callback the carrier would never send: refused, nothing recorded."""


def is_machine(answered_by: str) -> bool:
    return answered_by.startswith("machine") or answered_by == "fax"


def leaves_message(answered_by: str, machine_policy: str) -> bool:
    return machine_policy == "leave_message" and answered_by.startswith("machine")


@dataclass(frozen=True)
class CallOutcome:
    outcome: str           # the ledger's contact attempt outcome
    unanswered: bool       # counted against the caps as an unanswered contact


def call_outcome(status: str, answered_by: str, streamed: str | None) -> CallOutcome:
    """The attempt's outcome from the carrier's final CallStatus, its AnsweredBy, and what the media stream did
    (ADMITTED, DECLINED, or None when none started). Only a conversation is an answered contact (reserved when the
    stream started); every other end counts as unanswered, the stricter reading of the per-number cap."""
    if status == "completed":
        if streamed == ADMITTED:
            return CallOutcome("call_completed", False)
        if streamed == DECLINED:
            return CallOutcome("declined_by_policy", False)  # refused by the caps when answered: nothing to add
        if is_machine(answered_by):
            return CallOutcome("answering_machine", True)
        return CallOutcome("ended_before_conversation", True)
    return CallOutcome(status.replace("-", "_"), True)  # busy, no_answer, failed, canceled


def machine_twiml(text: str | None, language: str) -> str:
    response = VoiceResponse()
    if text is not None:
        response.say(text, language=SAY_LANGUAGE.get(language, "cmn-CN"))
    response.hangup()
    return str(response)


class OutboundCalls:
    def __init__(self, settings: DialerSettings, signatures: CarrierSignatures, call_tokens: CallTokens,
                 ledger: Ledger, audit: AuditTrail, policy: ContactPolicy, redis_client: Any, slots: CallSlots,
                 clock: Callable[[], datetime], contacts: CampaignRecords | None = None) -> None:
        """`redis_client`: redis.asyncio (the stream and outcome marks); `policy` has a client of its own (sync);
        `contacts`: the campaign worker's records, whose contact the outcome completes."""
        self._settings = settings
        self.signatures = signatures
        self._call_tokens = call_tokens
        self._ledger = ledger
        self._audit = audit
        self._policy = policy
        self._redis = redis_client
        self._slots = slots
        self._clock = clock
        self._contacts = contacts
        self._mark_seconds = settings.max_call_seconds + _KEEP_SECONDS_AFTER_CALL

    def checked(self) -> "OutboundCalls":
        """The machine messages may be heard by anyone: a text the compliance filter refuses stops the start."""
        for name, text in (("machine_message_text", self._settings.machine_message_text),
                           ("machine_message_text_en", self._settings.machine_message_text_en)):
            verdict = check(text, UNVERIFIED_PHONE)
            if not verdict.allowed:
                raise ValueError(f"COLLECTIONS_DIALER_{name.upper()} is refused by the compliance filter: {verdict.rules}")
        return self

    # ---- 1. answered ----------------------------------------------------------------------------

    def answer(self, webhook_url: str, form: Mapping[str, str], ticket: DialTicket) -> str:
        """TwiML for the answered call (blocking: reads the ledger, may write the audit)."""
        answered_by = form.get("AnsweredBy", "")
        if not is_machine(answered_by):  # a person, or detection could not tell ("unknown")
            stream_url = media_stream_url(self.signatures.public_url(webhook_url))
            return connect_twiml(stream_url, self._call_tokens.issue_outbound(
                ticket.borrower_id, ticket.attempt_id, ticket.script))
        borrower = self._ledger.get_borrower(ticket.borrower_id)
        language = borrower.language if borrower is not None else "zh"
        if not leaves_message(answered_by, self._settings.machine_policy):
            return machine_twiml(None, language)
        text = self._settings.machine_message_text_en if language == "en" else self._settings.machine_message_text
        verdict = check(text, UNVERIFIED_PHONE)
        self._audit.append(ticket.attempt_id, ticket.borrower_id, CHANNEL, "bot", text, verdict.allowed, verdict.rules)
        logger.info("answering machine on attempt=%s: %s", mask_reference(ticket.attempt_id),
                    "message left" if verdict.allowed else "message refused by the filter, hung up")
        return machine_twiml(text if verdict.allowed else None, language)

    # ---- 2. streamed ----------------------------------------------------------------------------

    async def admit(self, party: CallParty) -> bool | None:
        """True: the answered contact is reserved; False: refused (or nothing could be checked: fail closed);
        None: this attempt's stream already started once."""
        key = _KEY.format("stream", party.attempt_id)
        try:
            if not await self._redis.set(key, "pending", nx=True, ex=self._mark_seconds):
                logger.warning("attempt=%s: a second media stream refused", mask_reference(party.attempt_id))
                return None
        except RedisError:
            logger.error("attempt=%s: Redis unavailable, the call is declined", mask_reference(party.attempt_id))
            return False
        try:
            decision = await asyncio.to_thread(
                self._policy.record_attempt, party.borrower_id, POLICY_CHANNEL, self._clock(), "answered",
                conversation_id=party.attempt_id)
            admitted = decision.allowed
            if not admitted:
                logger.info("attempt=%s: answered, refused by the contact policy (%s)",
                            mask_reference(party.attempt_id), decision.reason)
        except Exception as error:  # noqa: BLE001 — Redis or the ledger down: no collecting on an unchecked call
            logger.error("attempt=%s: contact policy unavailable (%s), the call is declined",
                         mask_reference(party.attempt_id), type(error).__name__)
            admitted = False
        try:
            await self._redis.set(key, ADMITTED if admitted else DECLINED, ex=self._mark_seconds)
        except RedisError:
            pass  # the status callback then takes the call for one without a conversation (stricter)
        return admitted

    # ---- 3. over --------------------------------------------------------------------------------

    async def report(self, form: Mapping[str, str], ticket: DialTicket) -> str:
        """Handles one status callback; returns what was done ('progress', 'recorded', 'already_recorded').
        MalformedCallback for a form the carrier would not send; RedisError / ledger errors propagate (the
        carrier may repeat the callback; the outcome mark is given back so the repeat is recorded)."""
        status, answered_by = form.get("CallStatus", ""), form.get("AnsweredBy", "")
        call_sid, duration = form.get("CallSid", ""), form.get("CallDuration", "0") or "0"
        if not CALL_SID.match(call_sid):
            raise MalformedCallback("CallSid is not a Twilio call id")
        if status in PROGRESS_STATUSES:
            return "progress"
        if status not in FINAL_STATUSES:
            raise MalformedCallback("unknown CallStatus")
        if not duration.isdigit() or len(duration) > 6 or len(answered_by) > 32:
            raise MalformedCallback("CallDuration or AnsweredBy malformed")
        attempt = ticket.attempt_id
        outcome_key = _KEY.format("outcome", attempt)
        if not await self._redis.set(outcome_key, status, nx=True, ex=self._mark_seconds):
            return "already_recorded"
        try:
            streamed = await self._redis.get(_KEY.format("stream", attempt))
            outcome = call_outcome(status, answered_by, streamed)
            details = [f"call {call_sid}", f"answered_by={answered_by or '-'}", f"{int(duration)} s"]
            if outcome.outcome == "answering_machine":
                details.append("message left" if leaves_message(answered_by, self._settings.machine_policy)
                               else "hung up")
            await asyncio.to_thread(self._record, ticket, outcome, "; ".join(details), form.get("To") or None)
        except BaseException:
            await self._redis.delete(outcome_key)
            raise
        await self._slots.release(attempt)
        logger.info("attempt=%s over: %s", mask_reference(attempt), outcome.outcome)
        return "recorded"

    def _record(self, ticket: DialTicket, outcome: CallOutcome, reason: str, number: str | None) -> None:
        now = self._clock()
        self._ledger.record_contact_attempt(ticket.borrower_id, POLICY_CHANNEL, ticket.attempt_id, outcome.outcome,
                                            reason, at=now)
        if self._contacts is not None:
            try:
                self._contacts.finish_contact(ticket.attempt_id, CAMPAIGN_STATUS[outcome.outcome], now, reason=reason)
            except NotFound:
                pass  # a call placed outside a campaign (by hand, a test): the contact attempt is its record
        if outcome.unanswered:
            decision = self._policy.record_attempt(ticket.borrower_id, POLICY_CHANNEL, self._clock(), "unanswered",
                                                   phone=number, conversation_id=ticket.attempt_id)
            if not decision.allowed:  # the dial happened anyway: two workers raced past a cap
                logger.warning("attempt=%s: unanswered call over the cap (%s)", mask_reference(ticket.attempt_id),
                               decision.reason)

"""Opening conversations and carrying borrower turns to Rasa and replies back through the egress."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable

from chinese_text import DEFAULT_TIMEZONE, mask_id_last4
from compliance_filters import check
from ledger.repository import Ledger
from bot import conversation_secret
from bot.audit import AuditTrail
from bot.egress import OutgoingMessage, deliver, deliver_agent_text
from bot.recording_notice import unclaimed
from bot.handoff.bus import PushBus, push_message
from bot.handoff.desk import HandoffDesk, TurnFacts
from bot.links import ChatEntry
from ledger.campaign_records import CampaignRecords
from compliance_filters.verdict import Verdict
from compliance_filters.distress import DistressSignal, detect_distress
from bot.channels.state import ChannelState, InMemoryChannelState
from bot.rasa_client import RasaClient, RasaNotReached, RasaTurn, RasaTurnFailed, RasaUnavailable
from bot.sessions import Conversation, SessionStore
from ledger.notices import notice
from bot.turn_cap import TurnCap
from ledger.references import mask_reference
from monitoring import metrics

logger = logging.getLogger("bot.conversations")

OPENING_INTENT = "/start_conversation"
# Sent instead of the borrower's words when the gateway detects distress, so the dialogue's
# distress path (stop collecting, hand off first) runs whatever the NLU model would have said.
DISTRESS_INTENT = "/distress"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_TURN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_PENDING = "1"  # a claimed turn id whose turn has not finished (ChannelState.first_seen's value)
# Beside a turn id whose turn never reached Rasa: what to send Rasa when the client retries it.
_UNANSWERED = ":unanswered"
_RETRYING = ":retrying"  # claimed by the one retry that re-sends an unanswered turn
_TURN_POLL_SECONDS = 0.1


class InvalidMessage(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class UnknownConversation(LookupError):
    pass


class ConversationEnded(RuntimeError):
    pass


@dataclass(frozen=True)
class TurnResult:
    messages: list[OutgoingMessage]
    ended: bool
    identity_verified: bool = False  # channels bind an external identity (e.g. a WeChat openid) only after this
    fault: bool = False  # Rasa or the action server failed or was slow: `messages` end with the fault reply
    # How long the turn waited for Rasa (0 when it did not ask): the rest of the turn's time is the gateway's own,
    # reported to clients as Server-Timing so the gateway's overhead can be measured turn by turn.
    rasa_seconds: float = 0.0
    # The turn put the conversation in the handoff queue (its wait notice ends `messages`): a phone call is then
    # transferred to a person through the carrier, or offered a callback (bot.channels.call_transfer).
    queued_for_person: bool = False

    def as_record(self) -> str:
        """Kept under the client's turn id, so a retry of the turn gets exactly this back."""
        return json.dumps({
            "messages": [{"text": m.text, "buttons": m.buttons} for m in self.messages], "ended": self.ended,
            "identity_verified": self.identity_verified, "fault": self.fault,
        }, ensure_ascii=False)

    @classmethod
    def from_record(cls, record: str) -> "TurnResult":
        data = json.loads(record)
        return cls([OutgoingMessage(m["text"], m["buttons"]) for m in data["messages"]], data["ended"],
                   data["identity_verified"], data["fault"])


@dataclass(frozen=True)
class FaultReplies:
    """What a borrower hears when a turn cannot be answered, and how long they wait before hearing it."""
    fault_text: str  # Rasa or an action failed or is slow; the borrower's words are recorded
    unavailable_text: str  # the gateway's own storage is down; nothing was recorded
    reply_wait_seconds: float
    turn_result_ttl_seconds: int
    fault_text_en: str  # fault_text for a conversation in English

    def fault_text_for(self, language: str) -> str:
        return self.fault_text_en if language == "en" else self.fault_text

    def checked(self) -> "FaultReplies":
        """Both fixed texts must pass the compliance check for an unverified party (they may be said to
        anyone, before any check can run in a turn): a text that does not stops the gateway's start."""
        for name, text in (("fault_reply_text", self.fault_text), ("fault_reply_text_en", self.fault_text_en),
                           ("unavailable_reply_text", self.unavailable_text)):
            verdict = check(text, {"identity_verified": False, "channel": "rest"})
            if not verdict.allowed:
                raise ValueError(f"COLLECTIONS_GATEWAY_{name.upper()} is refused by the compliance filter: {verdict.rules}")
        return self

    def unavailable(self) -> TurnResult:
        """The answer while storage is down: checked at start (`checked`), recorded nowhere since nothing can be."""
        return TurnResult([OutgoingMessage(self.unavailable_text)], False, fault=True)


class TurnTimedOut(RasaUnavailable):
    """Rasa did not answer within the borrower's wait; the turn goes on in `call`."""

    def __init__(self, call: "asyncio.Future[RasaTurn]") -> None:
        super().__init__("Rasa is slow: the turn goes on in the background")
        self.call = call


def is_unicode_text(text: str) -> bool:
    """False for text with lone surrogates (JSON allows "\ud800"), which no database or socket can store
    or send: such text is refused at the door, before any of it is written anywhere."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_borrower_text(text: Any, max_chars: int) -> str:
    """What a borrower typed, made safe to hand to Rasa.

    A leading '/' would make Rasa treat the text as an intent ('/ask_balance'), letting anyone
    skip NLU and the dialogue's guards, so it is replaced with the full-width slash.
    """
    if not isinstance(text, str) or not is_unicode_text(text):
        raise InvalidMessage("invalid_text", "text must be a string of Unicode characters")
    cleaned = _CONTROL_CHARACTERS.sub("", text).strip()
    if not cleaned:
        raise InvalidMessage("empty_text", "text is empty")
    if len(cleaned) > max_chars:
        raise InvalidMessage("text_too_long", f"text is longer than {max_chars} characters")
    if cleaned.startswith("/"):
        cleaned = "／" + cleaned.lstrip("/")
    return cleaned


def valid_conversation_id(conversation_id: str) -> bool:
    return bool(_CONVERSATION_ID.match(conversation_id))


def valid_turn_id(turn_id: Any) -> bool:
    return isinstance(turn_id, str) and bool(_TURN_ID.match(turn_id))


def _observe_turn(conversation: Conversation, started: float) -> None:
    """A completed borrower turn's time (refused or failed ones are not turns the borrower got an answer to)."""
    channel = metrics.bounded(conversation.channel, metrics.CHANNELS)
    metrics.TURN_SECONDS.labels(channel=channel).observe(time.perf_counter() - started)


class ConversationService:
    def __init__(
        self, store: SessionStore, rasa: RasaClient, ledger: Ledger, audit: AuditTrail,
        clock: Callable[[], datetime], max_message_chars: int, faults: FaultReplies,
        *, handoff: HandoffDesk | None = None, bus: PushBus | None = None, turns: ChannelState | None = None,
        turn_cap: TurnCap | None = None, unrecorded_channels: frozenset[str] = frozenset(),
        campaign_records: CampaignRecords | None = None,
    ) -> None:
        """`unrecorded_channels`: where the dialogue's words must not say the conversation is recorded
        (bot.recording_notice: calls, while call recording is off). `campaign_records`: where a chat opened from a
        reminder's link finds the reminder (without them such a chat is the borrower's own)."""
        self._store = store
        self._rasa = rasa
        self._ledger = ledger
        self._audit = audit
        self._clock = clock
        self._max_chars = max_message_chars
        self.handoff = handoff
        self._bus = bus
        self._turn_cap = turn_cap
        self._unrecorded_channels = unrecorded_channels
        self._campaign_records = campaign_records
        self.faults = faults
        self._turns = turns or InMemoryChannelState()  # client turn id -> its result (or _PENDING)
        self._late_turns: set[asyncio.Task[None]] = set()

    async def open(self, borrower_id: str, channel: str, *, secret_digest: str = "", conversation_id: str | None = None,
                   call_script: str = "", campaign_attempt: str | None = None,
                   opening: bool = True) -> tuple[Conversation, TurnResult]:
        """`channel` is the entrance's own name, never a client's claim; `secret_digest` is the credential
        a borrower client will present (bot.conversation_secret), none for calls and WeChat. A call the dialer
        placed brings its own id (the attempt's, so the ledger's rows of one attempt share it) and its script,
        which every turn's metadata carries; a chat opened from a reminder's link brings the reminder's attempt
        (`campaign_attempt`, on the ledger's record of the conversation before the dialogue starts) and script.
        `opening` False opens it without a dialogue turn (a call the contact policy refused once answered: only a
        goodbye is said)."""
        if not is_unicode_text(borrower_id):
            raise InvalidMessage("invalid_borrower_id", "borrower_id must be a string of Unicode characters")
        if conversation_id is not None and not valid_conversation_id(conversation_id):
            raise InvalidMessage("invalid_conversation_id", "a conversation id is 8-64 letters, digits, _ or -")
        borrower = self._ledger.get_borrower(borrower_id)
        conversation = Conversation(
            conversation_id=conversation_id or uuid.uuid4().hex,
            borrower_id=borrower_id,
            channel=channel,
            timezone=borrower.timezone if borrower else DEFAULT_TIMEZONE,
            started_at=datetime.now(timezone.utc).isoformat(),
            secret_digest=secret_digest,
            language=borrower.language if borrower else "zh",
            call_script=call_script,
        )
        await self._store.create(conversation)
        if campaign_attempt is not None:
            await asyncio.to_thread(self._ledger.start_conversation, conversation.conversation_id,
                                    borrower.borrower_id if borrower else None, channel, self._clock(),
                                    campaign_attempt_id=campaign_attempt)
        if not opening:
            return conversation, TurnResult([], False)
        result = await self._turn(conversation, OPENING_INTENT)
        return conversation, result

    async def get(self, conversation_id: str) -> Conversation:
        conversation = await self._store.get(conversation_id) if valid_conversation_id(conversation_id) else None
        if conversation is None:
            raise UnknownConversation(conversation_id)
        return conversation

    async def open_for_client(self, entry: ChatEntry, channel: str) -> tuple[Conversation, TurnResult, str]:
        """As `open_chat`, for a client that will come back (REST, /ws/chat): also the conversation's secret,
        which exists only in this return value."""
        secret, digest = conversation_secret.issue()
        conversation, result = await self.open_chat(entry, channel, secret_digest=digest)
        return conversation, result, secret

    async def open_chat(self, entry: ChatEntry, channel: str, *,
                        secret_digest: str = "") -> tuple[Conversation, TurnResult]:
        """A chat opened with a signed link (bot.links): a reminder's link makes it that campaign contact's, with the
        contact's script variant."""
        contact = None
        if entry.campaign_attempt is not None and self._campaign_records is not None:
            contact = await asyncio.to_thread(self._campaign_records.get_contact, entry.campaign_attempt)
        if contact is None or contact.borrower_id != entry.borrower_id:
            return await self.open(entry.borrower_id, channel, secret_digest=secret_digest)
        return await self.open(entry.borrower_id, channel, secret_digest=secret_digest, call_script=contact.script,
                               campaign_attempt=contact.attempt_id)

    async def authorize(self, conversation_id: str, secret: str | None) -> Conversation:
        """The conversation, if `secret` is its credential; an unknown id and a wrong or missing secret are
        the same UnknownConversation, so the answer tells nothing about which ids exist."""
        conversation = await self._store.get(conversation_id) if valid_conversation_id(conversation_id) else None
        if not conversation_secret.matches(secret, conversation.secret_digest if conversation else ""):
            raise UnknownConversation(conversation_id)
        return conversation

    async def handle(self, conversation_id: str, text: Any, turn_id: str | None = None) -> TurnResult:
        """One borrower turn. With a client `turn_id`, a retry of the same turn (a lost response, a resent
        frame) gets the first attempt's result and the dialogue never runs twice. A turn that never reached
        Rasa (it was down) is the exception: its retry sends the borrower's words to Rasa, once, without
        recording them again, so a client that retries after the fault reply gets the real answer."""
        if turn_id is None:
            return await self._handle(conversation_id, text)
        if not valid_turn_id(turn_id):
            raise InvalidMessage("invalid_turn_id", "a turn id is 1-128 letters, digits or _.:-")
        key = f"{conversation_id}:{turn_id}"
        ttl = self.faults.turn_result_ttl_seconds
        if not await self._turns.first_seen(key, ttl):
            return await self._earlier_result(conversation_id, key)
        try:
            result = await self._handle(conversation_id, text, turn_key=key)
        except BaseException:
            # Refused before it ran (unknown conversation, bad text) or cut off: a retry may try again.
            with contextlib.suppress(Exception):
                await self._turns.delete(key)
            raise
        await self._turns.set(key, result.as_record(), ttl)
        return result

    async def _earlier_result(self, conversation_id: str, key: str) -> TurnResult:
        """The result of a turn id seen before; if that turn is still running, waits for it (it answers within
        the reply wait, with the fault reply if Rasa is slow)."""
        deadline = time.monotonic() + self.faults.reply_wait_seconds + 5
        while time.monotonic() < deadline:
            record = await self._turns.get(key)
            if record is None:
                break  # its first attempt was refused or cut off
            if record != _PENDING:
                unanswered = await self._turns.get(key + _UNANSWERED)
                if unanswered is None:
                    return TurnResult.from_record(record)
                if await self._turns.first_seen(key + _RETRYING, int(self.faults.reply_wait_seconds) + 5):
                    return await self._retry_unanswered(conversation_id, key, record, unanswered)
            await asyncio.sleep(_TURN_POLL_SECONDS)
        conversation = await self.get(conversation_id)
        return await self._fault(conversation, [], self._context(conversation))

    async def _retry_unanswered(self, conversation_id: str, key: str, record: str, unanswered: str) -> TurnResult:
        """Sends Rasa the turn it never received (the words are already in the transcript and the audit). Other
        retries of the same turn id wait for this one's result; if Rasa is still unreachable, the fault reply
        again and the turn stays retryable."""
        ttl = self.faults.turn_result_ttl_seconds
        try:
            conversation = await self.get(conversation_id)
            if conversation.ended:
                return TurnResult.from_record(record)
            await self._turns.set(key, _PENDING, ttl)
            await self._turns.delete(key + _UNANSWERED)  # set again by _turn if Rasa is still out of reach
            facts = json.loads(unanswered)
            distress = DistressSignal(**facts["distress"]) if facts["distress"] else None
            try:
                result = await self._turn(conversation, facts["text"], borrower_text=facts["borrower_text"],
                                          distress=distress, turn_key=key)
            except BaseException:
                await self._turns.set(key, record, ttl)
                await self._turns.set(key + _UNANSWERED, unanswered, ttl)
                raise
            await self._turns.set(key, result.as_record(), ttl)
            return result
        finally:
            await self._turns.delete(key + _RETRYING)

    async def note_borrower_words(self, conversation_id: str, text: Any) -> str:
        """Borrower words the gateway answers itself, without a dialogue turn (on a call: a number heard unclearly,
        held until the caller confirms it, and their yes or no): in the transcript and the audit like a turn's.
        Returns the words as recorded, for `handle_recorded`."""
        conversation = await self._open_conversation(conversation_id)
        cleaned = clean_borrower_text(text, self._max_chars)
        _, borrower_audited = await self._record_borrower(conversation, cleaned, None)
        await borrower_audited
        return cleaned

    async def handle_recorded(self, conversation_id: str, text: str) -> TurnResult:
        """A dialogue turn for words `note_borrower_words` already recorded (a number the caller confirmed)."""
        started = time.perf_counter()
        conversation = await self._open_conversation(conversation_id)
        cleaned = clean_borrower_text(text, self._max_chars)
        recorded: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        recorded.set_result("")
        audited = cleaned if conversation.identity_verified else mask_id_last4(cleaned)
        result = await self._answer(conversation, cleaned, audited, detect_distress(cleaned), None, recorded)
        _observe_turn(conversation, started)
        return result

    async def _open_conversation(self, conversation_id: str) -> Conversation:
        conversation = await self.get(conversation_id)
        if conversation.ended:
            raise ConversationEnded(conversation_id)
        return conversation

    async def _handle(self, conversation_id: str, text: Any, turn_key: str | None = None) -> TurnResult:
        started = time.perf_counter()
        conversation = await self._open_conversation(conversation_id)
        cleaned = clean_borrower_text(text, self._max_chars)
        signal = detect_distress(cleaned)
        audited, borrower_audited = await self._record_borrower(conversation, cleaned, signal)
        try:
            result = await self._answer(conversation, cleaned, audited, signal, turn_key, borrower_audited)
        finally:
            await borrower_audited
        _observe_turn(conversation, started)
        return result

    async def _record_borrower(self, conversation: Conversation, cleaned: str,
                               signal: DistressSignal | None) -> tuple[str, "asyncio.Future[str]"]:
        """Appends the words to the transcript and starts their audit record; returns the words as audited and the
        audit write, which callers await before anything else is audited so the chain keeps the order."""
        entry = {"speaker": "borrower", "text": cleaned, "at": datetime.now(timezone.utc).isoformat()}
        if signal is not None:
            entry["distress"] = signal.kind  # the agent console highlights it
        await self._store.append(conversation.conversation_id, entry)
        # Before verification a message that reads as ID digits is the answer to the ID question: a secret
        # the audit needs the fact of, not the value (the ledger knows whether it matched).
        audited = cleaned if conversation.identity_verified else mask_id_last4(cleaned)
        # Written while Rasa works on the turn (for a turn's words).
        borrower_audited = asyncio.ensure_future(asyncio.to_thread(
            self._audit.append, conversation.conversation_id, conversation.borrower_id, conversation.channel,
            "borrower", audited,
        ))
        return audited, borrower_audited

    async def _answer(self, conversation: Conversation, cleaned: str, audited: str, signal: DistressSignal | None,
                      turn_key: str | None, borrower_audited: "asyncio.Future[str]") -> TurnResult:
        conversation_id = conversation.conversation_id
        if self.handoff is not None and await self.handoff.holder(conversation_id) is not None:
            # An agent holds the conversation: the bot stays silent; the agent reads it in the transcript.
            if signal is not None:
                await asyncio.to_thread(self._flag_vulnerable, conversation, signal, audited)
            return TurnResult([], False)
        # Distress always takes the distress path (hand off first), however long the conversation.
        if signal is None and self._turn_cap is not None and await self._turn_cap.exceeded(conversation_id):
            await borrower_audited
            return await self._close_long_conversation(conversation)
        if signal is None:
            return await self._turn(conversation, cleaned, borrower_text=cleaned, turn_key=turn_key,
                                    borrower_audited=borrower_audited)
        await asyncio.to_thread(self._flag_vulnerable, conversation, signal, audited)
        return await self._turn(conversation, DISTRESS_INTENT, borrower_text=cleaned, distress=signal, turn_key=turn_key,
                                borrower_audited=borrower_audited)

    async def _close_long_conversation(self, conversation: Conversation) -> TurnResult:
        """Past the turn cap the borrower's words are kept (transcript, audit) and answered with a polite
        closing through the egress, without another Rasa turn."""
        messages = await deliver(self._store, self._audit, conversation, [{"text": notice(conversation.language, "long_conversation")}],
                                 self._context(conversation))
        await self._store.mark_ended(conversation.conversation_id)
        return TurnResult(messages, True, identity_verified=conversation.identity_verified)

    def _flag_vulnerable(self, conversation: Conversation, signal: DistressSignal, said: str) -> None:
        """A verified borrower is flagged: campaigns skip them until a person clears the flag. Before verification
        whoever is on the line may not be the borrower, so the words wait for a person's review instead and the
        borrower's contact is not stopped on a stranger's say (issue 10 finding 7)."""
        if not conversation.identity_verified:
            self._ledger.record_review_request(
                conversation.conversation_id, conversation.borrower_id, conversation.channel, "distress", said[:500])
        elif self._ledger.get_borrower(conversation.borrower_id) is not None:
            self._ledger.flag_borrower(conversation.borrower_id, "distress", f"{signal.kind}: {signal.matched}"[:200])

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        await self.get(conversation_id)
        return await self._store.transcript(conversation_id)

    async def say(self, conversation_id: str, texts: list[str], speaker: str = "bot") -> list[OutgoingMessage]:
        """Gateway-originated words (a re-prompt on a silent line, a wait notice, an agent's message):
        checked and audited in the egress like any reply, in the context of the conversation so far."""
        conversation = await self.get(conversation_id)
        return await deliver(
            self._store, self._audit, conversation, [{"text": text} for text in texts],
            self._context(conversation), speaker,
        )

    async def push(self, conversation_id: str, texts: list[str], speaker: str = "bot") -> list[OutgoingMessage]:
        """Words for a borrower who is not in a turn (a callback offer, an agent joining): through the
        egress, then to every channel subscribed to the conversation."""
        messages = await self.say(conversation_id, texts, speaker)
        await self._publish(conversation_id, speaker, messages)
        return messages

    async def push_agent_text(self, conversation_id: str, text: str) -> tuple[OutgoingMessage | None, Verdict]:
        """An agent's message; a blocked one is withheld (None) and its verdict returned to the agent."""
        conversation = await self.get(conversation_id)
        message, verdict = await deliver_agent_text(
            self._store, self._audit, conversation, text, self._context(conversation),
        )
        if message is not None:
            await self._publish(conversation_id, "agent", [message])
        return message, verdict

    async def _publish(self, conversation_id: str, speaker: str, messages: list[OutgoingMessage]) -> None:
        if self._bus is not None:
            for message in messages:
                await self._bus.publish(conversation_id, push_message(speaker, message.text))

    @staticmethod
    def _context(conversation: Conversation) -> dict[str, Any]:
        return {"identity_verified": conversation.identity_verified, "channel": conversation.channel}

    async def record_interruption(self, conversation_id: str, text: str, heard_text: str) -> None:
        """The borrower talked over a spoken reply: the transcript and Rasa's tracker keep what they heard."""
        await self.get(conversation_id)
        await self._store.append(conversation_id, {
            "speaker": "bot", "interrupted": True, "text": text, "heard_text": heard_text,
            "at": datetime.now(timezone.utc).isoformat(),
        })
        await self._rasa.append_events(conversation_id, [{
            "event": "bot", "text": heard_text, "metadata": {"interrupted": True, "full_text": text},
        }])

    async def _turn(
        self, conversation: Conversation, text: str, borrower_text: str = "", distress: DistressSignal | None = None,
        turn_key: str | None = None, borrower_audited: "asyncio.Future[str] | None" = None,
    ) -> TurnResult:
        metadata = {
            "borrower_id": conversation.borrower_id,
            "channel": conversation.channel,
            "timezone": conversation.timezone,
            "now": self._clock().isoformat(),
        }
        if distress is not None:
            # The words themselves stay in the gateway's transcript; the phrase heard is what a hardship record needs.
            metadata["distress_kind"], metadata["distress_phrase"] = distress.kind, distress.matched
        if conversation.call_script:
            metadata["call_script"] = conversation.call_script
        context = {**self._context(conversation), "borrower_text": borrower_text}
        try:
            turn, rasa_seconds = await self._ask_rasa(conversation.conversation_id, text, metadata, borrower_audited)
        except TurnTimedOut as slow:
            metrics.count_error("rasa_slow")  # the borrower hears the fault reply; the real one follows later
            self._finish_late(conversation, slow.call, context, turn_key)
            return await self._fault(conversation, [], context)
        except RasaTurnFailed as failure:
            logger.error("turn failed in Rasa for conversation %s", mask_reference(conversation.conversation_id))
            return await self._fault(conversation, failure.turn.messages, context)  # what was said before it failed
        except RasaUnavailable as error:
            logger.error("rasa unavailable for conversation %s: %s", mask_reference(conversation.conversation_id), error)
            if turn_key is not None and isinstance(error, RasaNotReached):
                await self._turns.set(turn_key + _UNANSWERED, json.dumps({
                    "text": text, "borrower_text": borrower_text,
                    "distress": asdict(distress) if distress else None,
                }, ensure_ascii=False), self.faults.turn_result_ttl_seconds)
            return await self._fault(conversation, [], context)
        return replace(await self._complete(conversation, turn, context), rasa_seconds=rasa_seconds)

    async def _ask_rasa(self, conversation_id: str, text: str, metadata: dict[str, Any],
                        borrower_audited: "asyncio.Future[str] | None") -> tuple[RasaTurn, float]:
        """Rasa's answer within the borrower's wait and the seconds it took, else TurnTimedOut carrying the call that
        goes on. Returns or raises only once the borrower's words are in the audit (a failed audit write raises its
        error); the seconds are Rasa's alone, without that wait."""
        call = asyncio.ensure_future(self._rasa.send(conversation_id, text, metadata))
        asked = time.perf_counter()
        try:
            done, _ = await asyncio.wait({call}, timeout=self.faults.reply_wait_seconds)
            waited = time.perf_counter() - asked
        except asyncio.CancelledError:
            call.cancel()  # the borrower went away mid-turn, as before: nobody is left to answer
            raise
        finally:
            if borrower_audited is not None:
                await borrower_audited
        if not done:
            raise TurnTimedOut(call)
        return call.result(), waited

    async def _fault(self, conversation: Conversation, said: list[dict[str, Any]], context: dict[str, Any]) -> TurnResult:
        """The fixed fault reply (after anything Rasa said before failing), through the egress like any reply."""
        messages = await deliver(self._store, self._audit, conversation,
                                 [*self._as_true(conversation, said), {"text": self.faults.fault_text_for(conversation.language)}], context)
        return TurnResult(messages, False, identity_verified=conversation.identity_verified, fault=True)

    def _finish_late(self, conversation: Conversation, call: "asyncio.Future[RasaTurn]", context: dict[str, Any],
                     turn_key: str | None) -> None:
        """A turn the borrower stopped waiting for: its reply, when it comes, goes through the egress and the
        audit and is pushed to the borrower's channels (and kept under the turn id); a failure is logged."""
        async def finish() -> None:
            conversation_ref = mask_reference(conversation.conversation_id)
            try:
                turn = await call
            except RasaTurnFailed as failure:
                logger.error("late turn failed in Rasa for conversation %s", conversation_ref)
                result = await self._fault(conversation, failure.turn.messages, context)
            except RasaUnavailable as error:
                logger.error("late turn lost for conversation %s: %s (the borrower heard the fault reply)",
                             conversation_ref, error)
                return
            else:
                result = await self._complete(conversation, turn, context)
            logger.info("late reply delivered for conversation %s", conversation_ref)
            await self._publish(conversation.conversation_id, "bot", result.messages)
            if turn_key is not None:
                await self._turns.set(turn_key, result.as_record(), self.faults.turn_result_ttl_seconds)

        async def finish_or_log() -> None:
            try:
                await finish()
            except Exception:  # noqa: BLE001 - nobody awaits this task: a failure must reach the log
                logger.exception("late reply not delivered for conversation %s",
                                 mask_reference(conversation.conversation_id))

        task = asyncio.create_task(finish_or_log())
        self._late_turns.add(task)
        task.add_done_callback(self._late_turns.discard)

    async def _complete(self, conversation: Conversation, turn: RasaTurn, context: dict[str, Any]) -> TurnResult:
        """Rasa's answer through the egress, then its facts: verification, handoff, the end."""
        verified_this_turn = await self._note_verification(conversation, turn)
        if turn.language is not None and turn.language != conversation.language:
            await self._store.set_language(conversation.conversation_id, turn.language)
            conversation.language = turn.language
        context = {**context, "identity_verified": conversation.identity_verified}
        messages = await deliver(self._store, self._audit, conversation, self._as_true(conversation, turn.messages),
                                 context)
        notice = None
        if self.handoff is not None:
            notice = await self.handoff.after_turn(conversation, TurnFacts(
                turn.handoff_reasons, verified_this_turn, turn.conversation_ended))
            if notice:
                messages += await deliver(self._store, self._audit, conversation, [{"text": notice}], context)
        if turn.conversation_ended:
            await self._store.mark_ended(conversation.conversation_id)
        return TurnResult(messages, turn.conversation_ended, identity_verified=conversation.identity_verified,
                          queued_for_person=bool(notice))

    def _as_true(self, conversation: Conversation, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The dialogue's words, without a claim of recording where the conversation is not recorded."""
        return unclaimed(messages) if conversation.channel in self._unrecorded_channels else messages

    async def _note_verification(self, conversation: Conversation, turn: RasaTurn) -> bool:
        """Keeps Rasa's verdict on the conversation, so words outside turns are checked without asking Rasa;
        True on the turn that verifies."""
        if turn.identity_verified == conversation.identity_verified:
            return False
        await self._store.set_identity_verified(conversation.conversation_id, turn.identity_verified)
        conversation.identity_verified = turn.identity_verified
        return turn.identity_verified

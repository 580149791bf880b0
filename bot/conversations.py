"""Opening conversations and carrying borrower turns to Rasa and replies back through the egress."""
from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from actions.ledger.repository import Ledger
from bot.audit import AuditTrail
from bot.egress import OutgoingMessage, deliver, deliver_agent_text
from bot.handoff.bus import PushBus, push_message
from bot.handoff.desk import HandoffDesk
from compliance_filters.verdict import Verdict
from compliance_filters.distress import DistressSignal, detect_distress
from bot.rasa_client import RasaClient
from bot.sessions import Conversation, SessionStore

OPENING_INTENT = "/start_conversation"
# Sent instead of the borrower's words when the gateway detects distress, so the dialogue's
# distress path (stop collecting, hand off first) runs whatever the NLU model would have said.
DISTRESS_INTENT = "/distress"
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


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


def clean_borrower_text(text: Any, max_chars: int) -> str:
    """What a borrower typed, made safe to hand to Rasa.

    A leading '/' would make Rasa treat the text as an intent ('/ask_balance'), letting anyone
    skip NLU and the dialogue's guards, so it is replaced with the full-width slash.
    """
    if not isinstance(text, str):
        raise InvalidMessage("invalid_text", "text must be a string")
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


class ConversationService:
    def __init__(
        self, store: SessionStore, rasa: RasaClient, ledger: Ledger, audit: AuditTrail,
        clock: Callable[[], datetime], max_message_chars: int, default_timezone: str,
        *, handoff: HandoffDesk | None = None, bus: PushBus | None = None,
    ) -> None:
        self._store = store
        self._rasa = rasa
        self._ledger = ledger
        self._audit = audit
        self._clock = clock
        self._max_chars = max_message_chars
        self._default_timezone = default_timezone
        self.handoff = handoff
        self._bus = bus

    async def open(self, borrower_id: str, channel: str) -> tuple[Conversation, TurnResult]:
        borrower = self._ledger.get_borrower(borrower_id)
        conversation = Conversation(
            conversation_id=uuid.uuid4().hex,
            borrower_id=borrower_id,
            channel=channel,
            timezone=borrower.timezone if borrower else self._default_timezone,
            started_at=datetime.now(timezone.utc).isoformat(),
        )
        await self._store.create(conversation)
        result = await self._turn(conversation, OPENING_INTENT)
        return conversation, result

    async def get(self, conversation_id: str) -> Conversation:
        conversation = await self._store.get(conversation_id) if valid_conversation_id(conversation_id) else None
        if conversation is None:
            raise UnknownConversation(conversation_id)
        return conversation

    async def handle(self, conversation_id: str, text: Any) -> TurnResult:
        conversation = await self.get(conversation_id)
        if conversation.ended:
            raise ConversationEnded(conversation_id)
        cleaned = clean_borrower_text(text, self._max_chars)
        signal = detect_distress(cleaned)
        entry = {"speaker": "borrower", "text": cleaned, "at": datetime.now(timezone.utc).isoformat()}
        if signal is not None:
            entry["distress"] = signal.kind  # the agent console highlights it
        await self._store.append(conversation_id, entry)
        await asyncio.to_thread(
            self._audit.append, conversation_id, conversation.borrower_id, conversation.channel, "borrower", cleaned,
        )
        if self.handoff is not None and await self.handoff.holder(conversation_id) is not None:
            # An agent holds the conversation: the bot stays silent; the agent reads it in the transcript.
            if signal is not None:
                await asyncio.to_thread(self._flag_vulnerable, conversation, signal)
            return TurnResult([], False)
        if signal is None:
            return await self._turn(conversation, cleaned, borrower_text=cleaned)
        await asyncio.to_thread(self._flag_vulnerable, conversation, signal)
        return await self._turn(conversation, DISTRESS_INTENT, borrower_text=cleaned, distress=signal)

    def _flag_vulnerable(self, conversation: Conversation, signal: DistressSignal) -> None:
        """Campaigns skip a flagged borrower until a person clears the flag."""
        if self._ledger.get_borrower(conversation.borrower_id) is not None:
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
            await self._context(conversation), speaker,
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
            self._store, self._audit, conversation, text, await self._context(conversation),
        )
        if message is not None:
            await self._publish(conversation_id, "agent", [message])
        return message, verdict

    async def _publish(self, conversation_id: str, speaker: str, messages: list[OutgoingMessage]) -> None:
        if self._bus is not None:
            for message in messages:
                await self._bus.publish(conversation_id, push_message(speaker, message.text))

    async def _context(self, conversation: Conversation) -> dict[str, Any]:
        slots = await self._rasa.slots(conversation.conversation_id)
        return {"identity_verified": slots.get("identity_verified") is True, "channel": conversation.channel}

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
    ) -> TurnResult:
        metadata = {
            "borrower_id": conversation.borrower_id,
            "channel": conversation.channel,
            "timezone": conversation.timezone,
            "now": self._clock().isoformat(),
        }
        if distress is not None:
            metadata["distress_kind"] = distress.kind
        replies = await self._rasa.send(conversation.conversation_id, text, metadata)
        slots = await self._rasa.slots(conversation.conversation_id)
        context = {
            "identity_verified": slots.get("identity_verified") is True,
            "channel": conversation.channel,
            "borrower_text": borrower_text,
        }
        messages = await deliver(self._store, self._audit, conversation, replies, context)
        ended = slots.get("conversation_ended") is True
        if self.handoff is not None and not ended:
            notice = await self.handoff.after_turn(
                conversation, context["identity_verified"], await self._store.transcript(conversation.conversation_id),
            )
            if notice:
                messages += await deliver(self._store, self._audit, conversation, [{"text": notice}], context)
        if ended:
            await self._store.mark_ended(conversation.conversation_id)
        return TurnResult(messages, ended, identity_verified=context["identity_verified"])

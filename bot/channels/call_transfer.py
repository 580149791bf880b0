"""Handing a phone call to a person (voice.call asks, once the turn that queued the call has been heard).

With an agent line configured (COLLECTIONS_HANDOFF_AGENT_LINE) the caller hears the transfer sentence on the call
(spoken like every utterance: through the egress, audited, TTS), then the live call is updated through the carrier
(campaigns.twilio_dialer.TwilioCalls.redirect) with TwiML that <Dial>s the number, SIP address, queue or
conference. Twilio ends the media stream and connects the caller; the conversation stays in the console queue
flagged transferred, so the agent who answers reads the transcript so far, and the ledger's handoff request
becomes `transferred`. Said before the update, the sentence is true of the attempt whatever the carrier answers.

Without a line, for a call no carrier can transfer (the browser's voice page, the demo phone), or when the
carrier refuses or cannot be reached: a callback is booked at once and its time said on the call
(bot.handoff.callbacks). Never a silent drop.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from twilio.twiml.voice_response import Dial, VoiceResponse

from bot.conversations import ConversationService
from bot.handoff.callbacks import CallbackOffers
from bot.handoff.queue import HandoffQueue
from campaigns.dialer import DialerError, LiveCalls
from ledger.notices import notice
from ledger.references import mask_reference
from ledger.repository import Ledger

logger = logging.getLogger("bot.call_transfer")

_PREFIXED_KINDS = ("sip", "sips", "queue", "conference")


@dataclass(frozen=True)
class AgentLine:
    """Where transferred calls go; `address` as <Dial> names it (a number, sip:… URI, or a queue or room name)."""
    kind: str  # number | sip | queue | conference
    address: str

    @classmethod
    def parse(cls, setting: str) -> "AgentLine":
        """From COLLECTIONS_HANDOFF_AGENT_LINE, whose pattern the settings already checked."""
        if setting.startswith("+"):
            return cls("number", setting)
        kind, _, name = setting.partition(":")
        if kind not in _PREFIXED_KINDS or not name:
            raise ValueError(f"not an agent line: {setting!r}")
        return cls("sip", setting) if kind.startswith("sip") else cls(kind, name)


def transfer_twiml(line: AgentLine) -> str:
    """Connects the caller to the line (the call ends when the agent hangs up)."""
    response = VoiceResponse()
    dial = Dial()
    {"number": dial.number, "sip": dial.sip, "queue": dial.queue, "conference": dial.conference}[line.kind](
        line.address)
    response.append(dial)
    return str(response)


class CallHandover:
    """voice.call.Handover: the carrier transfer, or the callback when there is none."""

    def __init__(self, conversations: ConversationService, queue: HandoffQueue, ledger: Ledger,
                 callbacks: CallbackOffers, line: AgentLine | None, carrier: LiveCalls | None) -> None:
        self._conversations = conversations
        self._queue = queue
        self._ledger = ledger
        self._callbacks = callbacks
        self._line = line if carrier is not None else None
        self._carrier = carrier

    async def hand_over(self, conversation_id: str, carrier_call_id: str | None,
                        announce: Callable[[str], Awaitable[None]]) -> bool:
        """True: the carrier took the call to the agent line (its media stream is ending); False: a callback was
        booked and pushed to the call instead (or one was already offered). `announce(text)`: says it on the call
        and returns once it has played."""
        if self._line is not None and carrier_call_id is not None:
            if await self._transfer(conversation_id, carrier_call_id, announce):
                return True
        await self._callbacks.offer_now(conversation_id)
        return False

    async def _transfer(self, conversation_id: str, carrier_call_id: str,
                        announce: Callable[[str], Awaitable[None]]) -> bool:
        conversation = await self._conversations.get(conversation_id)
        await announce(notice(conversation.language, "transferring"))
        try:
            await self._carrier.redirect(carrier_call_id, transfer_twiml(self._line))
        except DialerError as error:
            logger.error("call %s: the carrier did not transfer it (%s); a callback is offered instead",
                         mask_reference(conversation_id), error)
            return False
        logger.info("call %s transferred to the agent line (%s)", mask_reference(conversation_id), self._line.kind)
        try:
            await self._queue.mark_transferred(conversation_id)
            await asyncio.to_thread(
                self._ledger.set_handoff_status, conversation_id, "transferred", ("waiting", "callback_offered"))
        except Exception:  # noqa: BLE001 - the carrier is connecting the caller already: only the flag is missing
            logger.exception("call %s: the transfer was not recorded", mask_reference(conversation_id))
        return True

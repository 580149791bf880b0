"""Handing a phone call to a person (voice.call asks, once the turn that queued the call has been heard).

With an agent line configured (COLLECTIONS_HANDOFF_AGENT_LINE) the caller hears the transfer sentence on the call
(spoken like every utterance: through the egress, audited, TTS), then the live call is updated through the carrier
(campaigns.twilio_dialer.TwilioCalls.redirect) with TwiML that <Dial>s the number, SIP address, queue or
conference. Twilio ends the media stream and connects the caller; the conversation stays in the console queue
flagged transferred, so the agent who answers reads the transcript so far, and the ledger's handoff request
becomes `transferred`. Said before the update, the sentence is true of the attempt whatever the carrier answers.
With COLLECTIONS_VOICE_PUBLIC_URL set, the <Dial> reports how it ended to /voice/twilio/transfer-ended (signed by
the carrier, naming the conversation through a signed ticket): a line that did not answer books the callback and
the carrier says when, then hangs up.

Without a line, for a call no carrier can transfer (the browser's voice page, the demo phone), or when the
carrier refuses or cannot be reached: a callback is booked at once and its time said on the call
(bot.handoff.callbacks). Never a silent drop.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, VoiceResponse

from bot.channels.outbound_call import SAY_LANGUAGE
from bot.conversations import ConversationService, UnknownConversation
from bot.links import BorrowerLinks, InvalidLink
from bot.handoff.callbacks import CallbackOffers
from bot.handoff.queue import HandoffQueue
from campaigns.dialer import DialerError, LiveCalls
from ledger.notices import notice
from ledger.references import mask_reference
from ledger.repository import Ledger

logger = logging.getLogger("bot.call_transfer")

_PREFIXED_KINDS = ("sip", "sips", "queue", "conference")
DIAL_ENDED_PATH = "/voice/twilio/transfer-ended"
TICKET_PARAMETER = "ticket"
_TICKET_SALT = "collections.call-transfer"
_TICKET_HOURS = 4.0  # a transferred call's <Dial> ends within this (Twilio's longest call is 4 hours)
ANSWERED_DIAL_STATUSES = ("completed", "answered")  # Twilio's DialCallStatus of a <Dial> someone picked up


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


def transfer_twiml(line: AgentLine, dial_ended_url: str | None = None) -> str:
    """Connects the caller to the line; `dial_ended_url`: where the carrier asks what next once the <Dial> ends
    (without it the call ends with the <Dial>)."""
    response = VoiceResponse()
    dial = Dial(action=dial_ended_url, method="POST") if dial_ended_url else Dial()
    {"number": dial.number, "sip": dial.sip, "queue": dial.queue, "conference": dial.conference}[line.kind](
        line.address)
    response.append(dial)
    return str(response)


def say_and_hang_up(text: str, language: str) -> str:
    response = VoiceResponse()
    response.say(text, language=SAY_LANGUAGE.get(language, "cmn-CN"))
    response.hangup()
    return str(response)


class CallHandover:
    """voice.call.Handover: the carrier transfer, or the callback when there is none. `link_key` and `public_url`
    (the gateway's origin as the carrier reaches it): to learn how a transfer's <Dial> ended."""

    def __init__(self, conversations: ConversationService, queue: HandoffQueue, ledger: Ledger,
                 callbacks: CallbackOffers, line: AgentLine | None, carrier: LiveCalls | None,
                 link_key: bytes | None = None, public_url: str | None = None) -> None:
        self._conversations = conversations
        self._queue = queue
        self._ledger = ledger
        self._callbacks = callbacks
        self._line = line if carrier is not None else None
        self._carrier = carrier
        self._tickets = BorrowerLinks(link_key, salt=_TICKET_SALT) if link_key and public_url else None
        self._public_url = public_url

    def _dial_ended_url(self, conversation_id: str) -> str | None:
        if self._tickets is None:
            return None
        ticket = self._tickets.issue_claims([conversation_id], _TICKET_HOURS)
        return f"{self._public_url}{DIAL_ENDED_PATH}?{urlencode({TICKET_PARAMETER: ticket})}"

    async def dial_ended(self, ticket: object, dial_status: str) -> str | None:
        """TwiML once a transfer's <Dial> has ended (the carrier asks, signed): answered, the call ends; not answered
        (busy, no-answer, failed), the callback is booked and the carrier says when. None: a ticket not ours."""
        if self._tickets is None:
            return None
        try:
            claims = self._tickets.admit_claims(ticket)
        except InvalidLink:
            return None
        if len(claims) != 1:
            return None
        conversation_id = claims[0]
        try:
            conversation = await self._conversations.get(conversation_id)
        except UnknownConversation:
            conversation = None
        if dial_status in ANSWERED_DIAL_STATUSES or conversation is None:
            hang_up = VoiceResponse()
            hang_up.hangup()
            return str(hang_up)
        logger.info("call %s: the agent line did not answer (%s); a callback is offered",
                    mask_reference(conversation_id), dial_status[:16])
        said = await self._callbacks.offer_now(conversation_id)
        if said is None:  # offered already (the wait ran out meanwhile), or the conversation is gone
            said = (await self._conversations.say(conversation_id, [notice(conversation.language, "line_unanswered")]))[0].text
        return say_and_hang_up(said, conversation.language)

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
            await self._carrier.redirect(carrier_call_id, transfer_twiml(self._line, self._dial_ended_url(conversation_id)))
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

"""When nobody takes a waiting conversation in time (or a phone call cannot be transferred to a person: `offer_now`,
bot.channels.call_transfer): book a callback in the ledger (the same `Ledger.record_callback` and slot rule the
bot's callback action uses) and tell the borrower."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from compliance_filters.contact_policy import ContactPolicyConfig
from ledger.references import mask_reference
from ledger.repository import Ledger
from bot.conversations import ConversationService, UnknownConversation
from ledger.notices import callback_notice, notice
from bot.handoff.queue import HandoffQueue

logger = logging.getLogger("bot.handoff")

# A call hands itself over (transfer or callback: bot.channels.call_transfer) once its queue notice has played, within
# voice.call.HANGUP_WAIT_SECONDS; the timeout leaves calls at least this long so the two never race. It still books
# the callback of a caller who hung up before the handover.
CALL_CHANNELS = frozenset({"phone", "browser_voice"})
CALL_HANDOVER_SECONDS = 60.0




class CallbackOffers:
    def __init__(
        self, queue: HandoffQueue, conversations: ConversationService, ledger: Ledger,
        wait_timeout_seconds: float, conversation_clock: Callable[[], datetime], contact_policy: ContactPolicyConfig,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._conversations = conversations
        self._ledger = ledger
        self._timeout = wait_timeout_seconds
        self._conversation_clock = conversation_clock
        self._wall_clock = wall_clock
        self._contact_policy = contact_policy

    async def offer_due(self) -> list[str]:
        """Offers a callback to every conversation waiting longer than the timeout; returns their ids."""
        offered = []
        for entry in await self._queue.entries():
            timeout = max(self._timeout, CALL_HANDOVER_SECONDS) if entry.channel in CALL_CHANNELS else self._timeout
            if entry.callback_offered or entry.transferred or self._wall_clock() - entry.enqueued_at < timeout:
                continue
            if await self._queue.mark_callback_offered(entry.conversation_id):  # one replica wins
                await self._offer(entry.conversation_id, "callback_booked")
                offered.append(entry.conversation_id)
        return offered

    async def offer_now(self, conversation_id: str) -> str | None:
        """A waiting phone call that cannot go to a person now (or whose transfer nobody answered): the callback is
        booked and said at once (the wait timeout would find the caller hung up). The words said, as the egress
        passed them; None when it was offered already, or is not waiting."""
        if not await self._queue.mark_callback_offered(conversation_id):
            return None
        return await self._offer(conversation_id, "callback_instead_of_transfer")

    async def _offer(self, conversation_id: str, notice_key: str) -> str | None:
        try:
            conversation = await self._conversations.get(conversation_id)
        except UnknownConversation:
            await self._queue.remove(conversation_id)
            return None
        if conversation.ended:
            await self._queue.remove(conversation_id)
            return None
        await asyncio.to_thread(self._ledger.set_handoff_status, conversation.conversation_id, "callback_offered",
                                ("waiting", "transferred"))
        now = self._conversation_clock()
        when = self._contact_policy.callback_slot(None, now, conversation.timezone)
        known = await asyncio.to_thread(self._ledger.get_borrower, conversation.borrower_id)
        if known is None:
            text = notice(conversation.language, "no_callback")
        else:
            await asyncio.to_thread(self._ledger.record_callback, conversation.borrower_id, conversation.conversation_id, when)
            text = callback_notice(conversation.language, when, now.astimezone(ZoneInfo(conversation.timezone)).date(),
                                   notice_key)
            logger.info("handoff wait timed out; callback booked borrower=%s", mask_reference(conversation.borrower_id))
        said = await self._conversations.push(conversation.conversation_id, [text])
        return said[0].text if said else None

    async def run(self, interval_seconds: float) -> None:
        while True:
            try:
                await self.offer_due()
            except Exception:  # noqa: BLE001 - Redis or Rasa hiccup: try again next round
                logger.exception("callback offer round failed")
            await asyncio.sleep(interval_seconds)

"""The longest conversation the bot takes part in: past `max_turns` borrower turns it closes politely
instead of calling Rasa again, so one conversation cannot grow (and slow) without end."""
from __future__ import annotations

from bot.channels.state import ChannelState
from bot.sessions import TRANSCRIPT_TTL_SECONDS

class TurnCap:
    def __init__(self, counters: ChannelState, max_turns: int) -> None:
        self._counters = counters  # conversation id -> borrower turns taken so far (atomic across replicas)
        self._max_turns = max_turns

    async def exceeded(self, conversation_id: str) -> bool:
        """Counts this turn; True once the conversation has had more than `max_turns`."""
        return await self._counters.incr(conversation_id, TRANSCRIPT_TTL_SECONDS) > self._max_turns

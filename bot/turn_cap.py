"""The longest conversation the bot takes part in: past `max_turns` borrower turns it closes politely
instead of calling Rasa again, so one conversation cannot grow (and slow) without end."""
from __future__ import annotations

from bot.channels.state import ChannelState
from bot.sessions import TRANSCRIPT_TTL_SECONDS

# Names neither a creditor nor a debt (it may reach someone not yet verified) and leaves the way open.
LONG_CONVERSATION_CLOSING = (
    "这次对话内容比较多，为了更好地为您服务，本次对话先到这里。"
    "如需继续沟通，欢迎稍后重新联系我们，也可以随时要求转接人工专员为您处理。"
)


class TurnCap:
    def __init__(self, counters: ChannelState, max_turns: int) -> None:
        self._counters = counters  # conversation id -> borrower turns taken so far (atomic across replicas)
        self._max_turns = max_turns

    async def exceeded(self, conversation_id: str) -> bool:
        """Counts this turn; True once the conversation has had more than `max_turns`."""
        return await self._counters.incr(conversation_id, TRANSCRIPT_TTL_SECONDS) > self._max_turns

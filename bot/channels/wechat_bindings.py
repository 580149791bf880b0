"""Which WeChat user (openid) is which borrower: bound once the bot verified identity in a WeChat conversation,
kept in the WeChat channel's state (Redis when REDIS_URL is set, so the campaign worker reads what the gateway
wrote). Both directions are kept: the channel asks who an openid is, a reminder asks where a borrower is.

The way back (borrower -> openid) is trusted only while the openid still names that borrower, so an unfollow, or
a WeChat user later verified as someone else, never gets another borrower's reminder."""
from __future__ import annotations

from bot.channels.state import ChannelState, make_channel_state

STATE_PREFIX = "collections:wechat"  # shared with bot.channels.wechat: one store for the channel
BINDING_TTL_SECONDS = 180 * 24 * 3600


class WeChatBindings:
    def __init__(self, state: ChannelState, ttl_seconds: int = BINDING_TTL_SECONDS) -> None:
        self._state = state
        self._ttl = ttl_seconds

    async def bind(self, openid: str, borrower_id: str) -> None:
        previous = await self.borrower_of(openid)
        if previous is not None and previous != borrower_id:
            await self._drop_way_back(previous, openid)
        await self._state.set(f"bind:{openid}", borrower_id, self._ttl)
        await self._state.set(f"bound:{borrower_id}", openid, self._ttl)

    async def borrower_of(self, openid: str) -> str | None:
        return await self._state.get(f"bind:{openid}")

    async def openid_of(self, borrower_id: str) -> str | None:
        openid = await self._state.get(f"bound:{borrower_id}")
        if openid is None or await self.borrower_of(openid) != borrower_id:
            return None
        return openid

    async def forget(self, openid: str) -> None:
        borrower_id = await self.borrower_of(openid)
        await self._state.delete(f"bind:{openid}")
        if borrower_id is not None:
            await self._drop_way_back(borrower_id, openid)

    async def _drop_way_back(self, borrower_id: str, openid: str) -> None:
        if await self._state.get(f"bound:{borrower_id}") == openid:
            await self._state.delete(f"bound:{borrower_id}")

    async def aclose(self) -> None:
        await self._state.aclose()


def make_wechat_bindings(redis_url: str | None) -> WeChatBindings:
    return WeChatBindings(make_channel_state(redis_url, STATE_PREFIX))

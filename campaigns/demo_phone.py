"""The demo carrier: while no provider is real (Settings.demo), the worker's calls ring on a page of the gateway
(/demo/phone) where a person answers with the microphone and talks to the bot, or declines, or lets it ring out.

    phone = DemoPhone(redis_client, ring_seconds=30)
    dialer = DemoPhoneDialer(phone, CallSlots(...), max_calls)      # the worker's Dialer
    ring = await phone.answer(attempt_id)                           # the page: the ring, taken once, or None

Rings live in Redis (the worker and the gateway share the campaign Redis). A ring is taken once (answered or
declined); one nobody takes within `ring_seconds` is over, unanswered. Either side that finds a call over reports
it as a carrier would, through the gateway's outbound-call logic (bot.channels.outbound_call.OutboundCalls), which
records the outcome, counts it against the caps and frees the line.
"""
from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from campaigns.call_slots import CallSlots
from campaigns.dial_tickets import DialTicket
from campaigns.dialer import CallPlaced, CallRequest, DialerBusy

RINGS_KEY = "collections:demo-phone:rings"


@dataclass(frozen=True)
class Ring:
    attempt_id: str
    borrower_id: str
    script: str
    call_sid: str  # the form a carrier's call id has (CA + 32 hex), so the outcome is recorded like any call's
    to_number: str
    rang_at: float  # Unix time

    @property
    def ticket(self) -> DialTicket:
        return DialTicket(self.borrower_id, self.attempt_id, self.script)

    def status(self, status: str, answered_by: str = "", duration: int = 0) -> dict[str, str]:
        """The carrier's final status callback for this call."""
        return {"CallSid": self.call_sid, "CallStatus": status, "AnsweredBy": answered_by,
                "CallDuration": str(duration), "To": self.to_number}


class DemoPhone:
    def __init__(self, redis_client: Any, ring_seconds: int) -> None:
        """`redis_client`: redis.asyncio with decode_responses (bot.redis_connection.connect)."""
        self._redis = redis_client
        self.ring_seconds = ring_seconds

    async def ring(self, request: CallRequest) -> Ring:
        ring = Ring(request.attempt_id, request.borrower_id, request.script, "CA" + secrets.token_hex(16),
                    request.to_number, time.time())
        await self._redis.hset(RINGS_KEY, ring.attempt_id, json.dumps(asdict(ring)))
        return ring

    async def ringing(self) -> list[Ring]:
        rings = [Ring(**json.loads(value)) for value in (await self._redis.hgetall(RINGS_KEY)).values()]
        return sorted((ring for ring in rings if not self._rung_out(ring)), key=lambda ring: ring.rang_at)

    async def answer(self, attempt_id: str) -> Ring | None:
        """The ring, taken: no one else answers or declines it after this. None when it is gone or rang out."""
        value = await self._redis.hget(RINGS_KEY, attempt_id)
        if value is None or not await self._redis.hdel(RINGS_KEY, attempt_id):
            return None  # another page took it first
        ring = Ring(**json.loads(value))
        return None if self._rung_out(ring) else ring

    async def rung_out(self) -> list[Ring]:
        """Rings nobody took in time, removed: each is reported unanswered by whoever removed it."""
        over = [ring for ring in (Ring(**json.loads(value)) for value in (await self._redis.hgetall(RINGS_KEY)).values())
                if self._rung_out(ring)]
        return [ring for ring in over if await self._redis.hdel(RINGS_KEY, ring.attempt_id)]

    def _rung_out(self, ring: Ring) -> bool:
        return time.time() - ring.rang_at > self.ring_seconds


class DemoPhoneDialer:
    """The worker's Dialer when no carrier is configured: the same pacing (call slots) as a real one."""

    def __init__(self, phone: DemoPhone, slots: CallSlots, max_calls: int, outcomes: Any) -> None:
        """`outcomes`: bot.channels.outbound_call.OutboundCalls, to report the calls that rang out."""
        self._phone, self._slots, self._max_calls, self._outcomes = phone, slots, max_calls, outcomes

    async def free_lines(self) -> int:
        for ring in await self._phone.rung_out():
            await self._outcomes.report(ring.status("no-answer"), ring.ticket)
        return max(0, self._max_calls - await self._slots.held())

    async def place_call(self, request: CallRequest) -> CallPlaced:
        if not await self._slots.acquire(request.attempt_id):
            raise DialerBusy(f"all {self._max_calls} demo lines are taken")
        ring = await self._phone.ring(request)
        return CallPlaced(ring.call_sid)

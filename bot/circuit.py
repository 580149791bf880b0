"""A circuit breaker (purgatory) around a dependency that can fail: after `threshold` consecutive
failures it opens and calls fail at once (the borrower hears the fault reply without waiting for a
timeout); after `cooldown_seconds` one call goes through as a probe, and a success closes it again."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState


class CircuitOpen(RuntimeError):
    pass


class Circuit:
    def __init__(self, name: str, threshold: int, cooldown_seconds: float) -> None:
        self._name = name
        # A cancelled call (the borrower hung up) says nothing about the dependency's health.
        self._factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=cooldown_seconds, exclude=[asyncio.CancelledError])
        self._breaker: Any = None

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Runs the block through the breaker: an exception leaving it counts as a failure."""
        if self._breaker is None:
            self._breaker = await self._factory.get_breaker(self._name)
        try:
            async with self._breaker:
                yield
        except OpenedState as opened:
            raise CircuitOpen(f"circuit {self._name} is open") from opened

    def state(self) -> dict[str, Any]:
        """For /health: closed, opened or half-opened, and the consecutive failures while closed."""
        if self._breaker is None:
            return {"state": "closed", "failures": 0}
        context = self._breaker.context
        return {"state": context.state, "failures": context.failure_count or 0}

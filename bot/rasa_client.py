"""Talks to the Rasa server through the gateway's own Rasa channel (rasa_channels/gateway.py) and Rasa's
HTTP API (Rasa is never exposed to borrowers).

On aiohttp: httpx's client took 2.9-3.1 ms of the gateway's CPU per request at 16 concurrent turns against a
local server, aiohttp's 0.21-0.23 ms (same body and answer, issue 17) — at 25 turns a second, 7 % of a core."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import quote

import aiohttp

from monitoring import metrics
from bot.circuit import Circuit, CircuitOpen

TURN_WEBHOOK = "/webhooks/gateway/webhook"


class RasaUnavailable(RuntimeError):
    pass


class RasaNotReached(RasaUnavailable):
    """The turn never reached Rasa (no connection could be made, or the circuit is open): nothing of it happened
    there, so sending it again cannot make the dialogue run it twice."""


class RasaTurnFailed(RasaUnavailable):
    """Rasa answered, but an action failed inside the turn (the action server down or erring): what was
    said before the failure is in `turn`, the rest of the turn is lost."""

    def __init__(self, turn: "RasaTurn") -> None:
        super().__init__("an action failed during the turn")
        self.turn = turn


@dataclass(frozen=True)
class RasaTurn:
    """Rasa's answer to one borrower turn: what the bot said, and the facts the gateway acts on."""
    messages: list[dict[str, Any]]
    identity_verified: bool
    conversation_ended: bool
    handoff_reasons: tuple[str, ...]  # raised by actions during this turn
    failed: bool = False  # Rasa swallowed an error during the turn (rasa_channels/gateway.py reports it)
    language: str | None = None  # the reply language the dialogue settled on (None from an older channel)

    @classmethod
    def from_json(cls, body: Any) -> "RasaTurn":
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise RasaUnavailable("Rasa answered without the gateway channel's reply (is credentials.yml current?)")
        return cls(
            messages=body["messages"],
            identity_verified=body.get("identity_verified") is True,
            conversation_ended=body.get("conversation_ended") is True,
            handoff_reasons=tuple(str(reason) for reason in body.get("handoff_reasons") or ()),
            failed=body.get("failed") is True,
            language=body.get("language") if body.get("language") in ("zh", "en") else None,
        )


_OUTCOMES = {RasaNotReached: "not_reached", RasaTurnFailed: "turn_failed"}  # else "error" (failed or timed out)
# No TCP connection could be made (refused, unreachable, or not within the timeout): the request never reached Rasa.
_NOT_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# A failure after the request may have reached Rasa: the turn may have run there.
_FAILED = (aiohttp.ClientError, asyncio.TimeoutError, ValueError)


def _failure_name(error: BaseException) -> str:
    """Names as the logs and metrics have always had them (httpx's), whatever the client library."""
    if isinstance(error, _NOT_CONNECTED):
        return "ConnectTimeout" if isinstance(error, aiohttp.ConnectionTimeoutError) else "ConnectError"
    if isinstance(error, asyncio.TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return "ReadTimeout"
    if isinstance(error, aiohttp.ClientResponseError):
        return "HTTPStatusError"
    return error.__class__.__name__


class RasaClient:
    """Rasa, or its replicas round-robin: they share the Redis tracker and lock store, so any replica can take any
    turn and the lock store keeps one conversation's turns in order. A turn that could not connect to one replica
    never reached it, so the next replica gets it."""

    def __init__(self, base_urls: Sequence[str], token: str, timeout: float, circuit: Circuit) -> None:
        if not base_urls:
            raise ValueError("no Rasa URL")
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"}
        self._replicas = [url.rstrip("/") for url in base_urls]
        self._timeout = aiohttp.ClientTimeout(total=timeout)  # a turn's longest wait, connecting included
        self._session: aiohttp.ClientSession | None = None  # made in the event loop that first uses it
        self._next = itertools.cycle(range(len(self._replicas)))
        self.circuit = circuit

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Up to 100 connections, as httpx had; an idle one is dropped after 4 s, before Rasa's Sanic closes it
            # (5 s), so a turn is never sent on a connection the server is closing.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=4),
                raise_for_status=True, json_serialize=_json_body)
        return self._session

    def _next_replica(self) -> str:
        return self._replicas[next(self._next)]

    def _in_turn(self) -> list[str]:
        """Every replica, starting with the next one in the rotation."""
        first = next(self._next)
        return self._replicas[first:] + self._replicas[:first]

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        """One user turn, in one request: the bot messages Rasa produced for it and the turn's facts.
        Raises RasaNotReached when no connection could be made or the circuit is open, RasaUnavailable when
        Rasa fails or times out, RasaTurnFailed when an action failed inside the turn. Both count towards opening the circuit."""
        started = time.perf_counter()
        try:
            turn = await self._send(conversation_id, text, metadata)
        except RasaUnavailable as error:
            outcome = _OUTCOMES.get(type(error), "error")
            metrics.count_error(f"rasa_{outcome}")
            metrics.RASA_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)
            raise
        metrics.RASA_SECONDS.labels(outcome="answered").observe(time.perf_counter() - started)
        return turn

    async def _send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        try:
            async with self.circuit.guard():
                body = await self._post_turn(conversation_id, text, metadata)
                turn = RasaTurn.from_json(body)
                if turn.failed:
                    raise RasaTurnFailed(turn)
        except CircuitOpen as error:
            raise RasaNotReached(str(error)) from error
        return turn

    async def _post_turn(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> Any:
        not_reached: Exception | None = None
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        for replica in self._in_turn():
            try:
                async with self._http().post(replica + TURN_WEBHOOK, json=body, headers=self._headers) as response:
                    return json.loads(await response.read())
            except _NOT_CONNECTED as error:
                not_reached = error
            except _FAILED as error:
                raise RasaUnavailable(f"Rasa did not answer: {_failure_name(error)}") from error
        raise RasaNotReached(f"Rasa could not be reached: {_failure_name(not_reached)}") from not_reached

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        """Rasa's tracker, slots and the events since the last restart (the console's summary reads it)."""
        try:
            async with self._http().get(
                f"{self._next_replica()}/conversations/{quote(conversation_id, safe='')}/tracker",
                params={"include_events": "AFTER_RESTART", "token": self._token},
            ) as response:
                return json.loads(await response.read())
        except _FAILED as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {_failure_name(error)}") from error

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Adds events to the tracker without running the dialogue (e.g. what a borrower heard of a cut-off reply)."""
        try:
            async with self._http().post(
                f"{self._next_replica()}/conversations/{quote(conversation_id, safe='')}/tracker/events",
                params={"include_events": "NONE", "token": self._token}, json=events,
            ):
                pass
        except _FAILED as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {_failure_name(error)}") from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _json_body(value: Any) -> str:
    """The request body as httpx wrote it: UTF-8 text as is, compact, no NaN (not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

"""Talks to the Rasa server through the gateway's own Rasa channel (rasa_channels/gateway.py) and Rasa's
HTTP API (Rasa is never exposed to borrowers)."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Sequence

import httpx

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


class RasaClient:
    """Rasa, or its replicas round-robin: they share the Redis tracker and lock store, so any replica can take any
    turn and the lock store keeps one conversation's turns in order. A turn that could not connect to one replica
    never reached it, so the next replica gets it."""

    def __init__(self, base_urls: Sequence[str], token: str, timeout: float, circuit: Circuit) -> None:
        if not base_urls:
            raise ValueError("no Rasa URL")
        self._token = token
        self._replicas = [httpx.AsyncClient(base_url=url, timeout=timeout) for url in base_urls]
        self._next = itertools.cycle(range(len(self._replicas)))
        self.circuit = circuit

    def _next_replica(self) -> httpx.AsyncClient:
        return self._replicas[next(self._next)]

    def _in_turn(self) -> list[httpx.AsyncClient]:
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
        for replica in self._in_turn():
            try:
                response = await replica.post(
                    TURN_WEBHOOK, json={"sender": conversation_id, "message": text, "metadata": metadata},
                    headers={"Authorization": f"Bearer {self._token}"},
                )
                response.raise_for_status()
                return response.json()
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                not_reached = error
            except (httpx.HTTPError, ValueError) as error:
                raise RasaUnavailable(f"Rasa did not answer: {error.__class__.__name__}") from error
        raise RasaNotReached(f"Rasa could not be reached: {not_reached.__class__.__name__}") from not_reached

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        """Rasa's tracker, slots and the events since the last restart (the console's summary reads it)."""
        try:
            response = await self._next_replica().get(
                f"/conversations/{conversation_id}/tracker",
                params={"include_events": "AFTER_RESTART", "token": self._token},
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {error.__class__.__name__}") from error
        return response.json()

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Adds events to the tracker without running the dialogue (e.g. what a borrower heard of a cut-off reply)."""
        try:
            response = await self._next_replica().post(
                f"/conversations/{conversation_id}/tracker/events",
                params={"include_events": "NONE", "token": self._token}, json=events,
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {error.__class__.__name__}") from error

    async def aclose(self) -> None:
        for replica in self._replicas:
            await replica.aclose()

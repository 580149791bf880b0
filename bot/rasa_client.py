"""Talks to the Rasa server over its REST channel and HTTP API (Rasa is never exposed to borrowers)."""
from __future__ import annotations

from typing import Any

import httpx


class RasaUnavailable(RuntimeError):
    pass


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        self._token = token
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One user turn; returns the bot messages Rasa produced for it."""
        try:
            response = await self._http.post(
                "/webhooks/rest/webhook",
                json={"sender": conversation_id, "message": text, "metadata": metadata},
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa did not answer: {error.__class__.__name__}") from error
        return response.json()

    async def slots(self, conversation_id: str) -> dict[str, Any]:
        return (await self.tracker(conversation_id, events="NONE")).get("slots") or {}

    async def tracker(self, conversation_id: str, events: str = "AFTER_RESTART") -> dict[str, Any]:
        """Rasa's tracker (slots, and events as `events` selects: NONE, AFTER_RESTART, ALL...)."""
        try:
            response = await self._http.get(
                f"/conversations/{conversation_id}/tracker",
                params={"include_events": events, "token": self._token},
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {error.__class__.__name__}") from error
        return response.json()

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Adds events to the tracker without running the dialogue (e.g. what a borrower heard of a cut-off reply)."""
        try:
            response = await self._http.post(
                f"/conversations/{conversation_id}/tracker/events",
                params={"include_events": "NONE", "token": self._token}, json=events,
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {error.__class__.__name__}") from error

    async def aclose(self) -> None:
        await self._http.aclose()

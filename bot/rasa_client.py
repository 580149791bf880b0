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
        try:
            response = await self._http.get(
                f"/conversations/{conversation_id}/tracker",
                params={"include_events": "NONE", "token": self._token},
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa tracker unavailable: {error.__class__.__name__}") from error
        return response.json().get("slots") or {}

    async def aclose(self) -> None:
        await self._http.aclose()

"""The single egress: every utterance to a borrower leaves through `deliver`, after the compliance check."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from compliance_filters import check

from bot.sessions import SessionStore


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": "bot", "text": self.text}
        if self.buttons:
            payload["buttons"] = self.buttons
        return payload


async def deliver(
    store: SessionStore, conversation_id: str, bot_messages: list[dict[str, Any]], context: dict[str, Any],
    speaker: str = "bot",
) -> list[OutgoingMessage]:
    """Checks each message, substitutes blocked ones, records both in the transcript, returns what may be sent."""
    outgoing: list[OutgoingMessage] = []
    for message in bot_messages:
        text = message.get("text")
        if not text:
            continue
        verdict = check(text, context)
        sent = text if verdict.allowed else verdict.replacement
        entry = {
            "speaker": speaker, "text": sent, "at": datetime.now(timezone.utc).isoformat(),
            "allowed": verdict.allowed, "rules": list(verdict.rules),
        }
        if not verdict.allowed:
            entry["blocked_text"] = text
        await store.append(conversation_id, entry)
        outgoing.append(OutgoingMessage(sent, message.get("buttons") or [] if verdict.allowed else []))
    return outgoing

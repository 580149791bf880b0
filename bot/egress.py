"""The single egress: every utterance to a borrower leaves through `deliver`, after the compliance
check, and is appended to the tamper-evident audit trail with its verdict."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from compliance_filters import check
from compliance_filters.verdict import Verdict

from monitoring import metrics
from bot.audit import AuditEntry, AuditTrail
from bot.sessions import Conversation, SessionStore


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
    store: SessionStore, audit: AuditTrail, conversation: Conversation, bot_messages: list[dict[str, Any]],
    context: dict[str, Any], speaker: str = "bot",
) -> list[OutgoingMessage]:
    """Checks each message, substitutes blocked ones, records both, returns what may be sent. The turn's audit
    records go in one transaction, written while the transcript is."""
    checked = [(message, check(message["text"], context)) for message in bot_messages if message.get("text")]
    said = [(message["text"], verdict, message["text"] if verdict.allowed else verdict.replacement)
            for message, verdict in checked]
    await _record(store, audit, conversation, speaker, said)
    return [OutgoingMessage(sent, message.get("buttons") or [] if verdict.allowed else [])
            for (message, verdict), (_, _, sent) in zip(checked, said)]


async def deliver_agent_text(
    store: SessionStore, audit: AuditTrail, conversation: Conversation, text: str, context: dict[str, Any],
) -> tuple[OutgoingMessage | None, Verdict]:
    """A human agent's message: checked and audited like the bot's, but a blocked one is withheld
    rather than replaced (the agent sees the verdict and rewrites it); nothing reaches the borrower."""
    verdict = check(text, context)
    sent = text if verdict.allowed else None
    await _record(store, audit, conversation, "agent", [(text, verdict, sent)])
    return (OutgoingMessage(text) if sent is not None else None), verdict


async def _record(store: SessionStore, audit: AuditTrail, conversation: Conversation, speaker: str,
                  said: list[tuple[str, Verdict, str | None]]) -> None:
    """Each (text, verdict, what was sent) in the transcript and the audit, both before anything is sent."""
    entries = [entry for text, verdict, sent in said for entry in _audit_entries(speaker, text, verdict, sent)]
    _count_blocks(speaker, [verdict for _, verdict, _ in said])
    audited = asyncio.ensure_future(asyncio.to_thread(
        audit.append_many, conversation.conversation_id, conversation.borrower_id, conversation.channel, entries))
    try:
        for text, verdict, sent in said:
            await _transcribe(store, conversation, speaker, text, verdict, sent)
    finally:
        await audited


def _count_blocks(speaker: str, verdicts: list[Verdict]) -> None:
    speaker = metrics.bounded(speaker, metrics.SPEAKERS)
    for verdict in verdicts:
        if not verdict.allowed:
            for rule in verdict.rules or ("unnamed",):
                metrics.COMPLIANCE_BLOCKS.labels(rule=metrics.bounded(rule), speaker=speaker).inc()


def _audit_entries(speaker: str, text: str, verdict: Verdict, sent: str | None) -> list[AuditEntry]:
    """The audit keeps what was tried, with the verdict, and what was sent instead of a blocked text."""
    entries = [AuditEntry(speaker, text, verdict.allowed, tuple(verdict.rules))]
    if not verdict.allowed and sent is not None:
        entries.append(AuditEntry(speaker, sent, True))
    return entries


async def _transcribe(store: SessionStore, conversation: Conversation, speaker: str, text: str, verdict: Verdict,
                      sent: str | None) -> None:
    """The transcript gets what was sent (nothing when withheld). Blocked bot words are counted on the conversation
    in hand too, so the handoff desk reads the count after the turn without another look at the store."""
    if not verdict.allowed and speaker == "bot":
        conversation.blocked_bot_utterances = await store.count_blocked_bot_utterance(conversation.conversation_id)
    if sent is None:
        return
    entry = {
        "speaker": speaker, "text": sent, "at": datetime.now(timezone.utc).isoformat(),
        "allowed": verdict.allowed, "rules": list(verdict.rules),
    }
    if not verdict.allowed:
        entry["blocked_text"] = text
    await store.append(conversation.conversation_id, entry)

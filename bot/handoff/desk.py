"""The handoff desk: decides after each bot turn whether a conversation must go to a person, queues it,
words the honest wait notice, and lets agents take and hand back conversations.

Triggers: the handoff reasons the bot's actions raised during the turn (distress, dispute, requested,
nlu_fallback; Rasa reports them with the reply), the compliance filter having blocked the bot's words
`compliance_blocks_before_handoff` times in the conversation (the egress counts them), and the policy
triggers of bot/handoff.yml, checked once, on the turn that verifies identity. Every handoff is recorded
in the ledger here, with the priority of bot/handoff.yml. Each reason queues a conversation once, so a
conversation handed back to the bot is not re-queued for the request it was already served for.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable

from ledger.repository import Ledger
from ledger.notices import wait_notice
from monitoring import metrics
from bot.channels.state import ChannelState
from bot.handoff.assignments import Assignments
from bot.handoff.policy import HandoffPolicy
from bot.handoff.queue import HandoffQueue, QueueEntry
from bot.sessions import Conversation, TRANSCRIPT_TTL_SECONDS

logger = logging.getLogger(__name__)


class AlreadyHeld(RuntimeError):
    def __init__(self, holder: str | None) -> None:
        super().__init__("conversation is held by another agent")
        self.holder = holder


class NotWaiting(LookupError):
    pass


@dataclass(frozen=True)
class TurnFacts:
    """What the desk learns from one bot turn (the conversation itself carries the blocked count)."""
    handoff_reasons: tuple[str, ...] = ()  # raised by the bot's actions during the turn
    verified_this_turn: bool = False  # identity was not verified before this turn and is now
    ended: bool = False


@dataclass(frozen=True)
class Trigger:
    reason: str
    priority: int


class HandoffDesk:
    def __init__(
        self, queue: HandoffQueue, assignments: Assignments, ledger: Ledger, policy: HandoffPolicy,
        seen: ChannelState, wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.assignments = assignments
        self._ledger = ledger
        self.policy = policy
        self._seen = seen  # "<conversation id>:<reason>" once queued for that reason
        self._now = wall_clock

    async def holder(self, conversation_id: str) -> str | None:
        return await self.assignments.holder(conversation_id)

    async def after_turn(self, conversation: Conversation, facts: TurnFacts) -> str | None:
        """Records and queues the conversation for every new trigger of a bot turn (the caller has checked
        that no agent holds it); the wait notice to add to the turn, if any. An ended conversation's
        handoffs are recorded for a person to review, not queued."""
        triggers = [Trigger(reason, self._priority(reason)) for reason in facts.handoff_reasons]
        if conversation.blocked_bot_utterances >= self.policy.compliance_blocks_before_handoff:
            triggers.append(Trigger("compliance_blocked", self._priority("compliance_blocked")))
        if facts.verified_this_turn:
            triggers += await asyncio.to_thread(self._policy_triggers, conversation.borrower_id)
        new = [t for t in triggers if await self._seen.first_seen(
            f"{conversation.conversation_id}:{t.reason}", TRANSCRIPT_TTL_SECONDS)]
        if not new:
            return None
        await asyncio.to_thread(self._record, conversation, new)
        if facts.ended:
            return None
        first = min(new, key=lambda trigger: trigger.priority)
        await self.queue.enqueue(QueueEntry(
            conversation_id=conversation.conversation_id, borrower_id=conversation.borrower_id,
            channel=conversation.channel, reason=first.reason, priority=first.priority, enqueued_at=self._now(),
        ))
        position = await self.queue.position(conversation.conversation_id)
        return wait_notice(conversation.language, position or 1)

    def _priority(self, reason: str) -> int:
        if reason not in self.policy.priorities:
            logger.warning("handoff reason %r is not in the handoff policy: queued behind every listed reason", reason)
        return self.policy.priority(reason)

    def _record(self, conversation: Conversation, triggers: list[Trigger]) -> None:
        """Every handoff is in the ledger (its status follows the desk); an unknown borrower's with no borrower."""
        known = conversation.borrower_id if self._ledger.get_borrower(conversation.borrower_id) else None
        for trigger in triggers:
            self._ledger.record_handoff(conversation.conversation_id, known, trigger.reason, trigger.priority)

    def _policy_triggers(self, borrower_id: str) -> list[Trigger]:
        account = self._ledger.get_primary_account(borrower_id)
        if account is None:
            return []
        triggers = []
        if self.policy.legal_stage_days_past_due is not None and account.days_past_due >= self.policy.legal_stage_days_past_due:
            triggers.append(Trigger("legal_stage", self.policy.priorities["legal_stage"]))
        if self.policy.large_balance_cents is not None and account.balance_cents >= self.policy.large_balance_cents:
            triggers.append(Trigger("large_balance", self.policy.priorities["large_balance"]))
        return triggers

    async def take(self, conversation_id: str, agent: str, waiting_only: bool) -> QueueEntry | None:
        """The agent now holds the conversation. Raises AlreadyHeld when someone else got it first, and
        NotWaiting when `waiting_only` (role agent) and the conversation is not in the queue."""
        if not await self.assignments.take(conversation_id, agent):
            raise AlreadyHeld(await self.assignments.holder(conversation_id))
        entry = await self.queue.remove(conversation_id)
        if entry is None and waiting_only:
            await self.assignments.release(conversation_id, agent)
            raise NotWaiting(conversation_id)
        if entry is not None:
            reason = metrics.bounded(entry.reason, frozenset(self.policy.priorities))
            metrics.HANDOFF_WAIT_SECONDS.labels(reason=reason).observe(max(0.0, self._now() - entry.enqueued_at))
        await asyncio.to_thread(
            self._ledger.set_handoff_status, conversation_id, "taken", ("waiting", "callback_offered", "transferred"), agent)
        return entry

    async def note_queue_metrics(self) -> None:
        """The queue's depth and its longest wait, for a scrape (the queue is shared: every replica reports it)."""
        entries = await self.queue.entries()
        metrics.HANDOFF_QUEUE_DEPTH.set(len(entries))
        oldest = min((entry.enqueued_at for entry in entries), default=None)
        metrics.HANDOFF_OLDEST_WAIT.set(0.0 if oldest is None else max(0.0, self._now() - oldest))

    async def hand_back(self, conversation_id: str, agent: str | None) -> bool:
        """Releases the conversation to the bot; agent None (a supervisor) releases whoever holds it."""
        released = await self.assignments.release(conversation_id, agent)
        if released:
            await asyncio.to_thread(self._ledger.set_handoff_status, conversation_id, "served", ("taken",))
        return released

"""One tick of the campaign worker: judge what fell due, place everyone, then list the contacts due now (campaigns,
booked callbacks, reminders the day before a promise or instalment)."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from campaigns.contact import LOCK_SECONDS
from campaigns.planner import due_contacts
from campaigns.segmenter import Segmenter
from campaigns.strategy import Placement
from ledger.campaign_records import CampaignRecords, ContactPlan, callback_key
from ledger.follow_up import FollowUp
from ledger.portfolio import BorrowerFacts
from monitoring import metrics

log = logging.getLogger(__name__)

CALLBACK_CAMPAIGN = "callbacks"
REMINDER_CAMPAIGN = "follow_up_reminders"
# A booked callback is made within this long after its time, or left to a person.
CALLBACK_GRACE = timedelta(hours=2)
# A contact takes less than its lock's life (LOCK_SECONDS) from claim to outcome; one still `planned` five times that
# long after its claim lost its worker in between, and is closed as `unknown` (ledger.campaign_records).
ABANDONED_AFTER = timedelta(seconds=5 * LOCK_SECONDS)


@dataclass(frozen=True)
class TickResult:
    placed: int
    due: list[ContactPlan]


class CampaignTick:
    def __init__(self, segmenter: Segmenter, records: CampaignRecords, follow_up: FollowUp) -> None:
        self._segmenter = segmenter
        self._records = records
        self._follow_up = follow_up

    def run(self, now: datetime) -> TickResult:
        self._close_abandoned(now)
        self._settle(now)
        placed = self._segmenter.place_all(now)
        return TickResult(placed=len(placed), due=self._due(placed, now))

    def due_now(self, now: datetime) -> list[ContactPlan]:
        """The contacts a tick run now would plan, recording nothing: no promise judged, nobody placed, no claim
        closed (the console's count; a tick that judges a broken promise may plan a little differently)."""
        return self._due(self._segmenter.placements(now), now)

    def _due(self, placed: list[tuple[BorrowerFacts, Placement]], now: datetime) -> list[ContactPlan]:
        segments = self._records.current_segments()
        histories = self._records.histories([facts.borrower_id for facts, _ in placed], segments)
        paused = self._records.paused_campaigns()
        due = due_contacts(self._segmenter.strategy, placed, histories, paused, now)
        by_borrower = {facts.borrower_id: (facts, placement) for facts, placement in placed}
        if CALLBACK_CAMPAIGN not in paused:
            due.extend(self._callbacks(now, by_borrower))
        if REMINDER_CAMPAIGN not in paused:
            due.extend(self._reminders(now, by_borrower))
        decided = self._records.already_decided(due)
        return [plan for plan in due if (plan.borrower_id, plan.contact_key) not in decided]

    def _close_abandoned(self, now: datetime) -> None:
        closed = self._records.close_abandoned(now - ABANDONED_AFTER, now)
        for _ in closed:
            metrics.count_error("contact_outcome_unknown")
        if closed:
            log.warning("%d contacts claimed by a worker that stopped before their outcome: closed as unknown",
                        len(closed))

    def _settle(self, now: datetime) -> None:
        """Promises and instalments whose day has passed are judged; whoever that moves is placed again, with why."""
        happened: dict[str, list[str]] = defaultdict(list)
        for event in self._follow_up.settle_due(now):
            happened[event.borrower_id].append(f"{event.kind.replace('_', ' ')} {event.reference}")
        for borrower_id, events in happened.items():
            self._segmenter.place_now([borrower_id], "; ".join(events), now)

    def _reminders(self, now: datetime, placed: dict) -> list[ContactPlan]:
        """The day before a promise or an instalment falls due: a message, in the reminder treatment's hours."""
        strategy = self._segmenter.strategy
        treatment = strategy.treatments[strategy.follow_up_reminders]
        plans = []
        for due in self._follow_up.due_tomorrow(now):
            if due.borrower_id not in placed:
                continue
            facts, placement = placed[due.borrower_id]
            if facts.open_dispute:
                continue  # nobody reminds a borrower whose debt is in dispute
            if not treatment.in_preferred_hours(now.astimezone(ZoneInfo(facts.timezone)).time()):
                continue
            plans.append(ContactPlan(borrower_id=due.borrower_id, account_id=due.account_id, campaign=REMINDER_CAMPAIGN,
                                     segment=placement.segment, contact_key=f"reminder:{due.kind}:{due.reference}",
                                     channel="message", script=f"{due.kind}_due"))
        return plans

    def _callbacks(self, now: datetime, placed: dict) -> list[ContactPlan]:
        plans = []
        for callback_id, borrower_id in self._records.due_callbacks(now, CALLBACK_GRACE):
            if borrower_id not in placed:
                continue  # nothing left to collect: no call
            facts, placement = placed[borrower_id]
            plans.append(ContactPlan(borrower_id=borrower_id, account_id=facts.account_id, campaign=CALLBACK_CAMPAIGN,
                                     segment=placement.segment, contact_key=callback_key(callback_id),
                                     channel="call", script="callback"))
        return plans

"""One tick of the campaign worker: place everyone, then list the contacts due now (campaigns and callbacks)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from campaigns.planner import due_contacts
from campaigns.segmenter import Segmenter
from ledger.campaign_records import CampaignRecords, ContactPlan, callback_key

CALLBACK_CAMPAIGN = "callbacks"
# A booked callback is made within this long after its time, or left to a person.
CALLBACK_GRACE = timedelta(hours=2)


@dataclass(frozen=True)
class TickResult:
    placed: int
    due: list[ContactPlan]


class CampaignTick:
    def __init__(self, segmenter: Segmenter, records: CampaignRecords) -> None:
        self._segmenter = segmenter
        self._records = records

    def run(self, now: datetime) -> TickResult:
        placed = self._segmenter.place_all(now)
        segments = self._records.current_segments()
        histories = self._records.histories([facts.borrower_id for facts, _ in placed], segments)
        paused = self._records.paused_campaigns()
        due = due_contacts(self._segmenter.strategy, placed, histories, paused, now)
        if CALLBACK_CAMPAIGN not in paused:
            due.extend(self._callbacks(now, {facts.borrower_id: (facts, placement) for facts, placement in placed}))
        decided = self._records.already_decided(due)
        return TickResult(placed=len(placed), due=[plan for plan in due
                                                   if (plan.borrower_id, plan.contact_key) not in decided])

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

"""Who is due for a campaign contact now: a pure function of the ledger's facts, the strategy and the clock.

The worker places every borrower (a SegmentChange when the segment moved) and then asks `due_contacts`: a borrower
is due when the segment's treatment contacts anyone, its campaign is not paused, the borrower's local time is in
the treatment's preferred hours, and the last contact is at least `every_days` local days ago. One contact per
campaign per borrower per local day (the contact key); the contact policy is asked again before each one.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from campaigns.strategy import Placement, Strategy
from ledger.campaign_records import ContactHistory, ContactPlan
from ledger.portfolio import BorrowerFacts


def contact_key(campaign: str, local_day: str) -> str:
    return f"{campaign}:{local_day}"


def due_contacts(strategy: Strategy, placed: Iterable[tuple[BorrowerFacts, Placement]],
                 histories: dict[str, ContactHistory], paused: frozenset[str], now: datetime) -> list[ContactPlan]:
    due = []
    for facts, placement in placed:
        campaign = placement.campaign
        if campaign is None or campaign in paused:
            continue
        treatment = placement.treatment
        local = now.astimezone(ZoneInfo(facts.timezone))
        if not treatment.in_preferred_hours(local.time()):
            continue
        history = histories.get(facts.borrower_id, ContactHistory(None, 0))
        if history.last_contacted_at is not None:
            last_day = history.last_contacted_at.astimezone(local.tzinfo).date()
            if (local.date() - last_day).days < treatment.every_days:
                continue
        due.append(ContactPlan(
            borrower_id=facts.borrower_id, account_id=facts.account_id, campaign=campaign,
            segment=placement.segment, contact_key=contact_key(campaign, local.date().isoformat()),
            channel=treatment.channel_for(history.contacts_in_segment), script=treatment.script))
    return due


def placement_reason(facts: BorrowerFacts) -> str:
    """Why the borrower is where they are, in the words a supervisor reads in the history."""
    parts = [f"days past due {facts.days_past_due}", f"balance {facts.balance_cents / 100:.2f}",
             f"tier {facts.risk_tier}"]
    if facts.broken_promises:
        parts.append(f"{facts.broken_promises} broken promise(s)")
    if facts.open_dispute:
        parts.append("open dispute")
    if facts.hardship:
        parts.append("hardship claim")
    if facts.contact_stopped:
        parts.append("contact stopped")
    if facts.days_since_contact is not None:
        parts.append(f"{facts.days_since_contact} days since the last conversation")
    return ", ".join(parts)

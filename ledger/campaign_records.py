"""The campaign worker's records in the ledger: segment history, paused campaigns, and each contact it decided on.

    records = CampaignRecords(session_factory)
    records.place(borrower_id, account_id, "dpd_1_30", "days past due 1", now)   # a SegmentChange if it moved
    attempt = records.claim_contact(plan, now)        # None when this contact was already made (another worker)
    records.finish_contact(attempt.attempt_id, "sent", now, provider_id="SM…")

`claim_contact` is the guard that makes a contact at most once: the row (borrower, contact key) is unique, so of
two workers, or a worker re-running a job after a crash, only the first to insert it goes on.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledger.errors import NotFound
from ledger.models import (
    CAMPAIGN_CONTACT_STATUSES, CallbackRequest, CampaignContact, CampaignState, ConversationRecord, PromiseToPay,
    SegmentChange,
)
from ledger.references import mask_reference

# A contact in one of these states may be tried again under the same key (no line was free).
RETRYABLE_STATUSES = ("deferred",)
# What counts as having contacted (or tried to contact) the borrower, for the cadence. An `unknown` contact (the
# worker stopped between its claim and its outcome) may have gone out: it counts, so nobody is contacted early.
CONTACTED_STATUSES = ("sent", "dialled", "answered", "no_answer", "busy", "failed", "canceled", "machine", "unknown")
# Contacts the console breaks down by reason: refused by the policy or failed closed (nothing sent), or cut off by a
# crash between claim and outcome (perhaps sent).
BY_REASON_STATUSES = ("refused", "error", "unknown")
ABANDONED_REASON = "unknown_after_crash"


@dataclass(frozen=True)
class SegmentChangeView:
    borrower_id: str
    account_id: str
    segment: str
    previous_segment: str | None
    reason: str
    changed_at: datetime


@dataclass(frozen=True)
class ContactPlan:
    borrower_id: str
    account_id: str
    campaign: str
    segment: str
    contact_key: str
    channel: str  # call | message
    script: str


@dataclass(frozen=True)
class CampaignContactView:
    attempt_id: str
    borrower_id: str
    account_id: str
    campaign: str
    segment: str
    contact_key: str
    channel: str
    script: str
    status: str
    reason: str
    provider_id: str | None
    planned_at: datetime
    updated_at: datetime


@dataclass
class CampaignCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # reason -> count (BY_REASON_STATUSES)
    promised: int = 0

    @property
    def attempted(self) -> int:
        return sum(self.by_status.get(status, 0) for status in CONTACTED_STATUSES)

    @property
    def reached(self) -> int:
        return self.by_status.get("answered", 0)


@dataclass(frozen=True)
class ContactHistory:
    """Per borrower: the last contact counted for the cadence, and how many contacts since the segment began."""
    last_contacted_at: datetime | None
    contacts_in_segment: int


def _contact_view(row: CampaignContact) -> CampaignContactView:
    return CampaignContactView(row.attempt_id, row.borrower_id, row.account_id, row.campaign, row.segment,
                               row.contact_key, row.channel, row.script, row.status, row.reason, row.provider_id,
                               row.planned_at, row.updated_at)


class CampaignRecords:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    # --- segments -------------------------------------------------------------------------------

    def current_segments(self, borrower_ids: Iterable[str] | None = None) -> dict[str, SegmentChangeView]:
        with self._sessions() as session:
            latest = select(SegmentChange.borrower_id, func.max(SegmentChange.id).label("last")).group_by(
                SegmentChange.borrower_id)
            if borrower_ids is not None:
                latest = latest.where(SegmentChange.borrower_id.in_(list(borrower_ids)))
            latest = latest.subquery()
            rows = session.scalars(select(SegmentChange).join(latest, SegmentChange.id == latest.c.last))
            return {row.borrower_id: _segment_view(row) for row in rows}

    def place(self, borrower_id: str, account_id: str, segment: str, reason: str, at: datetime) -> SegmentChangeView | None:
        """Record that the borrower is now in `segment`; None (nothing written) when already there."""
        with self._sessions.begin() as session:
            current = session.scalars(select(SegmentChange).where(SegmentChange.borrower_id == borrower_id)
                                      .order_by(SegmentChange.id.desc()).limit(1)).first()
            if current is not None and current.segment == segment and current.account_id == account_id:
                return None
            row = SegmentChange(borrower_id=borrower_id, account_id=account_id, segment=segment,
                                previous_segment=current.segment if current else None, reason=reason, changed_at=at)
            session.add(row)
            session.flush()
            return _segment_view(row)

    def segment_history(self, borrower_id: str) -> tuple[SegmentChangeView, ...]:
        with self._sessions() as session:
            rows = session.scalars(select(SegmentChange).where(SegmentChange.borrower_id == borrower_id)
                                   .order_by(SegmentChange.id))
            return tuple(_segment_view(row) for row in rows)

    # --- campaigns ------------------------------------------------------------------------------

    def set_campaign_status(self, campaign: str, status: str, changed_by: str, at: datetime) -> None:
        with self._sessions.begin() as session:
            row = session.get(CampaignState, campaign)
            if row is None:
                session.add(CampaignState(campaign=campaign, status=status, changed_by=changed_by, changed_at=at))
            else:
                row.status, row.changed_by, row.changed_at = status, changed_by, at

    def paused_campaigns(self) -> frozenset[str]:
        with self._sessions() as session:
            return frozenset(session.scalars(select(CampaignState.campaign).where(CampaignState.status == "paused")))

    # --- contacts -------------------------------------------------------------------------------

    def histories(self, borrower_ids: Iterable[str], segments: dict[str, SegmentChangeView]) -> dict[str, ContactHistory]:
        """The cadence facts of each borrower, in two queries for the whole portfolio."""
        ids = list(borrower_ids)
        with self._sessions() as session:
            rows = session.execute(
                select(CampaignContact.borrower_id, CampaignContact.segment, CampaignContact.planned_at).where(
                    CampaignContact.borrower_id.in_(ids), CampaignContact.status.in_(CONTACTED_STATUSES))).all()
        last: dict[str, datetime] = {}
        in_segment: dict[str, int] = {}
        for borrower_id, segment, planned_at in rows:
            if borrower_id not in last or planned_at > last[borrower_id]:
                last[borrower_id] = planned_at
            placed = segments.get(borrower_id)
            if placed is not None and segment == placed.segment and planned_at >= placed.changed_at:
                in_segment[borrower_id] = in_segment.get(borrower_id, 0) + 1
        return {borrower_id: ContactHistory(last.get(borrower_id), in_segment.get(borrower_id, 0)) for borrower_id in ids}

    def claim_contact(self, plan: ContactPlan, at: datetime) -> CampaignContactView | None:
        """Insert the contact as planned, or take over a deferred one; None when it exists in any other state."""
        with self._sessions.begin() as session:
            existing = self._by_key(session, plan.borrower_id, plan.contact_key)
            if existing is not None:
                if existing.status not in RETRYABLE_STATUSES:
                    return None
                existing.status, existing.updated_at = "planned", at
                return _contact_view(existing)
            try:
                with session.begin_nested():
                    row = CampaignContact(
                        attempt_id=uuid.uuid4().hex, borrower_id=plan.borrower_id, account_id=plan.account_id,
                        campaign=plan.campaign, segment=plan.segment, contact_key=plan.contact_key,
                        channel=plan.channel, script=plan.script, status="planned", planned_at=at, updated_at=at)
                    session.add(row)
            except IntegrityError:
                return None  # another worker inserted it first
            return _contact_view(row)

    def finish_contact(self, attempt_id: str, status: str, at: datetime, *, reason: str = "",
                       provider_id: str | None = None) -> CampaignContactView:
        if status not in CAMPAIGN_CONTACT_STATUSES:
            raise ValueError(f"unknown contact status {status!r}")
        with self._sessions.begin() as session:
            row = session.get(CampaignContact, attempt_id)
            if row is None:
                raise NotFound(f"no campaign contact {mask_reference(attempt_id)}")
            if status == "dialled" and row.status != "planned":
                status, reason = row.status, row.reason  # the carrier's final word arrived before the dialer's
            row.status, row.reason, row.updated_at = status, reason, at
            if provider_id is not None:
                row.provider_id = provider_id
            return _contact_view(row)

    def close_abandoned(self, claimed_before: datetime, at: datetime) -> list[CampaignContactView]:
        """Contacts still `planned` (claimed, no outcome) since before `claimed_before`: their worker stopped between
        the claim and the outcome (a SIGKILL, a lost machine), and no job takes a claimed contact over. Each becomes
        `unknown` (it may have gone out: it counts for the cadence), on the record with the reason."""
        with self._sessions.begin() as session:
            rows = list(session.scalars(select(CampaignContact).where(
                CampaignContact.status == "planned", CampaignContact.updated_at < claimed_before).with_for_update()))
            for row in rows:
                row.status, row.reason, row.updated_at = "unknown", ABANDONED_REASON, at
            return [_contact_view(row) for row in rows]

    def get_contact(self, attempt_id: str) -> CampaignContactView | None:
        with self._sessions() as session:
            row = session.get(CampaignContact, attempt_id)
            return _contact_view(row) if row else None

    def contacts_for(self, borrower_id: str) -> tuple[CampaignContactView, ...]:
        with self._sessions() as session:
            rows = session.scalars(select(CampaignContact).where(CampaignContact.borrower_id == borrower_id)
                                   .order_by(CampaignContact.planned_at, CampaignContact.attempt_id))
            return tuple(_contact_view(row) for row in rows)

    def campaign_counts(self, since: datetime) -> dict[str, CampaignCounts]:
        """Per campaign, what happened to the contacts planned since `since` (the console's live counts)."""
        with self._sessions() as session:
            rows = session.execute(
                select(CampaignContact.campaign, CampaignContact.status, CampaignContact.reason, func.count())
                .where(CampaignContact.planned_at >= since)
                .group_by(CampaignContact.campaign, CampaignContact.status, CampaignContact.reason)).all()
            # A promise counts for a campaign when it was made in a conversation one of its contacts opened: a call
            # the dialer placed is the conversation of its attempt id; a chat opened from a reminder's link names the
            # reminder's attempt on its record (conversations.campaign_attempt_id).
            opened_by_reminder = select(ConversationRecord.conversation_id).where(
                ConversationRecord.campaign_attempt_id == CampaignContact.attempt_id)
            promised = session.execute(
                select(CampaignContact.campaign, func.count(func.distinct(PromiseToPay.id))).join(
                    PromiseToPay, or_(PromiseToPay.conversation_id == CampaignContact.attempt_id,
                                      PromiseToPay.conversation_id.in_(opened_by_reminder))).where(
                    CampaignContact.planned_at >= since)
                .group_by(CampaignContact.campaign)).all()
        counts: dict[str, CampaignCounts] = {}
        for campaign, status, reason, count in rows:
            entry = counts.setdefault(campaign, CampaignCounts())
            entry.by_status[status] = entry.by_status.get(status, 0) + count
            if status in BY_REASON_STATUSES:
                entry.refused[reason] = entry.refused.get(reason, 0) + count
        for campaign, count in promised:
            counts.setdefault(campaign, CampaignCounts()).promised = count
        return counts

    def borrowers_in_segments(self) -> dict[str, int]:
        """segment -> how many borrowers are in it now."""
        current = self.current_segments()
        tally: dict[str, int] = {}
        for placed in current.values():
            tally[placed.segment] = tally.get(placed.segment, 0) + 1
        return tally

    def already_decided(self, plans: Iterable[ContactPlan]) -> set[tuple[str, str]]:
        """(borrower, contact key) of the plans a contact row already settles (anything but a deferred one)."""
        keys = {(plan.borrower_id, plan.contact_key) for plan in plans}
        if not keys:
            return set()
        with self._sessions() as session:
            rows = session.execute(select(CampaignContact.borrower_id, CampaignContact.contact_key).where(
                CampaignContact.contact_key.in_({key for _, key in keys}),
                CampaignContact.status.not_in(RETRYABLE_STATUSES))).all()
        return {(borrower_id, key) for borrower_id, key in rows} & keys

    def due_callbacks(self, now: datetime, grace: timedelta) -> list[tuple[int, str]]:
        """(callback id, borrower id) of callbacks booked for the last `grace` up to now that no contact has taken:
        a callback missed by more than that (the worker was down for a day) is left to a person, not made late."""
        with self._sessions() as session:
            rows = session.execute(select(CallbackRequest.id, CallbackRequest.borrower_id).where(
                CallbackRequest.callback_at <= now, CallbackRequest.callback_at > now - grace)
                .order_by(CallbackRequest.callback_at)).all()
            if not rows:
                return []
            taken = set(session.scalars(select(CampaignContact.contact_key).where(
                CampaignContact.contact_key.in_([callback_key(callback_id) for callback_id, _ in rows]))))
        return [(callback_id, borrower_id) for callback_id, borrower_id in rows
                if callback_key(callback_id) not in taken]

    @staticmethod
    def _by_key(session: Session, borrower_id: str, contact_key: str) -> CampaignContact | None:
        return session.scalars(select(CampaignContact).where(
            CampaignContact.borrower_id == borrower_id, CampaignContact.contact_key == contact_key)).first()


def callback_key(callback_id: int) -> str:
    return f"callback:{callback_id}"


def _segment_view(row: SegmentChange) -> SegmentChangeView:
    return SegmentChangeView(row.borrower_id, row.account_id, row.segment, row.previous_segment, row.reason,
                             row.changed_at)

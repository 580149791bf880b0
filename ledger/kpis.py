"""The supervisor's KPIs, computed from the ledger and the audit trail for a range of local days.

Every figure is a count or a sum over rows of one table inside the range; each row (a contact, a conversation, a
promise, a payment, a block...) is labelled with the five dimensions a supervisor slices by:

    day       the local day it happened (the zone given, Asia/Shanghai by default)
    segment   the borrower's strategy segment then (the contact's own segment; else the latest segment change before)
    channel   phone (calls and phone conversations), message (reminders sent), webchat, wechat... as recorded
    campaign  the outbound campaign whose contact it was, or whose contact last reached the borrower before it
              (payments, settlements, stop requests); "none" when no campaign contact came first
    agent     the console agent who took the conversation's handoff (handoff_requests.taken_by); "human" when a
              person wrote in it but who is not on record; else "bot"

Rows are read in the range and counted here, in Python, so the same code runs on SQLite and PostgreSQL and the
day boundaries follow the zone exactly. Roll rates are the portfolio's (only the segment filter applies).
The definitions of the rates are in RATES below, and the README's "KPI dashboard".

A new figure (quality-review scores, say) is a count in COUNTS, a rate over counts in RATES if it is one, and the
Facts that carry it from its table in _facts; the API, the CSV and the breakdown pick it up from there.
"""
from __future__ import annotations

import bisect
import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.campaign_records import CONTACTED_STATUSES
from ledger.models import (
    CHECKLIST_ITEMS, AuditRecord, CampaignContact, Claim, Complaint, ConversationRecord, DoNotContact, FollowUpEvent,
    HandoffRequest, LoanAccount, Payment, PromiseToPay, QualityReview, ReviewItem, ReviewRequest, SegmentChange,
)

DIMENSIONS = ("day", "segment", "channel", "campaign", "agent")
MAX_DAYS = 366
NONE = "none"
# Days-past-due buckets the roll rates move between, in order; "settled" is where a cured account goes.
BUCKETS = ("current", "dpd_1_30", "dpd_31_60", "dpd_61_90", "dpd_90_plus")
ROLL_TARGETS = BUCKETS + ("settled",)

# name: (numerator, denominator, kind) over the counts below; kind says how the page shows it.
RATES: dict[str, tuple[str, str, str]] = {
    "contact_rate": ("calls_answered", "calls_placed", "percent"),
    "right_party_contact_rate": ("conversations_verified", "conversations", "percent"),
    "promise_to_pay_rate": ("conversations_with_promise", "conversations_verified", "percent"),
    "kept_promise_rate": ("promises_kept", "promises_judged", "percent"),
    "recovery_rate": ("recovered_cents", "promised_cents", "percent"),
    "handoff_rate": ("conversations_with_handoff", "conversations", "percent"),
    "average_handoff_wait_seconds": ("handoff_wait_seconds", "handoffs_answered", "seconds"),
    "average_days_to_cure": ("days_to_cure", "accounts_cured", "days"),
    "complaint_rate": ("complaints", "conversations", "percent"),
    "compliant_review_rate": ("reviews_passed", "reviews", "percent"),
}
COUNTS = (
    "contact_attempts", "calls_placed", "calls_answered", "messages_sent", "conversations", "conversations_verified",
    "conversations_with_promise", "promises", "promised_cents", "promises_kept", "promises_broken", "promises_judged",
    "recovered_cents", "payments", "conversations_with_handoff", "handoffs_answered", "handoff_wait_seconds",
    "blocks", "blocks_bot", "blocks_agent", "disputes", "complaints", "stop_requests", "accounts_cured",
    "days_to_cure", "reviews", "reviews_passed",
)


class KpiRequestError(ValueError):
    """A range or a dimension the dashboard cannot answer (the API's 422)."""


@dataclass(frozen=True)
class KpiQuery:
    start: date
    end: date  # inclusive
    zone: str = "Asia/Shanghai"
    by: str = "day"
    filters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise KpiRequestError("end is before start")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise KpiRequestError(f"at most {MAX_DAYS} days")
        if self.by not in DIMENSIONS:
            raise KpiRequestError(f"by must be one of {DIMENSIONS}")
        unknown = set(self.filters) - set(DIMENSIONS) - {""}
        if unknown:
            raise KpiRequestError(f"unknown filter {sorted(unknown)}")
        try:
            ZoneInfo(self.zone)
        except Exception as error:  # ZoneInfoNotFoundError, or a malformed key
            raise KpiRequestError(f"unknown time zone {self.zone!r}") from error

    def bounds(self) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.zone)
        return (datetime.combine(self.start, time(), zone).astimezone(UTC),
                datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC))


@dataclass
class Fact:
    dims: dict[str, str]
    counts: Counter
    rules: Counter = field(default_factory=Counter)  # compliance blocks by rule
    speakers: Counter = field(default_factory=Counter)  # compliance blocks by speaker (bot / agent)


def rates_of(counts: Mapping[str, float]) -> dict[str, float | None]:
    """Each rate from its numerator and denominator; None where the denominator is zero (shown as —)."""
    return {name: (counts.get(numerator, 0) / counts[denominator] if counts.get(denominator) else None)
            for name, (numerator, denominator, _) in RATES.items()}


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "dpd_1_30"
    if days_past_due <= 60:
        return "dpd_31_60"
    if days_past_due <= 90:
        return "dpd_61_90"
    return "dpd_90_plus"


class _Context:
    """What labels a row: segments over time, campaign contacts, who spoke in which conversation."""

    def __init__(self, session: Session, zone: ZoneInfo, until: datetime) -> None:
        self.zone = zone
        self.segments: dict[str, tuple[list[datetime], list[str]]] = defaultdict(lambda: ([], []))
        for borrower_id, segment, moment in session.execute(
                select(SegmentChange.borrower_id, SegmentChange.segment, SegmentChange.changed_at)
                .where(SegmentChange.changed_at < until).order_by(SegmentChange.changed_at, SegmentChange.id)):
            times, names = self.segments[borrower_id]
            times.append(moment)
            names.append(segment)
        self.contacts = {row.attempt_id: row for row in session.scalars(
            select(CampaignContact).where(CampaignContact.planned_at < until))}
        # Each borrower's contacts that reached them (answered or sent), in time order: for last-touch attribution.
        self.touches: dict[str, list[CampaignContact]] = defaultdict(list)
        for row in sorted(self.contacts.values(), key=lambda c: c.planned_at):
            if row.status in ("answered", "sent"):
                self.touches[row.borrower_id].append(row)
        self.human = set(session.scalars(select(AuditRecord.conversation_id).where(
            AuditRecord.speaker == "agent", AuditRecord.created_at < until).distinct()))
        self.human |= set(session.scalars(select(HandoffRequest.conversation_id).where(
            HandoffRequest.status.in_(("taken", "served", "transferred")))))
        # Who took it, where the desk recorded it (the first taker: the one a supervisor answers to).
        self.taker: dict[str, str] = {}
        for conversation_id, taken_by in session.execute(
                select(HandoffRequest.conversation_id, HandoffRequest.taken_by)
                .where(HandoffRequest.taken_by.is_not(None)).order_by(HandoffRequest.created_at, HandoffRequest.id)):
            self.taker.setdefault(conversation_id, taken_by)
        self.conversations = {row.conversation_id: row for row in session.scalars(
            select(ConversationRecord).where(ConversationRecord.started_at < until))}

    def day(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()

    def agent(self, conversation_id: str) -> str:
        if conversation_id in self.taker:
            return self.taker[conversation_id]
        return "human" if conversation_id in self.human else "bot"

    def segment_at(self, borrower_id: str | None, moment: datetime) -> str:
        if borrower_id is None or borrower_id not in self.segments:
            return NONE
        times, names = self.segments[borrower_id]
        index = bisect.bisect_right(times, moment)
        return names[index - 1] if index else NONE

    def last_touch(self, borrower_id: str | None, moment: datetime) -> CampaignContact | None:
        before = [c for c in self.touches.get(borrower_id or "", ()) if c.planned_at <= moment]
        return before[-1] if before else None

    def conversation_dims(self, conversation_id: str, borrower_id: str | None, channel: str | None,
                          moment: datetime) -> dict[str, str]:
        """A conversation's labels: its campaign contact's (an outbound call has the attempt's id; a chat opened from a
        reminder's link names the reminder's on its record), else its own."""
        record = self.conversations.get(conversation_id)
        opened_by = record.campaign_attempt_id if record else None
        contact = self.contacts.get(conversation_id) or self.contacts.get(opened_by or "")
        borrower_id = borrower_id or (record.borrower_id if record else None)
        return {
            "day": self.day(moment),
            "segment": contact.segment if contact else self.segment_at(borrower_id, moment),
            "channel": channel or (record.channel if record else NONE),
            "campaign": contact.campaign if contact else NONE,
            "agent": self.agent(conversation_id),
        }

    def touch_dims(self, borrower_id: str | None, moment: datetime) -> dict[str, str]:
        """Labels of something that happened to an account (a payment, a settlement): its last campaign touch."""
        touch = self.last_touch(borrower_id, moment)
        return {
            "day": self.day(moment), "segment": self.segment_at(borrower_id, moment),
            "channel": _channel(touch.channel) if touch else NONE, "campaign": touch.campaign if touch else NONE,
            "agent": self.agent(touch.attempt_id) if touch else "bot",
        }


def _channel(contact_channel: str) -> str:
    return "phone" if contact_channel == "call" else contact_channel


def _facts(session: Session, query: KpiQuery) -> tuple[list[Fact], _Context]:
    since, until = query.bounds()
    context = _Context(session, ZoneInfo(query.zone), until)
    facts: list[Fact] = []

    def inside(moment: datetime) -> bool:
        return since <= moment < until

    for contact in context.contacts.values():
        if contact.status in CONTACTED_STATUSES and inside(contact.planned_at):
            call = contact.channel == "call"
            facts.append(Fact({"day": context.day(contact.planned_at), "segment": contact.segment,
                               "channel": _channel(contact.channel), "campaign": contact.campaign, "agent": "bot"},
                              Counter(contact_attempts=1, calls_placed=int(call), messages_sent=int(not call),
                                      calls_answered=int(call and contact.status == "answered"))))
    promised = set(session.scalars(select(PromiseToPay.conversation_id).distinct()))
    handed: dict[str, HandoffRequest] = {}  # each conversation's first handoff request
    for row in session.scalars(select(HandoffRequest).order_by(HandoffRequest.created_at, HandoffRequest.id)):
        handed.setdefault(row.conversation_id, row)
    for record in context.conversations.values():
        if inside(record.started_at):
            verified = bool(record.identity_verified)
            facts.append(Fact(
                context.conversation_dims(record.conversation_id, record.borrower_id, record.channel, record.started_at),
                Counter(conversations=1, conversations_verified=int(verified),
                        conversations_with_promise=int(verified and record.conversation_id in promised),
                        conversations_with_handoff=int(record.conversation_id in handed))))
    for promise in session.scalars(select(PromiseToPay).where(PromiseToPay.created_at >= since,
                                                              PromiseToPay.created_at < until)):
        judged = promise.status in ("kept", "broken")
        facts.append(Fact(context.conversation_dims(promise.conversation_id, None, None, promise.created_at),
                          Counter(promises=1, promised_cents=promise.amount_cents,
                                  promises_kept=int(promise.status == "kept"),
                                  promises_broken=int(promise.status == "broken"), promises_judged=int(judged))))
    accounts = {row.account_id: row for row in session.scalars(select(LoanAccount))}
    for payment in session.scalars(select(Payment).where(Payment.paid_at >= since, Payment.paid_at < until)):
        borrower_id = accounts[payment.account_id].borrower_id
        facts.append(Fact(context.touch_dims(borrower_id, payment.paid_at),
                          Counter(payments=1, recovered_cents=payment.applied_cents)))
    facts += _handoff_facts(session, context, handed, inside, until)
    for record in session.scalars(select(AuditRecord).where(
            AuditRecord.allowed.is_(False), AuditRecord.created_at >= since, AuditRecord.created_at < until)):
        dims = context.conversation_dims(record.conversation_id, record.borrower_id, record.channel, record.created_at)
        # Who said the blocked words: the bot, or the person (named when the desk recorded who took it).
        dims["agent"] = context.agent(record.conversation_id) if record.speaker == "agent" else "bot"
        facts.append(Fact(dims, Counter(blocks=1, blocks_bot=int(record.speaker == "bot"),
                                        blocks_agent=int(record.speaker == "agent")),
                          rules=Counter(json.loads(record.rules or "[]")), speakers=Counter([record.speaker])))
    for claim in session.scalars(select(Claim).where(Claim.kind == "dispute", Claim.created_at >= since,
                                                     Claim.created_at < until)):
        facts.append(Fact(context.conversation_dims(claim.conversation_id, claim.borrower_id, None, claim.created_at),
                          Counter(disputes=1)))
    for request in session.scalars(select(ReviewRequest).where(
            ReviewRequest.kind == "dispute", ReviewRequest.created_at >= since, ReviewRequest.created_at < until)):
        facts.append(Fact(context.conversation_dims(request.conversation_id, request.borrower_id, request.channel,
                                                    request.created_at), Counter(disputes=1)))
    for complaint in session.scalars(select(Complaint).where(Complaint.created_at >= since,
                                                             Complaint.created_at < until)):
        facts.append(Fact(context.conversation_dims(complaint.conversation_id, complaint.borrower_id, complaint.channel,
                                                    complaint.created_at), Counter(complaints=1)))
    # Quality reviews scored in the range (ledger.quality_review): passed when no checklist item failed.
    for review, item in session.execute(select(QualityReview, ReviewItem).join(
            ReviewItem, ReviewItem.id == QualityReview.item_id).where(
            QualityReview.reviewed_at >= since, QualityReview.reviewed_at < until)):
        passed = all(getattr(review, mark) != "fail" for mark in CHECKLIST_ITEMS)
        facts.append(Fact(context.conversation_dims(item.conversation_id, item.borrower_id, item.channel,
                                                    review.reviewed_at), Counter(reviews=1, reviews_passed=int(passed))))
    for stop in session.scalars(select(DoNotContact).where(DoNotContact.created_at >= since,
                                                           DoNotContact.created_at < until)):
        facts.append(Fact(context.touch_dims(stop.borrower_id, stop.created_at), Counter(stop_requests=1)))
    for event in session.scalars(select(FollowUpEvent).where(
            FollowUpEvent.kind == "account_settled", FollowUpEvent.occurred_at >= since,
            FollowUpEvent.occurred_at < until)):
        overdue = (event.occurred_at.astimezone(context.zone).date() - accounts[event.account_id].due_date).days
        if overdue > 0:  # settled before or on the due date: nothing was cured
            facts.append(Fact(context.touch_dims(event.borrower_id, event.occurred_at),
                              Counter(accounts_cured=1, days_to_cure=overdue)))
    return facts, context


def _handoff_facts(session: Session, context: _Context, first_requests: Mapping[str, HandoffRequest],
                   inside, until: datetime) -> list[Fact]:
    """Waits: from the first handoff request of a conversation to the first words a person wrote in it after."""
    answered: dict[str, datetime] = {}
    # Every agent's line, not an IN list of conversations: a year of handoffs would pass SQLite's parameter limit.
    for conversation_id, moment in session.execute(
            select(AuditRecord.conversation_id, AuditRecord.created_at).where(
                AuditRecord.speaker == "agent", AuditRecord.created_at < until).order_by(AuditRecord.created_at)):
        request = first_requests.get(conversation_id)
        if request is not None and moment >= request.created_at:
            answered.setdefault(conversation_id, moment)
    facts = []
    for conversation_id, moment in answered.items():
        request = first_requests[conversation_id]
        if inside(request.created_at):
            facts.append(Fact(context.conversation_dims(conversation_id, request.borrower_id, None, request.created_at),
                              Counter(handoffs_answered=1,
                                      handoff_wait_seconds=(moment - request.created_at).total_seconds())))
    return facts


def _roll_rates(session: Session, query: KpiQuery, context: _Context) -> dict[str, Any]:
    """Accounts by bucket on the first day against their bucket (or settled) on the last day."""
    since, until = query.bounds()
    settled_at = {event.account_id: event.occurred_at for event in session.scalars(
        select(FollowUpEvent).where(FollowUpEvent.kind == "account_settled"))}
    wanted = query.filters.get("segment")
    matrix: dict[str, Counter] = {bucket: Counter() for bucket in BUCKETS}
    for account in session.scalars(select(LoanAccount)):
        settled = settled_at.get(account.account_id)
        if settled is not None and settled < since:
            continue  # no longer in any bucket when the range starts
        if wanted and context.segment_at(account.borrower_id, since) != wanted:
            continue
        start_bucket = bucket_of((query.start - account.due_date).days)
        end_bucket = "settled" if settled is not None and settled < until else bucket_of((query.end - account.due_date).days)
        matrix[start_bucket][end_bucket] += 1
    rates = {}
    for index, bucket in enumerate(BUCKETS[:-1]):
        total = sum(matrix[bucket].values())
        rates[f"{bucket}->{BUCKETS[index + 1]}"] = matrix[bucket][BUCKETS[index + 1]] / total if total else None
    return {"buckets": list(BUCKETS), "targets": list(ROLL_TARGETS),
            "matrix": {bucket: {target: matrix[bucket][target] for target in ROLL_TARGETS} for bucket in BUCKETS},
            "rates": rates}


def _figures(counts: Counter) -> dict[str, Any]:
    return {**{name: counts.get(name, 0) for name in COUNTS}, **rates_of(counts)}


def compute_kpis(sessions: sessionmaker[Session], query: KpiQuery) -> dict[str, Any]:
    """Totals, one row per value of `query.by`, blocks by rule and speaker, roll rates, and the values each
    dimension takes in the range (for the page's filters), after applying `query.filters`."""
    with sessions() as session:
        facts, context = _facts(session, query)
        roll = _roll_rates(session, query, context)
    options = {dim: sorted({fact.dims[dim] for fact in facts}) for dim in DIMENSIONS if dim != "day"}
    filters = {dim: value for dim, value in query.filters.items() if value}
    chosen = [fact for fact in facts if all(fact.dims[dim] == value for dim, value in filters.items())]
    totals, rules, speakers = Counter(), Counter(), Counter()
    groups: dict[str, Counter] = defaultdict(Counter)
    if query.by == "day":  # every day of the range has a row, the empty ones too
        for offset in range((query.end - query.start).days + 1):
            groups[(query.start + timedelta(days=offset)).isoformat()]
    for fact in chosen:
        totals.update(fact.counts)
        groups[fact.dims[query.by]].update(fact.counts)
        rules.update(fact.rules)
        speakers.update(fact.speakers)
    return {
        "start": query.start.isoformat(), "end": query.end.isoformat(), "zone": query.zone, "by": query.by,
        "filters": filters, "totals": _figures(totals),
        "rows": [{"key": key, **_figures(groups[key])} for key in sorted(groups)],
        "blocks": {"by_rule": dict(rules.most_common()), "by_speaker": dict(speakers)},
        "roll_rates": roll, "options": options,
    }


def kpis_csv(report: Mapping[str, Any]) -> str:
    """The report's rows and its total as CSV: one column per count and rate (rates as fractions, blank for none)."""
    columns = [report["by"], *COUNTS, *RATES]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in [*report["rows"], {"key": "total", **report["totals"]}]:
        writer.writerow([row["key"], *(_cell(row[name]) for name in columns[1:])])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class Kpis:
    """The dashboard's reader over one ledger (the gateway holds one)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def report(self, query: KpiQuery) -> dict[str, Any]:
        return compute_kpis(self._sessions, query)

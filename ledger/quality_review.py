"""Quality review (质检) in the ledger: which conversations a reviewer reads and why, their scores against the
checklist, who opened which transcript, and the results per agent, script and day (for the dashboard).

The queue is filled from durable records only, so a conversation can be reviewed long after Redis and Rasa have
forgotten it. A conversation is chosen once (review_items is UNIQUE per conversation) with every rule it meets:
- compliance_block: the compliance filter blocked something the bot or an agent tried to say (audit_records);
- distress / dispute: a handoff for that reason, an unverified party's request of that kind, a dispute claim;
- complaint: the party complained about being contacted (complaints, written by the action that answers it) or asked
  to stop (do_not_contact set from the conversation, or an unverified party's do_not_contact request);
- verification_lockout: an identity answer refused because the check was locked, or a failure that locked it;
- not_understood: the bot handed off because it kept misunderstanding (handoff reason nlu_fallback);
- sample_agent / sample_script: a seeded random draw per agent and per script (ledger/review.yml says how).
Scores: one review per item; a second reviewer's save is refused (AlreadyReviewed), never merged or overwritten, so
what the dashboard counts is what the first reviewer decided; a correction is a supervisor's matter outside the app.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chinese_text.dates import DEFAULT_TIMEZONE
from configuration.files import load_yaml_model
from ledger.errors import NotFound
from ledger.models import (
    CHECKLIST_ITEMS, CHECKLIST_MARKS, REVIEW_RULES, AuditRecord, CampaignContact, Claim, Complaint, DoNotContact,
    HandoffRequest, IdentityCheck, QualityReview, ReviewItem, ReviewRequest, TranscriptView,
)
from ledger.repository import Ledger

DEFAULT_REVIEW_FILE = Path(__file__).with_name("review.yml")
# Review days are the collections office's days (the lenders' and most borrowers' zone), not UTC's: a conversation at
# 07:00 in Shanghai belongs to that day's work, not to the day before.
REVIEW_ZONE = ZoneInfo(DEFAULT_TIMEZONE)
MAX_NOTES_CHARS = 4000
BOT = "bot"  # the agent of a conversation no console agent took
INBOUND = "inbound"  # the script of a conversation no campaign contact opened
_CHUNK = 500  # ids per IN (...) list
# How far back a routine fill looks (the worker's daily job, `python -m bot.console fill-review`): two days, so a
# conversation still going when one day's fill ran (not quiet yet) is chosen by the next day's.
RECENT = timedelta(days=2)

Rate = Annotated[float, Field(ge=0, le=1)]


class SamplingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: str = Field(min_length=1, max_length=64)
    default_rate: Rate
    agent_rates: dict[str, Rate] = {}
    script_rates: dict[str, Rate] = {}
    quiet_minutes: int = Field(ge=0, le=24 * 60)

    def rate_for(self, stratum: str, name: str) -> float:
        rates = self.agent_rates if stratum == "agent" else self.script_rates
        return rates.get(name, self.default_rate)


def load_sampling(path: Path = DEFAULT_REVIEW_FILE) -> SamplingPolicy:
    return load_yaml_model(path, SamplingPolicy)


def draw(seed: str, stratum: str, name: str, conversation_id: str) -> float:
    """A number in [0, 1) fixed by the seed and the conversation: the same seed always picks the same ones."""
    digest = hashlib.sha256(f"{seed}:{stratum}:{name}:{conversation_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class AlreadyReviewed(Exception):
    def __init__(self, reviewer: str) -> None:
        super().__init__(f"already reviewed by {reviewer}")
        self.reviewer = reviewer


class InvalidReview(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Reason:
    rule: str
    detail: str


@dataclass(frozen=True)
class ReviewView:
    reviewer: str
    marks: dict[str, str]
    notes: str
    reviewed_at: datetime


@dataclass(frozen=True)
class ReviewItemView:
    item_id: int
    conversation_id: str
    borrower_id: str | None
    channel: str
    agent: str
    script: str
    day: date
    reasons: tuple[Reason, ...]
    sample_rate: float | None
    sample_seed: str | None
    selected_at: datetime
    review: ReviewView | None


@dataclass(frozen=True)
class ReviewResult:
    """Reviews of one day's conversations of one agent and script: how many were chosen and reviewed, how many
    reviews failed at least one item, and per checklist item the pass/fail/na counts."""
    day: date
    agent: str
    script: str
    chosen: int
    reviewed: int
    failed: int
    marks: dict[str, dict[str, int]]


@dataclass(frozen=True)
class _Candidate:
    conversation_id: str
    borrower_id: str | None
    channel: str
    first_at: datetime


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _review_view(row: QualityReview) -> ReviewView:
    return ReviewView(row.reviewer, {item: getattr(row, item) for item in CHECKLIST_ITEMS}, row.notes, row.reviewed_at)


def _item_view(row: ReviewItem, review: QualityReview | None) -> ReviewItemView:
    reasons = tuple(Reason(reason["rule"], reason["detail"]) for reason in json.loads(row.reasons))
    return ReviewItemView(row.id, row.conversation_id, row.borrower_id, row.channel, row.agent, row.script, row.day,
                          reasons, row.sample_rate, row.sample_seed, row.selected_at,
                          _review_view(review) if review is not None else None)


class QualityReviewBook:
    def __init__(self, session_factory: sessionmaker[Session], ledger: Ledger, sampling: SamplingPolicy) -> None:
        self._sessions = session_factory
        self._ledger = ledger  # its identity-check lockout rule, not a copy of it
        self.sampling = sampling

    # --- filling the queue -------------------------------------------------------------------------------------

    def fill_queue(self, since: datetime, until: datetime, now: datetime) -> int:
        """Chooses, among conversations that said something in [since, until) and have been quiet for
        `quiet_minutes` by `now`, those the rules or the sample pick and that are not chosen yet; returns how many."""
        for moment in (since, until, now):
            if moment.tzinfo is None:
                raise ValueError("since, until and now must be timezone-aware")
        candidates = self._candidates(since, until, now - timedelta(minutes=self.sampling.quiet_minutes))
        if not candidates:
            return 0
        ids = list(candidates)
        with self._sessions() as session:
            hits = self._rule_hits(session, candidates)
            agents = self._agents(session, ids)
            scripts = self._scripts(session, ids)
        added = 0
        for conversation_id, candidate in candidates.items():
            agent, script = agents.get(conversation_id, BOT), scripts.get(conversation_id, INBOUND)
            reasons = [Reason(rule, detail) for rule, detail in sorted(
                hits.get(conversation_id, {}).items(), key=lambda hit: REVIEW_RULES.index(hit[0]))]
            sample_rate = None
            for stratum, name, rule in (("agent", agent, "sample_agent"), ("script", script, "sample_script")):
                rate = self.sampling.rate_for(stratum, name)
                drawn = draw(self.sampling.seed, stratum, name, conversation_id)
                if drawn < rate:
                    reasons.append(Reason(rule, f"{stratum} {name}: draw {drawn:.4f} < rate {rate}"))
                    sample_rate = rate if sample_rate is None else max(sample_rate, rate)
            if reasons and self._add(candidate, agent, script, reasons, sample_rate, now):
                added += 1
        return added

    def fill_recent(self, now: datetime, lookback: timedelta = RECENT) -> int:
        """The routine fill: conversations of the last `lookback` up to `now`. Run it as often as you like: a
        conversation is chosen once, so a second run the same day adds only what has gone quiet since."""
        return self.fill_queue(now - lookback, now, now)

    def _candidates(self, since: datetime, until: datetime, quiet_since: datetime) -> dict[str, _Candidate]:
        with self._sessions() as session:
            # What the chain notes about a conversation afterwards (a recording played) is not the conversation.
            spoken = AuditRecord.speaker != "system"
            in_window = session.scalars(select(AuditRecord.conversation_id).where(
                AuditRecord.created_at >= since, AuditRecord.created_at < until, spoken).distinct()).all()
            chosen = set()
            for chunk in _chunks(list(in_window)):
                chosen.update(session.scalars(select(ReviewItem.conversation_id)
                                              .where(ReviewItem.conversation_id.in_(chunk))))
            open_ids = [cid for cid in in_window if cid not in chosen]
            candidates: dict[str, _Candidate] = {}
            for chunk in _chunks(open_ids):
                rows = session.execute(select(
                    AuditRecord.conversation_id, func.max(AuditRecord.borrower_id), func.min(AuditRecord.channel),
                    func.min(AuditRecord.created_at), func.max(AuditRecord.created_at),
                ).where(AuditRecord.conversation_id.in_(chunk), spoken).group_by(AuditRecord.conversation_id))
                for cid, borrower_id, channel, first_at, last_at in rows:
                    if _aware(last_at) <= quiet_since:
                        candidates[cid] = _Candidate(cid, borrower_id, channel, _aware(first_at))
            return dict(sorted(candidates.items(), key=lambda item: (item[1].first_at, item[0])))

    def _rule_hits(self, session: Session, candidates: dict[str, _Candidate]) -> dict[str, dict[str, str]]:
        hits: dict[str, dict[str, list[str]]] = {}

        def hit(conversation_id: str, rule: str, detail: str) -> None:
            details = hits.setdefault(conversation_id, {}).setdefault(rule, [])
            if detail not in details:
                details.append(detail)

        for chunk in _chunks(list(candidates)):
            for cid, speaker, rules in session.execute(select(
                    AuditRecord.conversation_id, AuditRecord.speaker, AuditRecord.rules).where(
                    AuditRecord.conversation_id.in_(chunk), AuditRecord.allowed.is_(False)).order_by(AuditRecord.id)):
                hit(cid, "compliance_block", f"{speaker}: {', '.join(json.loads(rules)) or 'blocked'}")
            for cid, reason in session.execute(select(HandoffRequest.conversation_id, HandoffRequest.reason).where(
                    HandoffRequest.conversation_id.in_(chunk),
                    HandoffRequest.reason.in_(("distress", "dispute", "nlu_fallback")))):
                rule = "not_understood" if reason == "nlu_fallback" else reason
                hit(cid, rule, "handed to a person" if rule != "not_understood"
                    else "the bot kept misunderstanding and handed to a person")
            for cid, kind in session.execute(select(ReviewRequest.conversation_id, ReviewRequest.kind).where(
                    ReviewRequest.conversation_id.in_(chunk),
                    ReviewRequest.kind.in_(("distress", "dispute", "do_not_contact")))):
                rule = "complaint" if kind == "do_not_contact" else kind
                hit(cid, rule, "an unverified party asked to stop contact" if rule == "complaint"
                    else "said by a party whose identity was not verified")
            for cid in session.scalars(select(Claim.conversation_id).where(
                    Claim.conversation_id.in_(chunk), Claim.kind == "dispute")):
                hit(cid, "dispute", "dispute claim recorded")
            for cid, said in session.execute(select(Complaint.conversation_id, Complaint.said).where(
                    Complaint.conversation_id.in_(chunk))):
                hit(cid, "complaint", f"complained about being contacted: {said}" if said
                    else "complained about being contacted")
            failed: dict[str, tuple[str, datetime]] = {}
            for cid, borrower_id, result, at in session.execute(select(
                    IdentityCheck.conversation_id, IdentityCheck.borrower_id, IdentityCheck.result,
                    IdentityCheck.checked_at).where(IdentityCheck.conversation_id.in_(chunk),
                                                    IdentityCheck.result.in_(("failed", "locked_out")))
                    .order_by(IdentityCheck.checked_at)):
                if result == "locked_out":
                    hit(cid, "verification_lockout", "an identity answer was refused: checks locked")
                else:
                    failed[cid] = (borrower_id, _aware(at))
            for cid, (borrower_id, at) in failed.items():
                if self._ledger.verification_locked_until(borrower_id, at) is not None:
                    hit(cid, "verification_lockout", "failed identity answers locked the checks")
        self._complaints(session, candidates, hit)
        return {cid: {rule: "; ".join(details) for rule, details in rules.items()} for cid, rules in hits.items()}

    @staticmethod
    def _complaints(session: Session, candidates: dict[str, _Candidate], hit) -> None:
        """A verified borrower's stop request names no conversation (do_not_contact is per borrower): it belongs to
        the borrower's conversation in which it was set, i.e. the last one started before it, within a day."""
        borrowers = sorted({c.borrower_id for c in candidates.values() if c.borrower_id})
        for chunk in _chunks(borrowers):
            for borrower_id, at in session.execute(select(DoNotContact.borrower_id, DoNotContact.created_at).where(
                    DoNotContact.borrower_id.in_(chunk), DoNotContact.source.like("%:borrower"))):
                at = _aware(at)
                started = [c for c in candidates.values()
                           if c.borrower_id == borrower_id and c.first_at <= at < c.first_at + timedelta(days=1)]
                if started:
                    hit(max(started, key=lambda c: c.first_at).conversation_id, "complaint",
                        "the borrower asked to stop being contacted")

    @staticmethod
    def _agents(session: Session, ids: list[str]) -> dict[str, str]:
        agents: dict[str, str] = {}
        for chunk in _chunks(ids):
            for cid, agent in session.execute(select(HandoffRequest.conversation_id, HandoffRequest.taken_by).where(
                    HandoffRequest.conversation_id.in_(chunk), HandoffRequest.taken_by.is_not(None))
                    .order_by(HandoffRequest.id)):
                agents.setdefault(cid, agent)  # the first agent who took it
        return agents

    @staticmethod
    def _scripts(session: Session, ids: list[str]) -> dict[str, str]:
        """A campaign call's attempt id is its conversation id (campaigns.dialer)."""
        scripts: dict[str, str] = {}
        for chunk in _chunks(ids):
            scripts.update(session.execute(select(CampaignContact.attempt_id, CampaignContact.script)
                                           .where(CampaignContact.attempt_id.in_(chunk))).tuples().all())
        return scripts

    def _add(self, candidate: _Candidate, agent: str, script: str, reasons: list[Reason], sample_rate: float | None,
             now: datetime) -> bool:
        try:
            with self._sessions.begin() as session:
                session.add(ReviewItem(
                    conversation_id=candidate.conversation_id, borrower_id=candidate.borrower_id,
                    channel=candidate.channel, agent=agent, script=script, day=candidate.first_at.astimezone(REVIEW_ZONE).date(),
                    reasons=json.dumps([{"rule": r.rule, "detail": r.detail} for r in reasons], ensure_ascii=False),
                    sample_rate=sample_rate, sample_seed=self.sampling.seed if sample_rate is not None else None,
                    selected_at=now))
        except IntegrityError:
            return False  # another run chose it at the same moment
        return True

    # --- reading and scoring -----------------------------------------------------------------------------------

    def items(self, status: str | None = "pending", limit: int = 200) -> list[ReviewItemView]:
        """Items oldest conversation first; status pending (not reviewed yet), reviewed, or None for all."""
        if status not in ("pending", "reviewed", None):
            raise ValueError("status must be pending, reviewed or None")
        with self._sessions() as session:
            query = select(ReviewItem, QualityReview).outerjoin(QualityReview, QualityReview.item_id == ReviewItem.id)
            if status == "pending":
                query = query.where(QualityReview.id.is_(None))
            elif status == "reviewed":
                query = query.where(QualityReview.id.is_not(None))
            rows = session.execute(query.order_by(ReviewItem.day, ReviewItem.id).limit(limit)).all()
            return [_item_view(item, review) for item, review in rows]

    def item(self, item_id: int) -> ReviewItemView | None:
        with self._sessions() as session:
            row = session.get(ReviewItem, item_id)
            if row is None:
                return None
            review = session.scalars(select(QualityReview).where(QualityReview.item_id == item_id)).first()
            return _item_view(row, review)

    def transcript(self, conversation_id: str) -> list[dict]:
        """Everything said, from the audit trail: what was tried and blocked, with the rules, and what was sent (not
        the chain's own notes: a recording's hash, its playbacks)."""
        with self._sessions() as session:
            rows = session.scalars(select(AuditRecord).where(AuditRecord.conversation_id == conversation_id,
                                                             AuditRecord.speaker != "system").order_by(AuditRecord.id))
            return [{"speaker": row.speaker, "text": row.text, "at": _aware(row.created_at).isoformat(),
                     "allowed": row.allowed, "rules": json.loads(row.rules)} for row in rows]

    def log_view(self, item_id: int, viewer: str, at: datetime) -> None:
        with self._sessions.begin() as session:
            if session.get(ReviewItem, item_id) is None:
                raise NotFound(f"no review item {item_id}")
            session.add(TranscriptView(item_id=item_id, viewer=viewer, viewed_at=at))

    def views_of(self, item_id: int) -> list[tuple[str, datetime]]:
        with self._sessions() as session:
            return [(viewer, _aware(at)) for viewer, at in session.execute(
                select(TranscriptView.viewer, TranscriptView.viewed_at).where(TranscriptView.item_id == item_id)
                .order_by(TranscriptView.id))]

    def save_review(self, item_id: int, reviewer: str, marks: dict[str, str], notes: str, at: datetime) -> ReviewView:
        """Raises NotFound, InvalidReview (bad marks, notes too long, the reviewer's own conversation) or
        AlreadyReviewed (someone saved first; theirs stands)."""
        if set(marks) != set(CHECKLIST_ITEMS) or any(mark not in CHECKLIST_MARKS for mark in marks.values()):
            raise InvalidReview("bad_marks", f"mark each of {', '.join(CHECKLIST_ITEMS)} as one of "
                                             f"{', '.join(CHECKLIST_MARKS)}")
        if len(notes) > MAX_NOTES_CHARS:
            raise InvalidReview("notes_too_long", f"notes are at most {MAX_NOTES_CHARS} characters")
        try:
            with self._sessions.begin() as session:
                item = session.get(ReviewItem, item_id)
                if item is None:
                    raise NotFound(f"no review item {item_id}")
                if item.agent == reviewer:
                    raise InvalidReview("own_conversation", "nobody reviews a conversation they handled")
                row = QualityReview(item_id=item_id, reviewer=reviewer, notes=notes, reviewed_at=at, **marks)
                session.add(row)
                session.flush()
                return _review_view(row)
        except IntegrityError:
            existing = self.item(item_id)
            if existing is None or existing.review is None:
                raise
            raise AlreadyReviewed(existing.review.reviewer) from None

    # --- results for the dashboard -----------------------------------------------------------------------------

    def results(self, first_day: date, last_day: date) -> list[ReviewResult]:
        """Per day (of the conversation), agent and script, from first_day to last_day inclusive."""
        failed_any = case((or_(*[getattr(QualityReview, item) == "fail" for item in CHECKLIST_ITEMS]), 1), else_=0)
        columns = [func.count(ReviewItem.id), func.count(QualityReview.id), func.sum(failed_any)]
        for item in CHECKLIST_ITEMS:
            for mark in CHECKLIST_MARKS:
                columns.append(func.sum(case((getattr(QualityReview, item) == mark, 1), else_=0)))
        keys = (ReviewItem.day, ReviewItem.agent, ReviewItem.script)
        with self._sessions() as session:
            rows = session.execute(select(*keys, *columns)
                                   .outerjoin(QualityReview, QualityReview.item_id == ReviewItem.id)
                                   .where(ReviewItem.day >= first_day, ReviewItem.day <= last_day)
                                   .group_by(*keys).order_by(*keys)).all()
        results = []
        for day, agent, script, chosen, reviewed, failed, *counts in rows:
            marks, counts = {}, iter(int(count or 0) for count in counts)
            for item in CHECKLIST_ITEMS:
                marks[item] = {mark: next(counts) for mark in CHECKLIST_MARKS}
            results.append(ReviewResult(day, agent, script, chosen, reviewed, int(failed or 0), marks))
        return results


def day_start(day: date) -> datetime:
    """Midnight opening a review day."""
    return datetime.combine(day, time.min, tzinfo=REVIEW_ZONE)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def reasons_json(reasons: Iterable[Reason]) -> list[dict[str, str]]:
    return [{"rule": reason.rule, "detail": reason.detail} for reason in reasons]

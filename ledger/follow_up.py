"""Follow-up on what a borrower agreed to: promises to pay kept or broken, plan instalments paid or missed, and
reminders the day before either falls due. Everything that changes is also written as a `FollowUpEvent`, the
outbox the campaign strategy re-segments borrowers from (`events_after`).

Dates are the borrower's own (Borrower.timezone). A promise or instalment dated D is judged at the borrower's
local midnight after D + grace_days (policy.yml follow_up.grace_days), and a payment counts toward it when it
was paid before that moment:

- a promise is kept as soon as the payments on its account paid since it was made cover its whole amount, and
  broken when it is judged without that. A partial payment does not keep a promise: it is broken, and its
  promise_broken event carries paid_cents (what was paid toward it) so the strategy can tell "paid part" from
  "paid nothing"; the payment itself has already re-segmented the borrower (payment_received). Payments count
  toward every open promise on the account whose window they fall in: two promises that overlap in time (a
  borrower restating a promise in a second call) can be kept by the same payment.
- an instalment is paid as soon as payments allocated to it (ledger.payments: earliest due first) cover it,
  and missed when it is judged without that. A later payment still goes to a missed instalment first.
- when an account is settled, what is left open on it (promises, instalments) is cancelled, not broken or
  missed: nothing is owed any more. Cancelling makes no event; account_settled already says it.

Each account is judged in its own transaction, holding the account's lock (`lock_account`, also taken by every
payment), so a payment and a judgement never interleave, and running `settle_due` twice, or in two workers at
once, judges each promise and instalment once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.errors import NotFound
from ledger.models import (
    Borrower,
    FollowUpEvent,
    InstalmentOutcome,
    InstalmentPlan,
    InstalmentPlanItem,
    LoanAccount,
    Payment,
    PaymentInstalmentAllocation,
    PromiseToPay,
)
from ledger.policy import CollectionPolicy
from ledger.references import mask_reference
from ledger.views import DueReminder, FollowUpEventView

log = logging.getLogger(__name__)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(_zone(timezone)).date()


def judgement_time(day: date, timezone: str, grace_days: int) -> datetime:
    """The borrower's local midnight after `day` + grace days: when a promise or instalment dated `day` is
    judged, and before which a payment counts toward it."""
    return datetime.combine(day + timedelta(days=grace_days + 1), time(0), _zone(timezone)).astimezone(UTC)


def lock_account(session: Session, account_id: str) -> LoanAccount:
    """Serialises everything that moves an account's money or follow-up (payments, judgements). A write comes
    first: SQLite takes its write lock only on a write (and then reads what was committed before it), PostgreSQL
    locks the row."""
    touched = session.execute(update(LoanAccount).where(LoanAccount.account_id == account_id)
                              .values(status=LoanAccount.status))
    if touched.rowcount == 0:
        raise NotFound(f"no account {mask_reference(account_id)}")
    return session.get(LoanAccount, account_id, populate_existing=True)


# Any constant: the key of the PostgreSQL advisory lock that orders event writers (record_event).
_EVENT_ORDER_LOCK = 0x666F6C6C6F77


def record_event(session: Session, account: LoanAccount, kind: str, reference: str, at: datetime,
                 amount_cents: int | None = None, paid_cents: int | None = None) -> FollowUpEvent:
    if session.get_bind().dialect.name == "postgresql":
        # Ids come from a sequence when rows are inserted, not when they commit: without this, a reader could pass
        # id 11 while id 10 is still uncommitted and never see it. Held to commit, so event ids commit in order
        # (SQLite has one writer at a time anyway).
        session.execute(select(func.pg_advisory_xact_lock(_EVENT_ORDER_LOCK)))
    event = FollowUpEvent(kind=kind, borrower_id=account.borrower_id, account_id=account.account_id,
                          reference=reference, amount_cents=amount_cents, paid_cents=paid_cents, occurred_at=at)
    session.add(event)
    session.flush()
    log.info("follow-up %s account=%s", kind, mask_reference(account.account_id))
    return event


def event_view(row: FollowUpEvent) -> FollowUpEventView:
    return FollowUpEventView(row.id, row.kind, row.borrower_id, row.account_id, row.reference, row.amount_cents,
                             row.paid_cents, row.occurred_at)


def instalment_reference(plan_id: int, seq: int) -> str:
    return f"{plan_id}/{seq}"


def paid_toward_promise(session: Session, promise: PromiseToPay, until: datetime | None = None) -> int:
    """What was paid on the promise's account since it was made; with `until`, only before it."""
    query = select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.account_id == promise.account_id, Payment.paid_at >= promise.created_at)
    if until is not None:
        query = query.where(Payment.paid_at < until)
    return session.scalar(query)


def paid_toward_instalment(session: Session, item: InstalmentPlanItem, until: datetime | None = None) -> int:
    """What payments allocated to the instalment; with `until`, only those paid before it."""
    query = (select(func.coalesce(func.sum(PaymentInstalmentAllocation.amount_cents), 0))
             .join(Payment, Payment.payment_id == PaymentInstalmentAllocation.payment_id)
             .where(PaymentInstalmentAllocation.plan_id == item.plan_id, PaymentInstalmentAllocation.seq == item.seq))
    if until is not None:
        query = query.where(Payment.paid_at < until)
    return session.scalar(query)


def _judged(*outcomes: str):
    """Correlated EXISTS: the instalment has an outcome (one of `outcomes`, when given)."""
    query = select(InstalmentOutcome.plan_id).where(
        InstalmentOutcome.plan_id == InstalmentPlanItem.plan_id, InstalmentOutcome.seq == InstalmentPlanItem.seq)
    if outcomes:
        query = query.where(InstalmentOutcome.outcome.in_(outcomes))
    return query.exists()


def _accepted_instalments(account_id: str):
    return (select(InstalmentPlanItem).join(InstalmentPlan, InstalmentPlan.id == InstalmentPlanItem.plan_id)
            .where(InstalmentPlan.account_id == account_id, InstalmentPlan.status == "accepted")
            .order_by(InstalmentPlanItem.due_date, InstalmentPlanItem.plan_id, InstalmentPlanItem.seq))


def open_instalments(session: Session, account_id: str) -> list[InstalmentPlanItem]:
    """Instalments of the account's accepted plans not yet judged, earliest due first."""
    return list(session.scalars(_accepted_instalments(account_id).where(~_judged())))


def instalments_owing(session: Session, account_id: str) -> list[tuple[InstalmentPlanItem, int]]:
    """Instalments a payment goes to, earliest due first, with what is still owed on each: those not yet judged
    and those missed (arrears are paid first), less what payments already covered."""
    owing = []
    for item in session.scalars(_accepted_instalments(account_id).where(~_judged("paid", "cancelled"))):
        owed = item.amount_cents - paid_toward_instalment(session, item)
        if owed > 0:
            owing.append((item, owed))
    return owing


def settle_account(session: Session, account: LoanAccount, now: datetime, grace_days: int) -> list[FollowUpEvent]:
    """Judges the account's open promises and instalments at `now`; the caller holds `lock_account`."""
    timezone = session.get(Borrower, account.borrower_id).timezone
    settled = account.status == "settled"
    events = []
    for promise in session.scalars(select(PromiseToPay).where(
            PromiseToPay.account_id == account.account_id, PromiseToPay.status == "open").order_by(PromiseToPay.id)):
        deadline = judgement_time(promise.promised_date, timezone, grace_days)
        paid = paid_toward_promise(session, promise, deadline)
        if paid >= promise.amount_cents:
            status = "kept"
        elif settled:
            status = "cancelled"
        elif now >= deadline:
            status = "broken"
        else:
            continue
        # Compare-and-set: the status moves from open once, whoever else is judging.
        moved = session.execute(update(PromiseToPay).where(PromiseToPay.id == promise.id, PromiseToPay.status == "open")
                                .values(status=status).execution_options(synchronize_session=False)).rowcount
        if moved and status != "cancelled":
            events.append(record_event(session, account, f"promise_{status}", str(promise.id), now,
                                       promise.amount_cents, paid))
    for item in open_instalments(session, account.account_id):
        deadline = judgement_time(item.due_date, timezone, grace_days)
        paid = paid_toward_instalment(session, item, deadline)
        if paid >= item.amount_cents:
            outcome = "paid"
        elif settled:
            outcome = "cancelled"
        elif now >= deadline:
            outcome = "missed"
        else:
            continue
        session.add(InstalmentOutcome(plan_id=item.plan_id, seq=item.seq, outcome=outcome, paid_cents=paid,
                                      decided_at=now))
        if outcome != "cancelled":
            events.append(record_event(session, account, f"instalment_{outcome}",
                                       instalment_reference(item.plan_id, item.seq), now, item.amount_cents, paid))
    return events


class FollowUp:
    """The campaign worker's entry to follow-up: `settle_due` each tick, `due_tomorrow` for reminders, and
    `events_after` to read what changed since the last event it handled."""

    def __init__(self, session_factory: sessionmaker[Session], policy: CollectionPolicy) -> None:
        self._sessions = session_factory
        self._grace_days = policy.follow_up.grace_days

    def settle_due(self, now: datetime) -> list[FollowUpEventView]:
        """Judges every promise and instalment whose judgement time has come by `now`; returns the events this
        call recorded (none for what an earlier call already judged)."""
        _require_aware(now, "now")
        # No time zone is more than a day ahead of UTC, so nothing dated after this can be due anywhere yet.
        latest = now.astimezone(UTC).date() - timedelta(days=self._grace_days)
        with self._sessions() as session:
            promised = select(PromiseToPay.account_id).where(
                PromiseToPay.status == "open", PromiseToPay.promised_date <= latest)
            scheduled = select(InstalmentPlan.account_id).join(
                InstalmentPlanItem, InstalmentPlanItem.plan_id == InstalmentPlan.id).where(
                InstalmentPlan.status == "accepted", InstalmentPlanItem.due_date <= latest, ~_judged())
            account_ids = sorted(set(session.scalars(promised.union(scheduled))))
        events: list[FollowUpEventView] = []
        for account_id in account_ids:
            with self._sessions.begin() as session:
                account = lock_account(session, account_id)
                events += [event_view(row) for row in settle_account(session, account, now, self._grace_days)]
        return events

    def due_tomorrow(self, now: datetime) -> list[DueReminder]:
        """Open promises and instalments on collecting accounts that fall due on the borrower's next local day
        and are not yet covered by payments; whether the borrower may be contacted is the contact policy's to
        decide."""
        _require_aware(now, "now")
        utc_today = now.astimezone(UTC).date()
        window = (utc_today, utc_today + timedelta(days=2))  # tomorrow, wherever the borrower is
        reminders = []
        with self._sessions() as session:
            promises = session.execute(
                select(PromiseToPay, LoanAccount.borrower_id, Borrower.timezone)
                .join(LoanAccount, LoanAccount.account_id == PromiseToPay.account_id)
                .join(Borrower, Borrower.borrower_id == LoanAccount.borrower_id)
                .where(PromiseToPay.status == "open", LoanAccount.status == "collecting",
                       PromiseToPay.promised_date.between(*window))
                .order_by(PromiseToPay.promised_date, PromiseToPay.id))
            for promise, borrower_id, timezone in promises:
                if promise.promised_date != local_today(now, timezone) + timedelta(days=1):
                    continue
                owed = promise.amount_cents - paid_toward_promise(session, promise)
                if owed > 0:
                    reminders.append(DueReminder(borrower_id, promise.account_id, "promise", str(promise.id),
                                                 promise.promised_date, owed))
            items = session.execute(
                select(InstalmentPlanItem, LoanAccount.account_id, LoanAccount.borrower_id, Borrower.timezone)
                .join(InstalmentPlan, InstalmentPlan.id == InstalmentPlanItem.plan_id)
                .join(LoanAccount, LoanAccount.account_id == InstalmentPlan.account_id)
                .join(Borrower, Borrower.borrower_id == LoanAccount.borrower_id)
                .where(InstalmentPlan.status == "accepted", LoanAccount.status == "collecting", ~_judged(),
                       InstalmentPlanItem.due_date.between(*window))
                .order_by(InstalmentPlanItem.due_date, InstalmentPlanItem.plan_id, InstalmentPlanItem.seq))
            for item, account_id, borrower_id, timezone in items:
                if item.due_date != local_today(now, timezone) + timedelta(days=1):
                    continue
                owed = item.amount_cents - paid_toward_instalment(session, item)
                if owed > 0:
                    reminders.append(DueReminder(borrower_id, account_id, "instalment",
                                                 instalment_reference(item.plan_id, item.seq), item.due_date, owed))
        return reminders

    def events_after(self, after_id: int = 0, limit: int = 500) -> list[FollowUpEventView]:
        """Events with an id above `after_id`, oldest first: a reader keeps the last id it handled and resumes
        there after a restart."""
        with self._sessions() as session:
            rows = session.scalars(select(FollowUpEvent).where(FollowUpEvent.id > after_id)
                                   .order_by(FollowUpEvent.id).limit(limit))
            return [event_view(row) for row in rows]

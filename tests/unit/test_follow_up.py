"""ledger.follow_up on SQLite and PostgreSQL: promises kept or broken and instalments paid or missed at the
borrower's own midnight (Shanghai UTC+8, New York UTC-5), partial payments, the grace days, reminders for the
next local day, settlement, idempotency and two workers settling at once."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from ledger.follow_up import FollowUp
from ledger.models import InstalmentOutcome, LoanAccount, PromiseToPay
from ledger.payments import Payments
from ledger.policy import load_policy
from ledger.repository import Ledger
from tests.unit.ledger_accounts import add_account, add_promise
from tests.unit.ledger_databases import session_factory  # noqa: F401 - a fixture: each test on SQLite and PostgreSQL

POLICY = load_policy()
GRACE_0 = POLICY.model_copy(update={"follow_up": POLICY.follow_up.model_copy(update={"grace_days": 0})})
MADE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DUE = date(2026, 11, 25)
# With one grace day a promise dated the 25th is judged at the borrower's midnight starting the 27th.
SHANGHAI_JUDGED = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 2026-11-27 00:00 +08:00
NEW_YORK_JUDGED = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 2026-11-27 00:00 -05:00


@pytest.fixture
def sessions(session_factory):
    add_account(session_factory, "SH", timezone="Asia/Shanghai", fees=1_000, interest=9_000, principal=90_000)
    add_account(session_factory, "NY", timezone="America/New_York", fees=1_000, interest=9_000, principal=90_000)
    return session_factory


def pay(sessions, payment_id, account_id, cents, paid_at):
    return Payments(sessions, POLICY, clock=lambda: paid_at).record(payment_id, account_id, cents, "CNY", paid_at, "api")


def kinds(found):
    return [(event.kind, event.account_id, event.paid_cents) for event in found]


def promise_status(sessions, promise_id):
    with sessions() as session:
        return session.get(PromiseToPay, promise_id).status


def test_each_borrower_is_judged_at_their_own_midnight(sessions):
    shanghai = add_promise(sessions, "SH", 20_000, DUE, MADE)
    new_york = add_promise(sessions, "NY", 20_000, DUE, MADE)
    follow_up = FollowUp(sessions, POLICY)
    assert follow_up.settle_due(SHANGHAI_JUDGED - timedelta(seconds=1)) == []
    assert kinds(follow_up.settle_due(SHANGHAI_JUDGED)) == [("promise_broken", "SH", 0)]
    assert (promise_status(sessions, shanghai), promise_status(sessions, new_york)) == ("broken", "open")
    assert follow_up.settle_due(NEW_YORK_JUDGED - timedelta(seconds=1)) == []
    assert kinds(follow_up.settle_due(NEW_YORK_JUDGED)) == [("promise_broken", "NY", 0)]


def test_without_grace_a_promise_is_judged_when_its_day_ends(sessions):
    add_promise(sessions, "SH", 20_000, DUE, MADE)
    follow_up = FollowUp(sessions, GRACE_0)
    assert follow_up.settle_due(datetime(2026, 11, 25, 15, 59, tzinfo=UTC)) == []
    assert kinds(follow_up.settle_due(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))) == [("promise_broken", "SH", 0)]


def test_a_promise_paid_in_full_is_kept_as_soon_as_the_payment_arrives(sessions):
    promise = add_promise(sessions, "SH", 20_000, DUE, MADE)
    pay(sessions, "P1", "SH", 12_000, MADE + timedelta(hours=1))
    assert promise_status(sessions, promise) == "open"
    pay(sessions, "P2", "SH", 8_000, MADE + timedelta(hours=2))
    assert promise_status(sessions, promise) == "kept"
    assert FollowUp(sessions, POLICY).settle_due(NEW_YORK_JUDGED) == []
    kept = [event for event in FollowUp(sessions, POLICY).events_after(0) if event.kind == "promise_kept"]
    assert [(event.reference, event.amount_cents, event.paid_cents) for event in kept] == [(str(promise), 20_000, 20_000)]


def test_a_partial_payment_breaks_the_promise_and_says_how_much_was_paid(sessions):
    promise = add_promise(sessions, "SH", 20_000, DUE, MADE)
    pay(sessions, "P1", "SH", 15_000, MADE + timedelta(days=1))
    assert kinds(FollowUp(sessions, POLICY).settle_due(SHANGHAI_JUDGED)) == [("promise_broken", "SH", 15_000)]
    assert promise_status(sessions, promise) == "broken"


def test_what_counts_is_paid_after_the_promise_and_before_its_judgement(sessions):
    before = add_promise(sessions, "SH", 5_000, DUE, MADE)
    pay(sessions, "EARLY", "SH", 5_000, MADE - timedelta(minutes=1))  # paid before the promise was made
    assert promise_status(sessions, before) == "open"
    within_grace = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 on the 26th in Shanghai: the grace day
    pay(sessions, "GRACE", "SH", 5_000, within_grace)
    assert promise_status(sessions, before) == "kept"

    late = add_promise(sessions, "NY", 5_000, DUE, MADE)
    # Paid after its judgement time, before the worker ran: too late to keep it; the payment's arrival judges it.
    pay(sessions, "LATE", "NY", 5_000, NEW_YORK_JUDGED + timedelta(minutes=1))
    assert promise_status(sessions, late) == "broken"
    follow_up = FollowUp(sessions, POLICY)
    assert kinds(follow_up.events_after(0))[-1] == ("promise_broken", "NY", 0)
    assert follow_up.settle_due(NEW_YORK_JUDGED + timedelta(minutes=2)) == []


def test_settling_twice_judges_once(sessions):
    add_promise(sessions, "SH", 20_000, DUE, MADE)
    add_promise(sessions, "NY", 20_000, DUE, MADE)
    follow_up = FollowUp(sessions, POLICY)
    assert len(follow_up.settle_due(NEW_YORK_JUDGED)) == 2
    assert follow_up.settle_due(NEW_YORK_JUDGED) == []
    assert follow_up.settle_due(NEW_YORK_JUDGED + timedelta(days=30)) == []
    assert len(follow_up.events_after(0)) == 2


def test_two_workers_settling_at_once_record_each_event_once(sessions):
    for n in range(10):
        add_promise(sessions, ("SH", "NY")[n % 2], 1_000 + n, DUE, MADE)
    follow_up = FollowUp(sessions, POLICY)
    start, found, failures = threading.Barrier(2), [], []

    def worker():
        start.wait()
        try:
            found.extend(follow_up.settle_due(NEW_YORK_JUDGED))
        except Exception as error:  # noqa: BLE001 - asserted on below
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted(event.reference for event in found) == sorted(
        event.reference for event in follow_up.events_after(0)) and len(found) == 10


def test_events_are_read_in_order_from_where_a_reader_stopped(sessions):
    add_promise(sessions, "SH", 20_000, DUE, MADE)
    pay(sessions, "P1", "NY", 1_000, MADE)
    follow_up = FollowUp(sessions, POLICY)
    follow_up.settle_due(SHANGHAI_JUDGED)
    first = follow_up.events_after(0, limit=1)
    assert [event.kind for event in first] == ["payment_received"]
    assert [event.kind for event in follow_up.events_after(first[-1].event_id)] == ["promise_broken"]
    assert follow_up.events_after(follow_up.events_after(0)[-1].event_id) == []


def test_reminders_are_for_the_borrowers_next_local_day(sessions):
    shanghai = add_promise(sessions, "SH", 20_000, DUE, MADE)
    new_york = add_promise(sessions, "NY", 20_000, DUE, MADE)
    follow_up = FollowUp(sessions, POLICY)
    # 18:00 on the 24th in Shanghai, 05:00 on the 24th in New York: the 25th is tomorrow for both.
    both = follow_up.due_tomorrow(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert sorted((r.account_id, r.kind, r.reference, r.due_date, r.amount_cents) for r in both) == [
        ("NY", "promise", str(new_york), DUE, 20_000), ("SH", "promise", str(shanghai), DUE, 20_000)]
    # 01:00 on the 25th in Shanghai (due today), noon on the 24th in New York.
    assert [r.account_id for r in follow_up.due_tomorrow(datetime(2026, 11, 24, 17, 0, tzinfo=UTC))] == ["NY"]
    assert follow_up.due_tomorrow(datetime(2026, 11, 22, 10, 0, tzinfo=UTC)) == []


def test_a_reminder_asks_only_for_what_is_still_owed(sessions):
    add_promise(sessions, "SH", 20_000, DUE, MADE)
    add_promise(sessions, "NY", 20_000, DUE, MADE)
    pay(sessions, "P1", "SH", 15_000, MADE + timedelta(hours=1))
    pay(sessions, "P2", "NY", 20_000, MADE + timedelta(hours=1))  # kept already: no reminder
    reminders = FollowUp(sessions, POLICY).due_tomorrow(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert [(r.account_id, r.amount_cents) for r in reminders] == [("SH", 5_000)]


def test_no_reminder_on_a_paused_account(sessions):
    add_promise(sessions, "SH", 20_000, DUE, MADE)
    with sessions.begin() as session:
        session.get(LoanAccount, "SH").status = "paused"  # a dispute paused collection
    assert FollowUp(sessions, POLICY).due_tomorrow(datetime(2026, 11, 24, 10, 0, tzinfo=UTC)) == []


def _plan(sessions, account_id, first_due):
    ledger = Ledger(sessions, POLICY)
    return ledger.accept_plan(ledger.propose_plan(account_id, "conv-plan", 3, first_due).plan_id)


def test_instalments_are_paid_or_missed_in_the_borrowers_time_zone(sessions):
    plan = _plan(sessions, "NY", DUE)
    (_, first), (second_due, second), _ = plan.items
    pay(sessions, "P1", "NY", first + 100, MADE)
    follow_up = FollowUp(sessions, POLICY)
    assert kinds(follow_up.events_after(0))[-1] == ("instalment_paid", "NY", first)
    second_judged = datetime.combine(second_due + timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=5)
    reminders = follow_up.due_tomorrow(datetime.combine(second_due - timedelta(days=1), datetime.min.time(), UTC)
                                       + timedelta(hours=17))  # noon in New York the day before
    assert [(r.kind, r.reference, r.amount_cents) for r in reminders] == [
        ("instalment", f"{plan.plan_id}/2", second - 100)]
    assert follow_up.settle_due(second_judged - timedelta(seconds=1)) == []
    missed = follow_up.settle_due(second_judged)
    assert [(e.kind, e.reference, e.amount_cents, e.paid_cents) for e in missed] == [
        ("instalment_missed", f"{plan.plan_id}/2", second, 100)]
    assert follow_up.settle_due(second_judged) == []


def test_settling_the_account_cancels_what_is_left_open(sessions):
    promise = add_promise(sessions, "SH", 20_000, DUE + timedelta(days=3), MADE)
    plan = _plan(sessions, "SH", DUE)
    # The promise is kept (the payment covers it); the plan's instalments beyond the balance are cancelled.
    pay(sessions, "ALL", "SH", 100_000, MADE + timedelta(hours=1))
    assert promise_status(sessions, promise) == "kept"
    with sessions() as session:
        outcomes = session.scalars(select(InstalmentOutcome.outcome).where(InstalmentOutcome.plan_id == plan.plan_id)
                                   .order_by(InstalmentOutcome.seq)).all()
    assert outcomes[-1] == "cancelled" and "missed" not in outcomes
    follow_up = FollowUp(sessions, POLICY)
    assert [e.kind for e in follow_up.events_after(0)][:2] == ["payment_received", "account_settled"]
    assert follow_up.settle_due(datetime(2027, 6, 1, tzinfo=UTC)) == []
    assert follow_up.due_tomorrow(datetime(2026, 12, 24, 10, 0, tzinfo=UTC)) == []


def test_an_open_promise_on_a_settled_account_is_cancelled_not_broken(sessions):
    promise = add_promise(sessions, "SH", 20_000, DUE, MADE)
    pay(sessions, "BEFORE", "SH", 99_000, MADE - timedelta(hours=1))  # before the promise: does not count for it
    pay(sessions, "REST", "SH", 1_000, MADE + timedelta(hours=1))  # settles the account, covers 1,000 of 20,000
    assert promise_status(sessions, promise) == "cancelled"
    assert "promise_broken" not in [e.kind for e in FollowUp(sessions, POLICY).events_after(0)]

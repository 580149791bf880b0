"""ledger.payments on SQLite and PostgreSQL: allocation, idempotency on the lender's payment id, conflicts,
overpayment as credit, instalments, and concurrent deliveries (threads)."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from ledger.errors import NotFound, PolicyViolation
from ledger.follow_up import FollowUp
from ledger.models import FollowUpEvent, LoanAccount, Payment, PaymentAllocation
from ledger.payments import PaymentConflict, Payments
from ledger.policy import load_policy
from ledger.repository import Ledger
from tests.unit.ledger_accounts import add_account
from tests.unit.ledger_databases import session_factory  # noqa: F401 - a fixture: each test on SQLite and PostgreSQL

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
POLICY = load_policy()


@pytest.fixture
def payments(session_factory):
    add_account(session_factory, "A1", fees=5_000, interest=20_000, principal=100_000)
    return Payments(session_factory, POLICY, clock=lambda: NOW)


def balances(sessions, account_id="A1"):
    with sessions() as session:
        row = session.get(LoanAccount, account_id)
        return row.fees_cents, row.interest_cents, row.principal_cents, row.status


def events(sessions):
    with sessions() as session:
        return [(row.kind, row.reference) for row in session.scalars(select(FollowUpEvent).order_by(FollowUpEvent.id))]


def test_a_payment_pays_fees_then_interest_then_principal(payments, session_factory):
    outcome = payments.record("PAY-1", "A1", 30_000, "CNY", NOW - timedelta(hours=1), "api")
    assert outcome.created
    paid = outcome.payment
    assert paid.components == (("fees", 5_000), ("interest", 20_000), ("principal", 5_000))
    assert (paid.applied_cents, paid.credit_cents, paid.balance_after_cents) == (30_000, 0, 95_000)
    assert balances(session_factory) == (0, 0, 95_000, "collecting")
    assert events(session_factory) == [("payment_received", "PAY-1")]


def test_the_order_comes_from_the_policy(session_factory):
    add_account(session_factory, "A2", fees=5_000, interest=20_000, principal=100_000)
    principal_first = POLICY.model_copy(update={"payment_allocation": ("principal", "interest", "fees")})
    paid = Payments(session_factory, principal_first, clock=lambda: NOW).record(
        "PAY-2", "A2", 101_000, "CNY", NOW, "api").payment
    assert paid.components == (("principal", 100_000), ("interest", 1_000))
    assert balances(session_factory, "A2") == (5_000, 19_000, 0, "collecting")


def test_a_repeated_payment_returns_the_first_result_and_changes_nothing(payments, session_factory):
    first = payments.record("PAY-1", "A1", 30_000, "CNY", NOW, "api")
    # The same instant written in another offset is the same content; a CSV re-import is the same payment.
    again = payments.record("PAY-1", "A1", 30_000, "CNY", NOW.astimezone(timezone(timedelta(hours=8))), "csv")
    assert not again.created and again.payment == first.payment
    assert again.payment.source == "api"
    assert balances(session_factory) == (0, 0, 95_000, "collecting")
    assert events(session_factory) == [("payment_received", "PAY-1")]


@pytest.mark.parametrize("change", [
    {"amount_cents": 30_001}, {"account_id": "A9"}, {"currency": "USD"}, {"paid_at": NOW - timedelta(seconds=1)}])
def test_the_same_id_with_other_content_is_a_conflict_and_changes_nothing(payments, session_factory, change):
    add_account(session_factory, "A9", fees=0, interest=0, principal=50_000, currency="USD")
    payments.record("PAY-1", "A1", 30_000, "CNY", NOW, "api")
    reported = {"payment_id": "PAY-1", "account_id": "A1", "amount_cents": 30_000, "currency": "CNY",
                "paid_at": NOW, "source": "api"} | change
    with pytest.raises(PaymentConflict):
        payments.record(**reported)
    assert balances(session_factory) == (0, 0, 95_000, "collecting")
    assert balances(session_factory, "A9") == (0, 0, 50_000, "collecting")
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_refusals_record_nothing(payments, session_factory):
    with pytest.raises(NotFound):
        payments.record("PAY-1", "NO-SUCH", 100, "CNY", NOW, "api")
    with pytest.raises(PolicyViolation, match="currency_mismatch"):
        payments.record("PAY-1", "A1", 100, "USD", NOW, "api")
    with pytest.raises(PolicyViolation, match="paid_at_in_future"):
        payments.record("PAY-1", "A1", 100, "CNY", NOW + timedelta(hours=1), "api")
    for amount, error in ((12.5, TypeError), (True, TypeError), (0, ValueError), (-100, ValueError)):
        with pytest.raises(error):
            payments.record("PAY-1", "A1", amount, "CNY", NOW, "api")
    for payment_id in ("", "x" * 65, "1' OR '1'='1", "PAY 1", "-leading-dash", None):
        with pytest.raises(ValueError):
            payments.record(payment_id, "A1", 100, "CNY", NOW, "api")
    with pytest.raises(ValueError):
        payments.record("PAY-1", "A1", 100, "CNY", NOW.replace(tzinfo=None), "api")
    with pytest.raises(ValueError):
        payments.record("PAY-1", "A1", 100, "cny", NOW, "api")
    assert payments.get("PAY-1") is None
    assert balances(session_factory) == (5_000, 20_000, 100_000, "collecting")
    assert events(session_factory) == []


def test_an_overpayment_settles_the_account_and_is_kept_as_credit(payments, session_factory):
    paid = payments.record("PAY-1", "A1", 130_000, "CNY", NOW, "api").payment
    assert (paid.applied_cents, paid.credit_cents, paid.balance_after_cents) == (125_000, 5_000, 0)
    assert balances(session_factory) == (0, 0, 0, "settled")
    late = payments.record("PAY-2", "A1", 700, "CNY", NOW, "api").payment  # the account was already settled
    assert (late.applied_cents, late.credit_cents, late.components) == (0, 700, ())
    assert events(session_factory) == [("payment_received", "PAY-1"), ("account_settled", "A1"),
                                       ("payment_received", "PAY-2")]


def test_an_exact_payment_settles_with_no_credit(payments, session_factory):
    paid = payments.record("PAY-1", "A1", 125_000, "CNY", NOW, "api").payment
    assert (paid.credit_cents, paid.balance_after_cents) == (0, 0)
    assert balances(session_factory)[3] == "settled"


def _accepted_plan(session_factory, account_id="A1"):
    ledger = Ledger(session_factory, POLICY)
    plan = ledger.propose_plan(account_id, "conv-plan", 3, date(2026, 12, 1))
    return ledger.accept_plan(plan.plan_id)


def test_a_payment_covers_the_plan_earliest_instalment_first(payments, session_factory):
    plan = _accepted_plan(session_factory)
    (first_due, first), (second_due, second), _ = plan.items
    paid = payments.record("PAY-1", "A1", first + 1_000, "CNY", NOW, "api").payment
    assert [(share.seq, share.due_date, share.amount_cents) for share in paid.instalments] == [
        (1, first_due, first), (2, second_due, 1_000)]
    # Covered in full before its date: paid at once, and the strategy hears of it.
    assert ("instalment_paid", f"{plan.plan_id}/1") in events(session_factory)
    paid = payments.record("PAY-2", "A1", 500, "CNY", NOW, "api").payment
    assert [(share.seq, share.amount_cents) for share in paid.instalments] == [(2, 500)]


def test_a_later_payment_goes_to_a_missed_instalment_first(payments, session_factory):
    plan = _accepted_plan(session_factory)
    (first_due, first), (_, second), _ = plan.items
    missed = FollowUp(session_factory, POLICY).settle_due(datetime(2026, 12, 3, 0, tzinfo=UTC))
    assert [(event.kind, event.reference, event.paid_cents) for event in missed] == [
        ("instalment_missed", f"{plan.plan_id}/1", 0)]
    late = Payments(session_factory, POLICY, clock=lambda: datetime(2026, 12, 4, tzinfo=UTC))
    paid = late.record("PAY-LATE", "A1", first + 10, "CNY", datetime(2026, 12, 4, tzinfo=UTC), "api").payment
    assert [(share.seq, share.amount_cents) for share in paid.instalments] == [(1, first), (2, 10)]


def _race(count, deliver):
    start = threading.Barrier(count)
    results, failures = [None] * count, []

    def run(index):
        start.wait()
        try:
            results[index] = deliver(index)
        except Exception as error:  # noqa: BLE001 - collected and asserted on below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results, failures


def test_concurrent_deliveries_of_one_payment_make_one_row(payments, session_factory):
    results, failures = _race(8, lambda _: payments.record("PAY-RACE", "A1", 30_000, "CNY", NOW, "api"))
    assert failures == []
    assert sum(outcome.created for outcome in results) == 1
    assert len({outcome.payment for outcome in results}) == 1
    assert balances(session_factory) == (0, 0, 95_000, "collecting")
    assert events(session_factory) == [("payment_received", "PAY-RACE")]


def test_concurrent_payments_on_one_account_lose_no_update(payments, session_factory):
    results, failures = _race(8, lambda n: payments.record(f"PAY-{n}", "A1", 10_000, "CNY", NOW, "api"))
    assert failures == [] and all(outcome.created for outcome in results)
    assert balances(session_factory) == (0, 0, 45_000, "collecting")
    with session_factory() as session:
        assert session.scalar(select(func.sum(PaymentAllocation.amount_cents))) == 80_000


def test_one_id_raced_to_two_accounts_is_recorded_once(payments, session_factory):
    add_account(session_factory, "A2", principal=50_000)
    results, failures = _race(2, lambda n: payments.record("PAY-X", ("A1", "A2")[n], 1_000, "CNY", NOW, "api"))
    assert len(failures) == 1 and isinstance(failures[0], PaymentConflict)
    winner = next(outcome for outcome in results if outcome is not None)
    loser = "A2" if winner.payment.account_id == "A1" else "A1"
    assert sum(balances(session_factory, loser)[:3]) == (125_000 if loser == "A1" else 50_000)

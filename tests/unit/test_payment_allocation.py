"""Payment allocation: money is conserved and no balance goes below zero, for any payments in any policy order
(hypothesis), in the pure split and through the ledger."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from ledger.allocation import split_over_components, split_over_instalments
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import LoanAccount, Payment, PaymentAllocation
from ledger.payments import Payments
from ledger.policy import BALANCE_COMPONENTS, load_policy
from tests.unit.ledger_accounts import add_account

ORDERS = [tuple(order) for order in permutations(BALANCE_COMPONENTS)]
cents = st.integers(min_value=0, max_value=10**9)
amounts = st.integers(min_value=1, max_value=10**9)


@given(amount=amounts, fees=cents, interest=cents, principal=cents, order=st.sampled_from(ORDERS))
def test_a_split_pays_in_order_and_conserves_the_amount(amount, fees, interest, principal, order):
    balances = {"fees": fees, "interest": interest, "principal": principal}
    split = split_over_components(amount, balances, order)
    paid = dict(split.paid)
    assert split.applied + split.credit == amount
    assert all(0 < paid[component] <= balances[component] for component in paid)
    for earlier, later in zip(order, order[1:]):
        if paid.get(later):  # a later component is paid only once every earlier one is cleared
            assert paid.get(earlier, 0) == balances[earlier]
    assert split.credit == max(0, amount - sum(balances.values()))
    assert [component for component, _ in split.paid] == [c for c in order if c in paid]


@given(amount=st.integers(min_value=0, max_value=10**7),
       owed=st.lists(st.integers(min_value=1, max_value=10**6), max_size=12))
def test_an_instalment_split_covers_the_earliest_first(amount, owed):
    covered = split_over_instalments(amount, list(enumerate(owed)))
    assert sum(cents for _, cents in covered) == min(amount, sum(owed))
    for index, (key, cents) in enumerate(covered):
        assert key == index and 0 < cents <= owed[key]
        if index < len(covered) - 1:
            assert cents == owed[key]  # only the last one touched may be partly covered


@pytest.mark.parametrize("bad", [1.5, True, "100"])
def test_money_that_is_not_whole_cents_is_refused(bad):
    with pytest.raises(TypeError):
        split_over_components(bad, {"fees": 1, "interest": 1, "principal": 1}, BALANCE_COMPONENTS)


def test_a_zero_or_negative_payment_is_refused():
    for amount in (0, -5):
        with pytest.raises(ValueError):
            split_over_components(amount, {"fees": 1, "interest": 1, "principal": 1}, BALANCE_COMPONENTS)


@settings(max_examples=40, deadline=None)
@given(fees=cents, interest=cents, principal=cents, order=st.sampled_from(ORDERS),
       payments=st.lists(st.integers(min_value=1, max_value=2 * 10**9), min_size=1, max_size=6))
def test_through_the_ledger_every_cent_is_accounted_for(fees, interest, principal, order, payments):
    engine = make_engine("sqlite://")
    create_schema(engine)
    sessions = make_session_factory(engine)
    add_account(sessions, "A1", fees=fees, interest=interest, principal=principal)
    policy = load_policy()
    ledger = Payments(sessions, policy.model_copy(update={"payment_allocation": order}))
    start = datetime(2026, 11, 23, tzinfo=UTC)
    for n, amount in enumerate(payments):
        ledger.record(f"P{n}", "A1", amount, "CNY", start + timedelta(minutes=n), "api")
    with sessions() as session:
        account = session.get(LoanAccount, "A1")
        assert min(account.fees_cents, account.interest_cents, account.principal_cents) >= 0
        applied, credit, amount = session.execute(select(
            func.sum(Payment.applied_cents), func.sum(Payment.credit_cents), func.sum(Payment.amount_cents))).one()
        assert amount == sum(payments) == applied + credit
        assert (session.scalar(select(func.sum(PaymentAllocation.amount_cents))) or 0) == applied
        assert fees + interest + principal == account.balance_cents + applied
        assert credit == max(0, sum(payments) - (fees + interest + principal))
        assert (account.status == "settled") == (account.balance_cents == 0)
    engine.dispose()

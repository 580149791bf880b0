"""Instalment schedules: exact sums, monthly dates, fair cents."""

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from ledger.plans import build_schedule


@given(
    total=st.integers(min_value=100, max_value=10**9),
    periods=st.sampled_from([2, 3, 6, 12]),
    first_due=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
)
def test_any_schedule_sums_exactly_and_steps_monthly(total, periods, first_due):
    schedule = build_schedule(total, periods, first_due)

    amounts = [amount for _, amount in schedule]
    dates = [due for due, _ in schedule]
    assert len(schedule) == periods
    assert sum(amounts) == total
    assert all(isinstance(amount, int) for amount in amounts)
    assert max(amounts) - min(amounts) <= 1
    assert amounts == sorted(amounts, reverse=True)  # larger cents first
    assert dates[0] == first_due
    for index, (earlier, later) in enumerate(zip(dates, dates[1:]), start=1):
        assert earlier < later
        assert later == first_due + relativedelta(months=index)
        assert (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1


def test_even_split_has_equal_instalments():
    assert build_schedule(120_000, 3, date(2025, 4, 10)) == [
        (date(2025, 4, 10), 40_000),
        (date(2025, 5, 10), 40_000),
        (date(2025, 6, 10), 40_000),
    ]


def test_leftover_cents_go_to_the_first_instalments():
    assert [amount for _, amount in build_schedule(1_000, 3, date(2025, 1, 1))] == [334, 333, 333]


def test_month_end_start_stays_at_month_end():
    dates = [due for due, _ in build_schedule(600, 6, date(2025, 1, 31))]
    assert dates == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31),
                     date(2025, 4, 30), date(2025, 5, 31), date(2025, 6, 30)]


def test_leap_year_february_is_the_29th():
    assert build_schedule(200, 2, date(2024, 1, 31))[1][0] == date(2024, 2, 29)


@pytest.mark.parametrize("total, periods", [(100, 0), (100, -1), (2, 3)])
def test_impossible_schedules_are_refused(total, periods):
    with pytest.raises(ValueError):
        build_schedule(total, periods, date(2025, 1, 1))


def test_float_money_is_refused():
    with pytest.raises(TypeError):
        build_schedule(1000.0, 2, date(2025, 1, 1))

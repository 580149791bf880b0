"""What a US borrower types or says in English → the value the ledger stores (cents, ISO dates, counts, ID digits)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chinese_text
from chinese_text import normalise_entity
from english_text import parse_amount_cents, parse_date, parse_id_last4, parse_periods

NEW_YORK = "America/New_York"
# Monday 2026-11-23, 10:00 in New York.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(NEW_YORK))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$300", 30000),
        ("$1,000", 100000),
        ("$4,615.00", 461500),
        ("$4,615.5", 461550),
        ("300 dollars", 30000),
        ("300 bucks", 30000),
        ("300", 30000),
        ("1500", 150000),
        ("2k", 200000),
        ("1.5k", 150000),
        ("$2K", 200000),
        ("2 grand", 200000),
        ("2 thousand", 200000),
        ("three hundred dollars", 30000),
        ("three hundred and fifty", 35000),
        ("fifty bucks", 5000),
        ("a hundred", 10000),
        ("a hundred and fifty", 15000),
        ("a grand", 100000),
        ("two grand", 200000),
        ("one thousand two hundred", 120000),
        ("twelve hundred bucks", 120000),
        ("USD 300", 30000),
        ("300 usd", 30000),
        ("300$", 30000),
        ("Three Hundred Dollars", 30000),
        ("５００ dollars", 50000),
        ("5 dollars and 50 cents", 550),
        ("I can pay 300.", 30000),
        ("300 on the 28th", 30000),
        ("$300 on Dec 15, 2026", 30000),
        ("$300 in 2 payments", 30000),
        ("$0", 0),
    ],
)
def test_amount_is_read_as_cents(text: str, expected: int) -> None:
    assert parse_amount_cents(text) == expected


@pytest.mark.parametrize(
    "text",
    # No number, dates and counts, a negative, a fraction of a cent, and two different amounts.
    ["", "no money", "dollars", "on the 28th", "28th", "12/15", "Dec 15", "6 payments", "in 10 days", "at 5pm",
     "-$300", "minus 300", "$3.505", "300 or 400", "one fifty"],
)
def test_amount_without_one_usable_number_is_none(text: str) -> None:
    assert parse_amount_cents(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6 payments", 6),
        ("six months", 6),
        ("12 installments", 12),
        ("12 instalments", 12),
        ("3 months", 3),
        ("four monthly payments", 4),
        ("6 equal payments", 6),
        ("12 month plan", 12),
        ("6", 6),
        ("six", 6),
        ("half a year", 6),
        ("a year", 12),
        ("one year", 12),
        ("two years", 24),
        ("a year and a half", 18),
        ("1.5 years", 18),
        ("can I split it into 6 payments?", 6),
        ("$300 a month for 6 months", 6),
    ],
)
def test_periods_are_counted(text: str, expected: int) -> None:
    assert parse_periods(text) == expected


@pytest.mark.parametrize(
    "text", ["", "next month", "the 3rd payment", "zero payments", "6 weeks", "$300 monthly payments", "-6", "asdf"]
)
def test_periods_without_a_count_is_none(text: str) -> None:
    assert parse_periods(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4417", "4417"),
        ("4 4 1 7", "4417"),
        ("4-4-1-7", "4417"),
        ("four four one seven", "4417"),
        ("Four Four One Seven", "4417"),
        ("44 17", "4417"),
        ("forty four seventeen", "4417"),
        ("ending in 4417", "4417"),
        ("my last four are 4417", "4417"),
        ("the last 4 digits are four four one seven", "4417"),
        ("four oh one seven", "4017"),
        ("oh four one seven", "0417"),
        ("zero four one seven", "0417"),
        ("441x", "441X"),
        ("441X", "441X"),
        ("four four one x", "441X"),
        ("４４１７", "4417"),
    ],
)
def test_id_last4_is_read_digit_by_digit(text: str, expected: str) -> None:
    assert parse_id_last4(text) == expected


@pytest.mark.parametrize(
    "text", ["", "441", "12345", "x441", "4x17", "4417 and 4418", "four four one", "abcd", "next"]
)
def test_id_last4_needs_exactly_four_digits(text: str) -> None:
    assert parse_id_last4(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 11, 23)),
        ("tonight", date(2026, 11, 23)),
        ("this evening", date(2026, 11, 23)),
        ("tomorrow", date(2026, 11, 24)),
        ("tomorrow morning", date(2026, 11, 24)),
        ("day after tomorrow", date(2026, 11, 25)),
        ("the day after tomorrow", date(2026, 11, 25)),
        ("yesterday", date(2026, 11, 22)),
        # Said on a Monday: the Monday is today, 'this' and bare weekdays are this week's.
        ("Monday", date(2026, 11, 23)),
        ("Friday", date(2026, 11, 27)),
        ("fri", date(2026, 11, 27)),
        ("this Friday", date(2026, 11, 27)),
        ("this coming Friday", date(2026, 11, 27)),
        ("by Friday", date(2026, 11, 27)),
        ("on Friday at 5pm", date(2026, 11, 27)),
        ("Sunday", date(2026, 11, 29)),
        # 'next Friday' is the Friday of next week, as 下周五 is.
        ("next Friday", date(2026, 12, 4)),
        ("Friday next week", date(2026, 12, 4)),
        ("next week Friday", date(2026, 12, 4)),
        ("next Monday", date(2026, 11, 30)),
        ("last Friday", date(2026, 11, 20)),
        ("this weekend", date(2026, 11, 28)),
        ("the weekend", date(2026, 11, 28)),
        ("next weekend", date(2026, 12, 5)),
        # A day of the month already past is next month's; today's is today; a missing 31st waits a month.
        ("the 28th", date(2026, 11, 28)),
        ("on the 28th", date(2026, 11, 28)),
        ("28th", date(2026, 11, 28)),
        ("the 28", date(2026, 11, 28)),
        ("the twenty-eighth", date(2026, 11, 28)),
        ("the 23rd", date(2026, 11, 23)),
        ("the 15th", date(2026, 12, 15)),
        ("the first", date(2026, 12, 1)),
        ("the 1st of next month", date(2026, 12, 1)),
        ("the 15th of the month", date(2026, 12, 15)),
        ("the 30th of next month", date(2026, 12, 30)),
        ("next month on the 15th", date(2026, 12, 15)),
        ("the 31st", date(2026, 12, 31)),
        # Month and day: the next occurrence; an explicit year as said.
        ("Dec 15", date(2026, 12, 15)),
        ("Dec. 15", date(2026, 12, 15)),
        ("December 15th", date(2026, 12, 15)),
        ("December fifteenth", date(2026, 12, 15)),
        ("December the 15th", date(2026, 12, 15)),
        ("15 December", date(2026, 12, 15)),
        ("the 15th of December", date(2026, 12, 15)),
        ("Jan 3", date(2027, 1, 3)),
        ("November 20", date(2027, 11, 20)),
        ("November 23", date(2026, 11, 23)),
        ("December 15, 2026", date(2026, 12, 15)),
        ("12/15", date(2026, 12, 15)),
        ("1/3", date(2027, 1, 3)),
        ("12/15/2026", date(2026, 12, 15)),
        ("12/15/26", date(2026, 12, 15)),
        ("12/15/2025", date(2025, 12, 15)),
        ("2026-12-01", date(2026, 12, 1)),
        ("end of the month", date(2026, 11, 30)),
        ("by the end of this month", date(2026, 11, 30)),
        ("the last day of the month", date(2026, 11, 30)),
        ("end of next month", date(2026, 12, 31)),
        ("in two weeks", date(2026, 12, 7)),
        ("in 10 days", date(2026, 12, 3)),
        ("in a week", date(2026, 11, 30)),
        ("in a month", date(2026, 12, 23)),
        ("a week from today", date(2026, 11, 30)),
        ("10 days from now", date(2026, 12, 3)),
        ("a week from tomorrow", date(2026, 12, 1)),
        # A weekday beside a date checks it, as in the bot's own read-back.
        ("Monday the 30th", date(2026, 11, 30)),
        ("Friday, December 4", date(2026, 12, 4)),
    ],
)
def test_date_relative_to_monday_morning_in_new_york(text: str, expected: date) -> None:
    assert parse_date(text, NOW, NEW_YORK) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Spans of time and days only the borrower knows: the form asks for a day.
        "next week", "this week", "next month", "1 month", "3 months", "end of the week", "payday", "next payday",
        # Day-first numeric dates are not US ones; impossible days.
        "15/12", "Feb 30", "13/01/2027", "12-15", "in 10-15 days",
        # Two different days, and modifiers not read here.
        "Friday or Monday", "Friday the 28th", "Friday after next", "2 weeks from Friday", "2 days ago",
        "the day after Friday",
        "6", "300", "asdf", ".", "",
    ],
)
def test_vague_or_junk_dates_are_none(text: str) -> None:
    assert parse_date(text, NOW, NEW_YORK) is None


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        # Friday 27 November: 'Friday' is today, 'next Friday' a week on.
        (datetime(2026, 11, 27, 10, 0), "Friday", date(2026, 11, 27)),
        (datetime(2026, 11, 27, 10, 0), "next Friday", date(2026, 12, 4)),
        # Saturday 28 November: this week's Friday is past, so 'this Friday' and 'next Friday' are the coming one.
        (datetime(2026, 11, 28, 10, 0), "Friday", date(2026, 12, 4)),
        (datetime(2026, 11, 28, 10, 0), "this Friday", date(2026, 12, 4)),
        (datetime(2026, 11, 28, 10, 0), "next Friday", date(2026, 12, 4)),
        (datetime(2026, 11, 28, 10, 0), "this weekend", date(2026, 11, 28)),
        (datetime(2026, 11, 28, 10, 0), "next weekend", date(2026, 12, 5)),
        # Sunday 29 November: the weekend is today's.
        (datetime(2026, 11, 29, 10, 0), "this weekend", date(2026, 11, 29)),
        (datetime(2026, 11, 29, 10, 0), "next weekend", date(2026, 12, 5)),
        (datetime(2026, 11, 29, 10, 0), "next Friday", date(2026, 12, 4)),
        # Month ends across a year and a leap February.
        (datetime(2026, 12, 20, 10, 0), "end of next month", date(2027, 1, 31)),
        (datetime(2028, 1, 31, 10, 0), "end of next month", date(2028, 2, 29)),
        (datetime(2026, 12, 20, 10, 0), "the 5th", date(2027, 1, 5)),
        (datetime(2027, 1, 20, 10, 0), "the 30th of next month", None),
        (datetime(2027, 3, 1, 10, 0), "Feb 29", date(2028, 2, 29)),
    ],
)
def test_weekdays_weekends_and_rollovers_on_other_days(now: datetime, text: str, expected: date | None) -> None:
    assert parse_date(text, now.replace(tzinfo=ZoneInfo(NEW_YORK)), NEW_YORK) == expected


# 03:30 UTC on Tuesday the 24th is still Monday the 23rd, 22:30, in New York.
LATE_MONDAY_IN_NEW_YORK = datetime(2026, 11, 24, 3, 30, tzinfo=ZoneInfo("UTC"))
# 04:00 UTC on 1 December is still 30 November, 23:00, in New York.
LAST_HOUR_OF_NOVEMBER_IN_NEW_YORK = datetime(2026, 12, 1, 4, 0, tzinfo=ZoneInfo("UTC"))
# 23:30 UTC on the 23rd is already 07:30 on Tuesday the 24th in Shanghai.
EARLY_TUESDAY_IN_SHANGHAI = datetime(2026, 11, 23, 23, 30, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("now", "tz", "text", "expected"),
    [
        (LATE_MONDAY_IN_NEW_YORK, NEW_YORK, "today", date(2026, 11, 23)),
        (LATE_MONDAY_IN_NEW_YORK, NEW_YORK, "tomorrow", date(2026, 11, 24)),
        (LATE_MONDAY_IN_NEW_YORK, NEW_YORK, "Monday", date(2026, 11, 23)),
        (LATE_MONDAY_IN_NEW_YORK, NEW_YORK, "next Monday", date(2026, 11, 30)),
        (LATE_MONDAY_IN_NEW_YORK, NEW_YORK, "the 23rd", date(2026, 11, 23)),
        (LATE_MONDAY_IN_NEW_YORK, "UTC", "today", date(2026, 11, 24)),
        (LATE_MONDAY_IN_NEW_YORK, "UTC", "the 23rd", date(2026, 12, 23)),
        (LAST_HOUR_OF_NOVEMBER_IN_NEW_YORK, NEW_YORK, "end of the month", date(2026, 11, 30)),
        (LAST_HOUR_OF_NOVEMBER_IN_NEW_YORK, "UTC", "end of the month", date(2026, 12, 31)),
        (LAST_HOUR_OF_NOVEMBER_IN_NEW_YORK, NEW_YORK, "the 1st", date(2026, 12, 1)),
        (LAST_HOUR_OF_NOVEMBER_IN_NEW_YORK, NEW_YORK, "in 10 days", date(2026, 12, 10)),
        (EARLY_TUESDAY_IN_SHANGHAI, "Asia/Shanghai", "today", date(2026, 11, 24)),
        (EARLY_TUESDAY_IN_SHANGHAI, "Asia/Shanghai", "Monday", date(2026, 11, 30)),
        (EARLY_TUESDAY_IN_SHANGHAI, "Asia/Shanghai", "this Friday", date(2026, 11, 27)),
    ],
)
def test_today_is_the_borrowers_today_not_the_utc_date(now: datetime, tz: str, text: str, expected: date) -> None:
    assert parse_date(text, now, tz) == expected


def test_date_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError):
        parse_date("tomorrow", datetime(2026, 11, 23, 10, 0), NEW_YORK)


# --- normalise_entity: which reader reads which text ---------------------------------------


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("amount", "2k", 200000),  # the Chinese reader alone would say 2 yuan
        ("amount", "two grand", 200000),
        ("amount", "on the 28th", None),  # the Chinese reader alone would say 28
        ("amount", "$4,615.00", 461500),
        ("date", "next Friday", "2026-12-04"),
        ("date", "12/15/2026", "2026-12-15"),  # digits alone: English where the Chinese reader finds nothing
        ("date", "12/15", "2026-12-15"),
        ("date", "payday", None),
        ("periods", "six months", 6),
        ("periods", "6", 6),
        ("id_last4", "forty four seventeen", "4417"),
        ("id_last4", "4 4 1 7", "4417"),
    ],
)
def test_english_entities_are_normalised(entity: str, text: str, expected: object) -> None:
    assert normalise_entity(entity, text, NOW, NEW_YORK) == expected


_CHINESE_READERS = {
    "amount": chinese_text.parse_amount_cents,
    "periods": chinese_text.parse_periods,
    "id_last4": chinese_text.parse_id_last4,
}


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        ("amount", "三千五"), ("amount", "我还2k"), ("amount", "RMB 300"), ("amount", "¥2,000.50"),
        ("amount", "-200元"), ("amount", "第3期"), ("amount", "3号"), ("amount", "1.234元"), ("amount", "asdf"),
        ("periods", "分六期"), ("periods", "第三期"), ("periods", "下个月"), ("periods", "六"),
        ("id_last4", "382x"), ("id_last4", "三八二X"), ("id_last4", "3X21"), ("id_last4", "X382"),
        ("id_last4", "3821 和 4567"), ("id_last4", "后四位3821"), ("id_last4", "abcd"),
    ],
)
def test_chinese_entities_read_as_before(entity: str, text: str) -> None:
    assert normalise_entity(entity, text, NOW, "Asia/Shanghai") == _CHINESE_READERS[entity](text)


@pytest.mark.parametrize("text", ["下周五", "月底", "15号", "下周", "明年1月", "过两天", "2026-12-01", "二月三十号"])
def test_chinese_dates_read_as_before(text: str) -> None:
    parsed = chinese_text.parse_date(text, NOW, "Asia/Shanghai")
    assert normalise_entity("date", text, NOW, "Asia/Shanghai") == (None if parsed is None else parsed.isoformat())


# --- properties --------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
@settings(max_examples=300, deadline=None)
def test_any_dollar_amount_with_cents_is_exact(dollars: int, cents: int) -> None:
    assert parse_amount_cents(f"${dollars:,}.{cents:02d}") == dollars * 100 + cents


def _ordinal(day: int) -> str:
    return f"{day}{'th' if 11 <= day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(ZoneInfo(NEW_YORK))),
    st.integers(min_value=1, max_value=31),
)
@settings(max_examples=100, deadline=None)
def test_a_bare_day_of_the_month_is_never_before_today(now: datetime, day: int) -> None:
    parsed = parse_date(f"the {_ordinal(day)}", now, NEW_YORK)
    today = now.date()
    assert parsed is not None and parsed.day == day
    assert today <= parsed < today + timedelta(days=93)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(ZoneInfo(NEW_YORK))),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=28),
)
@settings(max_examples=60, deadline=None)
def test_a_yearless_month_and_day_is_the_next_occurrence(now: datetime, month: int, day: int) -> None:
    parsed = parse_date(f"{month}/{day}", now, NEW_YORK)
    today = now.date()
    assert parsed is not None and (parsed.month, parsed.day) == (month, day)
    assert today <= parsed < today + timedelta(days=366)


@given(st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_parsers_never_raise_on_arbitrary_text(text: str) -> None:
    parse_amount_cents(text)
    parse_periods(text)
    parse_id_last4(text)
    parse_date(text, NOW, NEW_YORK)


_WORDS = st.sampled_from(
    "one two three twenty hundred thousand and a half the next this last friday month week in from 15th dec "
    "$ 300 , . / - k grand x oh of end day after tomorrow".split()
)


@given(st.lists(_WORDS, max_size=10).map(" ".join))
@settings(max_examples=300, deadline=None)
def test_parsers_never_raise_on_english_looking_junk(text: str) -> None:
    parse_amount_cents(text)
    parse_periods(text)
    parse_id_last4(text)
    parse_date(text, NOW, NEW_YORK)


@pytest.mark.parametrize(("said", "kept"), [
    ("it's four four one seven", "it's **** **** *** *****"),
    ("forty four seventeen", "***** **** *********"),
    ("ending in 4417", "ending in ****"),
    ("I can pay 300 tomorrow", "I can pay 300 tomorrow"),  # no ID in it: nothing to hide
])
def test_english_id_digits_are_starred_before_they_are_stored(said, kept):
    from chinese_text import mask_id_last4
    assert mask_id_last4(said) == kept

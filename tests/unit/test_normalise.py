"""What the borrower says → the value the ledger stores (cents, ISO dates, counts, ID digits)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chinese_text import (
    normalise_entity,
    bare_id_last4,
    mask_id_last4,
    parse_amount_cents,
    parse_date,
    parse_id_last4,
    parse_periods,
    to_simplified,
)
from chinese_text.identity import corrected_id_span

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23, 10:00 in Shanghai.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
# 23:30 UTC on the 23rd is 07:30 on Tuesday the 24th in Shanghai.
NEAR_MIDNIGHT_UTC = datetime(2026, 11, 23, 23, 30, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三千五", 350000),
        ("3千5", 350000),
        ("3,500元", 350000),
        ("两万", 2000000),
        ("一千块", 100000),
        ("两千块钱", 200000),
        ("三千五百块", 350000),
        ("1.5万", 1500000),
        ("一万二", 1200000),
        ("2000", 200000),
        ("¥2,000.50", 200050),
        ("五百元", 50000),
        ("八百块钱", 80000),
        ("三百五十块", 35000),
        ("两千五", 250000),
        ("五千零五十", 505000),
        ("1万5", 1500000),
        ("十块", 1000),
        ("3500.5元", 350050),
        ("一点五万", 1500000),
        ("人民币5000", 500000),
        ("RMB 300", 30000),
        ("3块5", 350),
        ("1,234,567.89元", 123456789),
        ("兩萬", 2000000),
        ("三千五百塊", 350000),
        ("３５００元", 350000),
        ("￥２，０００", 200000),
        ("我下周五还两千块", 200000),
        ("月底之前我还三千五百块", 350000),
        ("我15号先还一千块", 100000),
        ("一千块5号给你", 100000),
    ],
)
def test_amount_is_read_as_cents(text: str, expected: int) -> None:
    assert parse_amount_cents(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "你好", "没钱", "块钱", "负三千", "-200元", "1.234元", "第三期", "asdf"],
)
def test_amount_without_a_usable_number_is_none(text: str) -> None:
    assert parse_amount_cents(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("分六期", 6),
        ("6期", 6),
        ("6个月", 6),
        ("六个月", 6),
        ("分12期", 12),
        ("十二期", 12),
        ("三期", 3),
        ("两期", 2),
        ("兩期", 2),
        ("分６期", 6),
        ("分两年还", 24),
        ("能不能帮我分六期还", 6),
        ("六", 6),
    ],
)
def test_periods_are_counted(text: str, expected: int) -> None:
    assert parse_periods(text) == expected


@pytest.mark.parametrize("text", ["下个月", "第三期", "分期", "零期", "不想分", ""])
def test_periods_without_a_count_is_none(text: str) -> None:
    assert parse_periods(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3821", "3821"), ("好了，4452", "4452"),
        ("三八二一", "3821"),
        ("三 八 二 一", "3821"),
        ("幺二三四", "1234"),
        ("洞洞幺七", "0017"),
        ("382X", "382X"),
        ("382x", "382X"),
        ("三八二X", "382X"),
        ("後四位是3821", "3821"),
        ("我身份证后四位是三八二一", "3821"),
        ("３８２１", "3821"),
    ],
)
def test_id_last4_is_read_digit_by_digit(text: str, expected: str) -> None:
    assert parse_id_last4(text) == expected


@pytest.mark.parametrize(
    "text", ["382", "12345", "3X21", "X382", "一二三", "abcd", "", "3821 和 4567"]
)
def test_id_last4_needs_exactly_four_digits(text: str) -> None:
    assert parse_id_last4(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3821", "3821"), (" 3821。", "3821"), ("三八二一", "3821"), ("3 8 2 1", "3821"), ("382x", "382X"),
     ("0017", "0017"), ("3000元", None), ("后四位3821", None), ("明天还3000", None), ("12345", None)],
)
def test_a_message_of_only_four_id_characters_is_a_bare_id_answer(text: str, expected: str | None) -> None:
    # The NLU adds these as id_last4 whatever intent it predicts; the form's question decides the slot.
    assert bare_id_last4(text) == expected


@pytest.mark.parametrize(("text", "digits"), [
    ("不对不对，5448", "5448"), ("哦说错了，是5448", "5448"), ("应该是三八二一", "三八二一"), ("sorry, 4417", "4417"),
    ("3821", "3821"), ("好了，4452", "4452"),
])
def test_four_id_characters_correcting_an_earlier_answer_are_an_id_answer(text: str, digits: str) -> None:
    start, end = corrected_id_span(text)
    assert text[start:end] == digits


@pytest.mark.parametrize("text", ["我明天还5448", "不对，3000块", "身份证后四位是5448", "3821和4567", "不对不对"])
def test_other_words_around_four_digits_leave_them_to_the_model(text: str) -> None:
    assert corrected_id_span(text) is None


@pytest.mark.parametrize(
    ("text", "masked"),
    [("身份证后四位是3821", "身份证后四位是****"), ("三 八 二 一", "* * * *"), ("382x", "****"), ("３８２１", "****"),
     ("後四位是三八二一", "後四位是****"), ("对，我就是本人", "对，我就是本人"), ("3821 和 4567", "3821 和 4567"),
     ("下周三还", "下周三还")],
)
def test_an_answer_to_the_id_question_is_masked_for_the_audit(text: str, masked: str) -> None:
    assert mask_id_last4(text) == masked
    assert parse_id_last4(mask_id_last4(text)) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 23)),
        ("今儿", date(2026, 11, 23)),
        ("明天", date(2026, 11, 24)),
        ("明儿", date(2026, 11, 24)),
        ("后天", date(2026, 11, 25)),
        ("大后天", date(2026, 11, 26)),
        ("这周五", date(2026, 11, 27)),
        ("周五", date(2026, 11, 27)),
        ("下周五", date(2026, 12, 4)),
        ("下週五", date(2026, 12, 4)),
        ("下礼拜五", date(2026, 12, 4)),
        ("星期天", date(2026, 11, 29)),
        ("周末", date(2026, 11, 28)),
        ("下周末", date(2026, 12, 5)),
        ("月底", date(2026, 11, 30)),
        ("月末", date(2026, 11, 30)),
        ("这个月底", date(2026, 11, 30)),
        ("月底之前", date(2026, 11, 30)),
        ("下个月底", date(2026, 12, 31)),
        ("下个月月底", date(2026, 12, 31)),
        ("25号", date(2026, 11, 25)),
        ("15号", date(2026, 12, 15)),
        ("十五号", date(2026, 12, 15)),
        ("31号", date(2026, 12, 31)),
        ("下个月十五号", date(2026, 12, 15)),
        ("我下个月十五号发工资", date(2026, 12, 15)),
        ("12月1日", date(2026, 12, 1)),
        ("1月3日", date(2027, 1, 3)),
        ("元旦", date(2027, 1, 1)),
        ("2026年1月3日", date(2026, 1, 3)),
        ("2026-12-01", date(2026, 12, 1)),
        ("3天后", date(2026, 11, 26)),
        ("三天之后", date(2026, 11, 26)),
        ("周五之前", date(2026, 11, 27)),
        ("后天下午", date(2026, 11, 25)),
        ("昨天", date(2026, 11, 22)),
        ("上周五", date(2026, 11, 20)),
    ],
)
def test_date_relative_to_monday_morning_in_shanghai(text: str, expected: date) -> None:
    assert parse_date(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2026, 11, 24)),
        ("明天", date(2026, 11, 25)),
        ("周一", date(2026, 11, 30)),
        ("这周五", date(2026, 11, 27)),
        ("月底", date(2026, 11, 30)),
    ],
)
def test_date_late_evening_utc_is_already_tomorrow_in_shanghai(text: str, expected: date) -> None:
    assert parse_date(text, NEAR_MIDNIGHT_UTC) == expected


def test_date_uses_the_requested_timezone() -> None:
    assert parse_date("今天", NEAR_MIDNIGHT_UTC, tz="UTC") == date(2026, 11, 23)


@pytest.mark.parametrize(
    "text", ["下周", "下个月", "明年1月", "年底", "过两天", "二月三十号", "asdf", "。", "", "还钱"]
)
def test_vague_or_junk_dates_are_none(text: str) -> None:
    assert parse_date(text, NOW) is None


def test_date_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError):
        parse_date("明天", datetime(2026, 11, 23, 10, 0))


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [("還款", "还款"), ("兩萬", "两万"), ("下週五", "下周五"), ("３５００元", "3500元"), ("後四位", "后四位")],
)
def test_traditional_and_full_width_become_simplified_half_width(
    traditional: str, simplified: str
) -> None:
    assert to_simplified(traditional) == simplified


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("amount", "三千五", 350000),
        ("date", "下周五", "2026-12-04"),
        ("periods", "分六期", 6),
        ("id_last4", "三八二一", "3821"),
        ("amount", "没钱", None),
        ("unknown_entity", "三千五", None),
    ],
)
def test_normalise_entity_dispatches_by_entity_name(
    entity: str, text: str, expected: object
) -> None:
    assert normalise_entity(entity, text, NOW, "Asia/Shanghai") == expected


# --- properties --------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=10_000_000))
@settings(max_examples=300, deadline=None)
def test_any_whole_yuan_in_chinese_numerals_comes_back_as_cents(yuan: int) -> None:
    assert parse_amount_cents(cn2an.an2cn(yuan) + "元") == yuan * 100


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
@settings(max_examples=300, deadline=None)
def test_any_arabic_amount_with_cents_is_exact(yuan: int, cents: int) -> None:
    assert parse_amount_cents(f"{yuan:,}.{cents:02d}元") == yuan * 100 + cents


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(SHANGHAI)
    ),
    st.integers(min_value=1, max_value=31),
)
@settings(max_examples=100, deadline=None)
def test_a_bare_day_of_month_is_never_before_today(now: datetime, day: int) -> None:
    parsed = parse_date(f"{day}号", now)
    today = now.astimezone(SHANGHAI).date()
    assert parsed is not None and parsed.day == day
    assert today <= parsed < today + timedelta(days=93)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(SHANGHAI)
    ),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=28),
)
@settings(max_examples=60, deadline=None)
def test_a_yearless_month_and_day_is_the_next_occurrence(now: datetime, month: int, day: int) -> None:
    parsed = parse_date(f"{month}月{day}日", now)
    today = now.date()
    assert parsed is not None and (parsed.month, parsed.day) == (month, day)
    assert today <= parsed < today + timedelta(days=366)


@given(st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_parsers_never_raise_on_arbitrary_text(text: str) -> None:
    parse_amount_cents(text)
    parse_periods(text)
    parse_id_last4(text)
    parse_date(text, NOW)


# --- dates said of the past (already-paid claims) ---------------------------------------

PAST_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("15号", date(2026, 11, 15)),
        ("30号", date(2026, 10, 30)),
        ("昨天", date(2026, 11, 22)),
        ("12月1日", date(2025, 12, 1)),
        ("11月20日", date(2026, 11, 20)),
        ("周五", date(2026, 11, 20)),
        ("2026年12月1日", date(2026, 12, 1)),
    ],
)
def test_dates_of_things_already_done_read_as_past(text, expected):
    assert parse_date(text, PAST_NOW, prefer="past") == expected

"""Normalise Chinese entity text: script, money, instalment counts, ID digits, dates.

Pure Python (no Rasa import) so both the NLU component and the action server can use it.
Money is returned as integer cents (never float); dates as ``datetime.date`` in the
borrower's timezone. Parsers return ``None`` for text they cannot read; they never raise
on junk input.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Literal
from zoneinfo import ZoneInfo

import cn2an
from dateutil.relativedelta import relativedelta

DEFAULT_TZ = "Asia/Shanghai"

# Character classes (applied after ``to_simplified``). cn2an does the arithmetic; these
# only say which characters may belong to a number so a span can be cut out of a sentence.
_CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖幺"
_CN_UNITS = "十百千万亿拾佰仟"
_NUM_CHARS = "0-9" + _CN_DIGITS + _CN_UNITS
_NUM = f"[{_NUM_CHARS}]+"

# ---------------------------------------------------------------------------------------
# Script normalisation
# ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s_converter() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """NFKC (full-width → half-width) then Traditional → Simplified."""
    return str(_t2s_converter().convert(unicodedata.normalize("NFKC", text)))


def _clean(text: str) -> str:
    """Simplified script, no thousands separators, no spaces inside numbers."""
    text = to_simplified(text).strip()
    text = re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)
    return re.sub(rf"(?<=[{_NUM_CHARS}])\s+(?=[{_NUM_CHARS}])", "", text)


def _cn_int(span: str) -> int | None:
    """Integer value of a Chinese / Arabic / mixed numeral ('三千五', '3千5', '2000')."""
    if span.isascii() and span.isdigit():
        return int(span)
    try:
        value = cn2an.cn2an(span, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cn_digit_string(span: str) -> str | None:
    """Digit-by-digit reading ('三八二一' → '3821', '零五' → '05')."""
    if span.isascii() and span.isdigit():
        return span
    try:
        digits = cn2an.cn2an(span, "direct")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return digits if isinstance(digits, str) and digits.isdigit() else None


# ---------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------

_CURRENCY_AFTER = r"(?:人民币|块钱|元钱|块|元|圆|钱|rmb|cny)"
_CURRENCY_BEFORE = r"(?:¥|￥|rmb|cny|人民币)"
_AMOUNT_SPAN = re.compile(
    rf"{_NUM}(?:[.点][0-9{_CN_DIGITS}]+[{_CN_UNITS}]*)?", re.IGNORECASE
)
# '3块5' / '三元五角' / '3块5毛': yuan plus one digit of jiao (but not '一千块5号').
_JIAO_TAIL = re.compile(
    rf"(?:块|元)([0-9{_CN_DIGITS}])(?:毛|角)?(?![0-9{_NUM_CHARS}号日期月天周点个])"
)
_NEGATIVE_BEFORE = ("-", "−", "负")
_NOT_MONEY_BEFORE = ("周", "星期", "礼拜", "第", "后", "尾号")
_NOT_MONEY_AFTER = re.compile(r"^\s*(?:号|日|期|个|月|天|周|年|点钟|点|岁|次|位|分钟|小时)")


def _span_to_decimal(span: str) -> Decimal | None:
    """'2000.50' → 2000.50, '1.5万' → 15000, '三千五点五' → 3500.5, '一万二' → 12000."""
    if re.fullmatch(r"\d+(?:\.\d+)?", span):
        return Decimal(span)
    parts = re.split(r"[.点]", span)
    if len(parts) > 2:
        return None
    integer = _cn_int(parts[0]) if parts[0] else 0
    if integer is None:
        return None
    if len(parts) == 1:
        return Decimal(integer)
    match = re.fullmatch(rf"([0-9{_CN_DIGITS}]+)([{_CN_UNITS}]*)", parts[1])
    if match is None:
        return None
    fraction = _cn_digit_string(match.group(1))
    if fraction is None:
        return None
    multiplier = 1
    if match.group(2):
        if re.search(f"[{_CN_UNITS}]", parts[0]):
            return None  # '一万二点五万' is not a number
        multiplier_value = _cn_int("一" + match.group(2))
        if multiplier_value is None:
            return None
        multiplier = multiplier_value
    return Decimal(f"{integer}.{fraction}") * multiplier


def _pick_amount_span(text: str) -> re.Match[str] | None:
    """The numeric span that is the money: one tied to a currency word, else the first
    span that is not part of a date, a count or an ordinal."""
    spans = list(_AMOUNT_SPAN.finditer(text))
    for span in spans:
        after = text[span.end():]
        before = text[: span.start()].rstrip()
        if re.match(rf"\s*{_CURRENCY_AFTER}", after, re.IGNORECASE) or re.search(
            rf"{_CURRENCY_BEFORE}$", before, re.IGNORECASE
        ):
            return span
    for span in spans:
        before = text[: span.start()]
        if before.endswith(_NOT_MONEY_BEFORE) or _NOT_MONEY_AFTER.match(text[span.end():]):
            continue
        return span
    return None


def parse_amount_cents(text: str) -> int | None:
    """Money text → integer cents ('三千五' → 350000, '¥2,000.50' → 200050).

    Returns None when there is no number, for negative amounts, and for amounts that are
    not a whole number of cents.
    """
    cleaned = _clean(text)
    span = _pick_amount_span(cleaned)
    if span is None:
        return None
    if cleaned[: span.start()].rstrip().endswith(_NEGATIVE_BEFORE):
        return None
    value = _span_to_decimal(span.group())
    tail = _JIAO_TAIL.match(cleaned, span.end())
    if value is not None and tail is not None and "." not in span.group():
        jiao = _cn_digit_string(tail.group(1))
        value = None if jiao is None else value + Decimal(jiao) / 10
    if value is None or value < 0:
        return None
    cents = value * 100
    if cents != cents.to_integral_value():
        return None
    return int(cents)


# ---------------------------------------------------------------------------------------
# Instalment periods
# ---------------------------------------------------------------------------------------

_PERIODS_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"(?<!第)分\s*({_NUM})\s*(?:期|个月|次)"), 1),
    (re.compile(rf"分\s*({_NUM})\s*年"), 12),
    (re.compile(rf"(?<!第)(?<![{_NUM_CHARS}])({_NUM})\s*(?:期|个月)"), 1),
)


def parse_periods(text: str) -> int | None:
    """Number of instalments ('分六期' → 6, '12个月' → 12, '两期' → 2)."""
    cleaned = _clean(text)
    for pattern, months_per_unit in _PERIODS_PATTERNS:
        match = pattern.search(cleaned)
        if match:
            count = _cn_int(match.group(1))
            return count * months_per_unit if count and count > 0 else None
    if re.fullmatch(_NUM, cleaned):
        count = _cn_int(cleaned)
        return count if count and count > 0 else None
    return None


# ---------------------------------------------------------------------------------------
# Identity-card last four
# ---------------------------------------------------------------------------------------

# Spoken digit variants: 幺 = 1 (cn2an knows it), 洞 = 0 (radio / phone speech).
_SPOKEN_DIGITS = {"洞": "零"}
_ID_RUN = re.compile(r"[0-9零〇一二三四五六七八九幺Xx]+")


def parse_id_last4(text: str) -> str | None:
    """Last four characters of a PRC ID ('三 八 二 一' → '3821', '382x' → '382X')."""
    cleaned = re.sub(r"\s+", "", to_simplified(text))
    for spoken, digit in _SPOKEN_DIGITS.items():
        cleaned = cleaned.replace(spoken, digit)
    runs = [run for run in _ID_RUN.findall(cleaned) if len(run) == 4]
    if len(set(runs)) != 1:
        return None
    run = runs[0]
    check = run[-1].upper()
    if check == "X":
        head = _cn_digit_string(run[:3])
        return None if head is None or len(head) != 3 else head + "X"
    digits = _cn_digit_string(run)
    return digits if digits is not None and len(digits) == 4 else None


_BARE_ID_ANSWER = re.compile(r"^[\s，。,.!！]*([0-9零〇一二三四五六七八九幺洞Xx]\s*){4}[\s，。,.!！]*$")


def bare_id_last4(text: str) -> str | None:
    """The ID digits when the whole message is just four ID characters, else None."""
    return parse_id_last4(text) if _BARE_ID_ANSWER.match(to_simplified(text)) else None


# ---------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------

_WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天]"
_DURATION_END = re.compile(rf"{_NUM}\s*个?(?:天|日|周|星期|礼拜|月|年|小时)$")
_MONTH_END = re.compile(r"(上|下)?个?(?:这个?|本)?月月?(?:底|末)")
_WEEKEND = re.compile(r"(上|下|这|本)?(?:个)?周末")
_BARE_DAY = re.compile(rf"^({_NUM})[号日]$")
_BARE_WEEKDAY = re.compile(rf"^{_WEEKDAY}$")
_EXPLICIT_YEAR = re.compile(r"年|\d{4}")
_RELATIVE = re.compile(r"上|昨|前|去|这|本|今|明|后|下")


def _local_now(now: datetime, tz: str) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _saturday_on_or_after(day: date) -> date:
    return day + timedelta(days=(5 - day.weekday()) % 7)


def _prepare_date_text(text: str) -> str:
    cleaned = re.sub(r"\s+", "", to_simplified(text))
    cleaned = cleaned.replace("明儿个", "明天").replace("今儿个", "今天")
    cleaned = cleaned.replace("明儿", "明天").replace("今儿", "今天")
    cleaned = re.sub(r"(天|日)(?:之后|以后)$", r"\1后", cleaned)
    # A deadline ('周五之前', '15号前') is a promise for that day; '三天前' is not a deadline.
    deadline = re.match(r"^(.+?)(?:之前|以前|前)$", cleaned)
    if deadline and not _DURATION_END.search(deadline.group(1)):
        cleaned = deadline.group(1)
    return cleaned


def _month_end(text: str, today: date) -> date | None:
    match = _MONTH_END.search(text)
    if match is None:
        return None
    shift = {"上": -1, "下": 1}.get(match.group(1) or "", 0)
    return _last_day_of_month(today.replace(day=1) + relativedelta(months=shift))


def _weekend(text: str, today: date) -> date | None:
    match = _WEEKEND.search(text)
    if match is None:
        return None
    shift = {"上": -7, "下": 7}.get(match.group(1) or "", 0)
    this_saturday = today + timedelta(days=5 - today.weekday())
    if shift:
        return this_saturday + timedelta(days=shift)
    return _saturday_on_or_after(today)


def _bare_day(text: str, today: date, step: int = 1) -> date | None:
    """'15号': the nearest 15th from today in the direction of ``step`` (+1 the next one on or
    after today, for promises; -1 the last one on or before today, for things already done),
    skipping months without that day."""
    match = _BARE_DAY.match(text)
    if match is None:
        return None
    day = _cn_int(match.group(1))
    if day is None or not 1 <= day <= 31:
        return None
    month_start = today.replace(day=1)
    for offset in range(13):
        first = month_start + relativedelta(months=step * offset)
        if day <= calendar.monthrange(first.year, first.month)[1]:
            candidate = first.replace(day=day)
            if (candidate - today).days * step >= 0:
                return candidate
    return None


def _jionlp_single_day(text: str, base: datetime) -> date | None:
    """One calendar day from jionlp, or None for ranges, periods and failures."""
    with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
        import jionlp

    try:
        result = jionlp.parse_time(text, time_base=base)
    except Exception:  # noqa: BLE001 - third-party parser raises anything on junk
        return None
    if not isinstance(result, dict) or result.get("type") not in ("time_point", "time_span"):
        return None
    try:
        first, second = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in result["time"])
    except (TypeError, ValueError, KeyError):
        return None  # 'inf' bounds and unexpected shapes
    return first.date() if first.date() == second.date() else None


def _roll_forward(text: str, parsed: date, base: datetime) -> date:
    """A yearless date in the past means the next occurrence ('1月3日' in November)."""
    today = base.date()
    if parsed >= today or _EXPLICIT_YEAR.search(text):
        return parsed
    if _BARE_WEEKDAY.match(text):
        return parsed + timedelta(days=7 * -(-(today - parsed).days // 7))
    if _RELATIVE.search(text):
        return parsed  # '昨天', '上周五', '这个月3号': the borrower meant the past
    rolled = _jionlp_single_day("明年" + text, base)
    return rolled if rolled is not None and rolled >= today else parsed


def _parse_past(text: str, base: datetime) -> date | None:
    """A yearless date later than today, said of the past, means its previous occurrence."""
    today = base.date()
    bare = _bare_day(text, today, step=-1)
    if bare is not None:
        return bare
    parsed = _jionlp_single_day(text, base)
    if parsed is None or parsed <= today or _EXPLICIT_YEAR.search(text):
        return parsed
    if _BARE_WEEKDAY.match(text):
        return parsed - timedelta(days=7 * -(-(parsed - today).days // 7))
    rolled = _jionlp_single_day("去年" + text, base)
    return rolled if rolled is not None and rolled <= today else parsed


def parse_date(
    text: str, now: datetime, tz: str = DEFAULT_TZ, prefer: Literal["future", "past"] = "future"
) -> date | None:
    """Date expression → the calendar day it names in ``tz``, relative to ``now``.

    ``now`` must be timezone-aware. Yearless dates already past roll forward (promises are
    about the future); explicit years and relative past ('昨天') are kept as said.
    ``prefer="past"`` reads them as already happened instead ('我15号还过了').
    Ranges longer than a day ('下周', '下个月') give None, except month ends ('月底').
    """
    base = _local_now(now, tz)
    today = base.date()
    cleaned = _prepare_date_text(text)
    if not cleaned:
        return None
    if prefer == "past":
        return _parse_past(cleaned, base)
    for special in (_month_end, _weekend, _bare_day):
        found = special(cleaned, today)
        if found is not None:
            return found
    parsed = _jionlp_single_day(cleaned, base)
    return None if parsed is None else _roll_forward(cleaned, parsed, base)


# ---------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------


def _normalise_date(text: str, now: datetime, tz: str) -> str | None:
    parsed = parse_date(text, now, tz)
    return None if parsed is None else parsed.isoformat()


_NORMALISERS: dict[str, Callable[[str, datetime, str], object | None]] = {
    "amount": lambda text, _now, _tz: parse_amount_cents(text),
    "date": _normalise_date,
    "periods": lambda text, _now, _tz: parse_periods(text),
    "id_last4": lambda text, _now, _tz: parse_id_last4(text),
}


def normalise_entity(entity: str, text: str, now: datetime, tz: str = DEFAULT_TZ) -> object | None:
    """Entity name + surface text → canonical value: amount → cents (int), date → ISO
    'YYYY-MM-DD', periods → int, id_last4 → str. Unknown entities give None."""
    normaliser = _NORMALISERS.get(entity)
    return None if normaliser is None else normaliser(text, now, tz)

"""Date expressions ('下周五', '月底', '15号') → the calendar day they name in a time zone."""
from __future__ import annotations

import calendar
import contextlib
import io
import re
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from chinese_text.numerals import NUM, cn_int
from chinese_text.script import to_simplified

# The calendar a date is read in when a borrower's own zone is unknown (the product is China first).
DEFAULT_TIMEZONE = "Asia/Shanghai"

_WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天]"
_DURATION_END = re.compile(rf"{NUM}\s*个?(?:天|日|周|星期|礼拜|月|年|小时)$")
_MONTH_END = re.compile(r"(上|下)?个?(?:这个?|本)?月月?(?:底|末)")
_WEEKEND = re.compile(r"(上|下|这|本)?(?:个)?周末")
_BARE_DAY = re.compile(rf"^({NUM})[号日]$")
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
    for spoken, written in (("个", ""), ("明儿", "明天"), ("今儿", "今天"), ("后儿", "后天")):
        cleaned = re.sub(f"(?<=[今明后]儿){spoken}" if spoken == "个" else spoken, written, cleaned)
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
    day = cn_int(match.group(1))
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
    text: str, now: datetime, tz: str = DEFAULT_TIMEZONE, prefer: Literal["future", "past"] = "future"
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


# A date the borrower rules out: "今天全额不行，这礼拜天先还八百", "明天不方便", "不是今天", "today doesn't work".
_RULED_OUT_AFTER = re.compile(
    r"^\s*(?:全额|全部|一次性|还清|还款|还|的话|肯定|真的|确实|可能|估计|恐怕)?\s*"
    r"(?:不行|不方便|不可以|不成|不太行|够呛|没办法|没法|还不了|还不上|凑不齐|不了)(?!全|那么|这么|所有)"
    r"|^\s*(?:doesn't|does not|won't|will not|isn't|is not|is no|'s no)\s*(?:work|good|possible)",
    re.IGNORECASE)
_RULED_OUT_BEFORE = re.compile(r"(?:不是|\bnot|\bcan't do|\bcannot do)\s*$", re.IGNORECASE)


def ruled_out(text: str, start: int, end: int) -> bool:
    """True when the date at text[start:end] is one the speaker says will not work ("明天还不了全部" is not: a part may
    still come that day). The caller drops such a date only when the message names another."""
    return bool(_RULED_OUT_AFTER.match(text[end:]) or _RULED_OUT_BEFORE.search(text[:start]))


# Single days said the common ways, for finding them in a sentence (DIET learns the forms its training shows;
# these it must not miss): '明儿个', '这礼拜天', '下周三', '30号', '下个月5号', '月底', '这周末'.
_DAY_WORD = r"大后天|大前天|今天|明天|后天|[今明后]儿个?|今晚|明早|明晚"
_WEEKDAY_SPAN = rf"(?:这|本|下下?)?个?{_WEEKDAY}"
_MONTH_DAY_SPAN = rf"(?:(?:这|本|下)个?月|{NUM}月份?)?{NUM}[号日]"
_DATE_SPAN = re.compile(
    rf"(?:{_DAY_WORD}|{_WEEKDAY_SPAN}|{_MONTH_DAY_SPAN}|(?:这|本|下)?个?月(?:底|末)|(?:这|本|下)?个?周末)")


def date_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` names a single day in one of the common forms; not every date parse_date reads ('下下周',
    '1月10号' in odd spellings are DIET's to find), only forms plain enough to find by pattern."""
    return [(match.start(), match.end()) for match in _DATE_SPAN.finditer(text)]

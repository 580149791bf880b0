"""Date expressions in US English ('next Friday', 'the 28th', '12/15', 'end of the month') → the calendar day
they name in the borrower's time zone, on the conversation's clock.

Readings (promises are about the future):
- A yearless date already past is its next occurrence: 'the 15th' on the 23rd is next month's, 'Jan 3' in
  November is next year's. An explicit year is kept as said. Numeric dates are month/day ('12/15').
- 'Friday' and 'this Friday' are the first Friday on or after today. 'next Friday' is the Friday of next week
  (weeks run Monday to Sunday, as 下周五 does): said on Monday 23 November it is 4 December, on a weekend it
  is the coming Friday. 'last Friday' is the Friday of last week.
- 'this weekend' is the coming Saturday, or today on a Sunday; 'next weekend' is next week's Saturday.
- Spans of time ('next week', 'next month', 'end of the week'), days only the borrower knows ('payday'),
  two different days ('Friday or Monday', 'Friday the 28th' when the 28th is a Saturday) and modifiers not
  read here ('Friday after next', '2 weeks from Friday') give None, so the form asks for a day instead of
  storing one the borrower did not name.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from english_text.numbers import words_to_digits

MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_MONTH_NUMBERS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_WEEKDAY = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"
_WEEKDAY_NUMBERS = {name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(?P<year>\d{4})\b)?"
_COUNT = r"(?P<count>\d{1,3}|an?)"
_CONSUMED = "\0"  # stands in for text a rule has read, so no later rule reads it again
# Left over once every rule has read its part, these change the day in ways not read here.
_UNREAD_MODIFIER = re.compile(r"\b(?:ago|after|from|next|last)\b|\b(?:days?|weeks?)\s+before\b")

Rule = Callable[[re.Match[str], date], "date | None"]


def _local_today(now: datetime, tz: str) -> date:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(tz)).date()


def _calendar_day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_month_day(month: int, day: int, today: date) -> date | None:
    """The first month/day on or after today; up to four years ahead, for 29 February."""
    for year in range(today.year, today.year + 5):
        candidate = _calendar_day(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """The first 'day'th on or after today, skipping months without one (the 31st)."""
    for offset in range(13):
        month = today.replace(day=1) + relativedelta(months=offset)
        candidate = _calendar_day(month.year, month.month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _month_day(month: int, day: int, year: str | None, today: date) -> date | None:
    if year is None:
        return _next_month_day(month, day, today)
    return _calendar_day(int(year) + (2000 if len(year) == 2 else 0), month, day)


def _iso(match: re.Match[str], today: date) -> date | None:
    return _calendar_day(int(match["year"]), int(match["month"]), int(match["day"]))


def _numeric(match: re.Match[str], today: date) -> date | None:
    return _month_day(int(match["month"]), int(match["day"]), match["year"], today)


def _named_month(match: re.Match[str], today: date) -> date | None:
    return _month_day(_MONTH_NUMBERS[match["month"][:3]], int(match["day"]), match["year"], today)


def _month_end(match: re.Match[str], today: date) -> date:
    month = today + relativedelta(months=1 if match["next"] else 0)
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _offset(match: re.Match[str], today: date) -> date:
    count = 1 if match["count"] in ("a", "an") else int(match["count"])
    start = today + timedelta(days=1 if match.groupdict().get("base") == "tomorrow" else 0)
    if match["unit"] == "month":
        return start + relativedelta(months=count)
    return start + timedelta(days=count * (7 if match["unit"] == "week" else 1))


def _day_of_month(match: re.Match[str], today: date) -> date | None:
    day = int(match["day"])
    if match.groupdict().get("which") == "next":
        month = today.replace(day=1) + relativedelta(months=1)
        return _calendar_day(month.year, month.month, day)
    return _next_day_of_month(day, today)


def _days_from_today(days: int) -> Rule:
    return lambda _match, today: today + timedelta(days=days)


def _weekend(match: re.Match[str], today: date) -> date:
    saturday = today + timedelta(days=5 - today.weekday())  # this week's, yesterday on a Sunday
    if match["which"] in ("next", "last"):
        return saturday + timedelta(days=7 if match["which"] == "next" else -7)
    return today if today.weekday() == 6 else saturday


def _weekday(match: re.Match[str], today: date) -> date:
    weekday = _WEEKDAY_NUMBERS[match["weekday"][:3]]
    which = match["week"] or match["week_before"] or match["which"]
    monday = today - timedelta(days=today.weekday())
    if which == "next":
        return monday + timedelta(days=7 + weekday)
    if which == "last":
        return monday + timedelta(days=weekday - 7)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


# Most specific first: 'day after tomorrow' before 'tomorrow', 'December 15th' before 'the 15th'.
_RULES: tuple[tuple[re.Pattern[str], Rule], ...] = tuple((re.compile(pattern), rule) for pattern, rule in (
    (r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b", _iso),
    (r"(?<![\d/.])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?(?![\d/]|\.\d)", _numeric),
    (rf"\b(?P<month>{MONTH})\s*(?:the\s+)?{_DAY}\b{_YEAR}", _named_month),
    (rf"\b(?:the\s+)?{_DAY}\s*(?:of\s+)?(?P<month>{MONTH})(?![a-z]){_YEAR}", _named_month),
    (r"\b(?:the\s+)?(?:end|last day)\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?month\b", _month_end),
    (rf"\b{_COUNT}\s+(?P<unit>day|week|month)s?\s+from\s+(?P<base>today|now|tomorrow)\b", _offset),
    (rf"\bin\s+{_COUNT}\s+(?P<unit>day|week|month)s?\b", _offset),
    (rf"\b(?:the\s+)?{_DAY}\s+of\s+(?:the\s+|this\s+|(?P<which>next)\s+)month\b", _day_of_month),
    (rf"\b(?P<which>next|this)\s+month,?\s+(?:on\s+)?(?:the\s+)?{_DAY}\b", _day_of_month),
    (r"\b(?:the\s+)?day\s+before\s+yesterday\b", _days_from_today(-2)),
    (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", _days_from_today(2)),
    (r"\b(?:tomorrow|tmrw|tmr)\b", _days_from_today(1)),
    (r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", _days_from_today(0)),
    (r"\byesterday\b", _days_from_today(-1)),
    (r"\b(?:(?P<which>this|next|last|the)\s+)?(?:coming\s+)?weekend\b", _weekend),
    (rf"\b(?:(?P<week_before>next|this|last)\s+week(?:'s)?\s+(?:on\s+)?)?(?:(?P<which>next|last|this)\s+)?"
     rf"(?:coming\s+)?(?P<weekday>{_WEEKDAY})\.?(?![a-z])(?:\s+(?:of\s+)?(?P<week>next|this|last)\s+week\b)?", _weekday),
    (rf"\bthe\s+{_DAY}\b(?!\.\d)", _day_of_month),
    (r"(?<![\d.$/])\b(?P<day>\d{1,2})(?:st|nd|rd|th)\b", _day_of_month),
))


def parse_date(text: str, now: datetime, tz: str) -> date | None:
    """Date expression → the calendar day it names in ``tz`` (an IANA zone), relative to ``now``.

    ``now`` must be timezone-aware: 'today' is the borrower's today, which need not be the UTC date.
    """
    today = _local_today(now, tz)
    unread = words_to_digits(text)
    found: list[tuple[Rule, date | None]] = []
    for pattern, rule in _RULES:
        for match in list(pattern.finditer(unread)):
            found.append((rule, rule(match, today)))
            unread = unread[: match.start()] + _CONSUMED * (match.end() - match.start()) + unread[match.end():]
    if _UNREAD_MODIFIER.search(unread.replace(_CONSUMED, " ")):
        return None
    # A weekday beside a date ('Friday, December 4', 'Monday the 30th') checks that date instead of naming one.
    dated = {day for rule, day in found if rule is not _weekday} or {day for _rule, day in found}
    day = dated.pop() if len(dated) == 1 else None
    if day is None:
        return None
    weekdays = {named.weekday() for rule, named in found if rule is _weekday and named is not None}
    return day if weekdays <= {day.weekday()} else None


def date_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` names a day in a form parse_date reads, found in the text as typed (number words are left
    to the model: reading them would move the positions)."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    for pattern, _rule in _RULES:
        for match in pattern.finditer(lowered):
            if match.end() > match.start() and not any(start < match.end() and match.start() < end
                                                       for start, end in taken):
                taken.append((match.start(), match.end()))
    return sorted(taken)

"""Money ('三千五' → 350000 cents, never float) and instalment counts ('分六期' → 6)."""
from __future__ import annotations

import re
from decimal import Decimal

from chinese_text.numerals import CN_DIGITS, CN_UNITS, NUM, NUM_CHARS, clean_numbers, cn_digit_string, cn_int

_CURRENCY_AFTER = r"(?:人民币|块钱|元钱|块|元|圆|钱|rmb|cny)"
_CURRENCY_BEFORE = r"(?:¥|￥|rmb|cny|人民币)"
_AMOUNT_SPAN = re.compile(
    rf"{NUM}(?:[.点][0-9{CN_DIGITS}]+[{CN_UNITS}]*)?", re.IGNORECASE
)
# '3块5' / '三元五角' / '3块5毛': yuan plus one digit of jiao (but not '一千块5号').
_JIAO_TAIL = re.compile(
    rf"(?:块|元)([0-9{CN_DIGITS}])(?:毛|角)?(?![0-9{NUM_CHARS}号日期月天周点个])"
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
    integer = cn_int(parts[0]) if parts[0] else 0
    if integer is None:
        return None
    if len(parts) == 1:
        return Decimal(integer)
    match = re.fullmatch(rf"([0-9{CN_DIGITS}]+)([{CN_UNITS}]*)", parts[1])
    if match is None:
        return None
    fraction = cn_digit_string(match.group(1))
    if fraction is None:
        return None
    multiplier = 1
    if match.group(2):
        if re.search(f"[{CN_UNITS}]", parts[0]):
            return None  # '一万二点五万' is not a number
        multiplier_value = cn_int("一" + match.group(2))
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
    cleaned = clean_numbers(text)
    span = _pick_amount_span(cleaned)
    if span is None:
        return None
    if cleaned[: span.start()].rstrip().endswith(_NEGATIVE_BEFORE):
        return None
    value = _span_to_decimal(span.group())
    tail = _JIAO_TAIL.match(cleaned, span.end())
    if value is not None and tail is not None and "." not in span.group():
        jiao = cn_digit_string(tail.group(1))
        value = None if jiao is None else value + Decimal(jiao) / 10
    if value is None or value < 0:
        return None
    cents = value * 100
    if cents != cents.to_integral_value():
        return None
    return int(cents)


_PERIODS_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"(?<!第)分\s*({NUM})\s*(?:期|个月|次)"), 1),
    (re.compile(rf"分\s*({NUM})\s*年"), 12),
    (re.compile(rf"(?<!第)(?<![{NUM_CHARS}])({NUM})\s*(?:期|个月)"), 1),
)


def parse_periods(text: str) -> int | None:
    """Number of instalments ('分六期' → 6, '12个月' → 12, '两期' → 2)."""
    cleaned = clean_numbers(text)
    for pattern, months_per_unit in _PERIODS_PATTERNS:
        match = pattern.search(cleaned)
        if match:
            count = cn_int(match.group(1))
            return count * months_per_unit if count and count > 0 else None
    if re.fullmatch(NUM, cleaned):
        count = cn_int(cleaned)
        return count if count and count > 0 else None
    return None


_PAY_VERB_BEFORE = re.compile(r"(?:还|转|付|交|凑|打款)\s*$")
_NOT_MONEY_AFTER_VERB = re.compile(r"^\s*(?:遍|回|下|会|部分|些|点|笔)")


def amount_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` names money plainly, for finding it in a sentence: a number with a currency word ('五百块',
    '300元') or right after a verb of paying ('先还伍佰', '转两千'); not a date, a count or an ordinal."""
    spans = []
    for match in _AMOUNT_SPAN.finditer(text):
        before, after = text[:match.start()], text[match.end():]
        if _NOT_MONEY_AFTER.match(after) or before.rstrip().endswith(_NOT_MONEY_BEFORE):
            continue
        currency = re.match(rf"\s*{_CURRENCY_AFTER}", after, re.IGNORECASE)
        if currency:
            spans.append((match.start(), match.end() + currency.end()))
        elif (_PAY_VERB_BEFORE.search(before) and not _NOT_MONEY_AFTER_VERB.match(after)
              and (len(match.group()) > 1 or match.group().isdigit())):
            spans.append((match.start(), match.end()))
    return [(start, end) for start, end in spans if parse_amount_cents(text[start:end]) is not None]

"""Number of monthly instalments in US English ('six months', '12 installments', 'half a year') → int."""
from __future__ import annotations

import re
from decimal import Decimal

from english_text.numbers import words_to_digits

# A count of payments or months, not money ('$300 monthly payments') and not an ordinal ('the 3rd payment').
_COUNT = re.compile(
    r"(?<![\d.$])(\d+)\s*(?:equal\s+|monthly\s+)?(?:payments?|installments?|instalments?|months?)\b"
)
# Spans with no digit for text2num to find, in months; longest first ('a year and a half' holds 'a year').
_SPOKEN_SPANS = (
    (re.compile(r"\b(?:a|1) year and a half\b"), 18),
    (re.compile(r"\bhalf (?:a )?year\b"), 6),
    (re.compile(r"\ba year\b"), 12),
)
_YEARS = re.compile(r"(?<![\d.$])(\d+(?:\.\d+)?)\s*years?\b")
_BARE_COUNT = re.compile(r"\d+")


def _months(text: str) -> Decimal | None:
    if match := _COUNT.search(text):
        return Decimal(match.group(1))
    for pattern, months in _SPOKEN_SPANS:
        if pattern.search(text):
            return Decimal(months)
    if match := _YEARS.search(text):
        return Decimal(match.group(1)) * 12
    return Decimal(text) if _BARE_COUNT.fullmatch(text) else None


def parse_periods(text: str) -> int | None:
    """Number of instalments ('6 payments' → 6, 'four monthly payments' → 4, 'two years' → 24, '6' → 6)."""
    count = _months(words_to_digits(text).strip(" .!?"))
    if count is None or count <= 0 or count != count.to_integral_value():
        return None
    return int(count)

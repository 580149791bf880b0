"""Money in US English ('$4,615.00', 'three hundred and fifty', '2k', 'two grand') → integer cents, never float."""
from __future__ import annotations

import re
from decimal import Decimal

from english_text.dates import MONTH
from english_text.numbers import words_to_digits

_THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Said before the digits are read: 'a grand' has no number for text2num, '2 thousand' comes back as '2 1000'.
_A_GRAND = re.compile(r"\ba grand\b")
_DIGITS_THOUSAND = re.compile(r"(?<=\d)\s*thousand\b")
_DOLLARS_AND_CENTS = re.compile(r"(\d+) dollars? (?:and )?(\d{1,2}) cents?\b")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?:\s*(k|grand)\b)?(?!\d|\.\d)")
_CURRENCY_BEFORE = re.compile(r"(?:\$|\bus\$|\busd)\s*$")
_CURRENCY_AFTER = re.compile(r"\s*(?:\$|dollars?\b|bucks?\b|usd\b)")
_NEGATIVE_BEFORE = re.compile(r"(?:-|\bminus|\bnegative)\s*$")
# A number that is a day, a date, a time or a count is not money ('the 28th', 'Dec 15', '12/15', '6 payments').
_NOT_MONEY_BEFORE = re.compile(rf"(?:[/:]|\b(?:on|by) the\s|\b{MONTH}\s|\b{MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?,?\s)$")
_NOT_MONEY_AFTER = re.compile(
    rf"^(?:[a-z]|\s*(?:[/:%]|{MONTH}\b|(?:cents?|payments?|installments?|instalments?|months?|weeks?|days?|years?"
    r"|times|percent|o'?clock|[ap]\.?m\b)\b))"
)


def _prepare_amount_text(text: str) -> str:
    cleaned = _A_GRAND.sub("1 grand", _DIGITS_THOUSAND.sub("k", text.lower()))
    cleaned = _THOUSANDS_SEPARATOR.sub("", words_to_digits(cleaned))
    return _DOLLARS_AND_CENTS.sub(lambda match: f"${match.group(1)}.{int(match.group(2)):02d}", cleaned)


def parse_amount_cents(text: str) -> int | None:
    """Money text → integer cents ('$1,000' → 100000, 'three hundred and fifty' → 35000, '1.5k' → 150000).

    A number tied to a currency word wins; otherwise the one number that is not a date, a time or a count.
    None when there is no such number, when two different amounts are named ('300 or 400'), for negative
    amounts, and for amounts that are not a whole number of cents.
    """
    cleaned = _prepare_amount_text(text)
    tied: list[Decimal] = []
    untied: list[Decimal] = []
    for match in _NUMBER.finditer(cleaned):
        before, after = cleaned[: match.start()], cleaned[match.end():]
        value = Decimal(match.group(1)) * (1000 if match.group(2) else 1)
        if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after):
            currency_free = _CURRENCY_BEFORE.sub("", before)
            tied.append(-value if _NEGATIVE_BEFORE.search(currency_free) else value)
        elif not (_NOT_MONEY_BEFORE.search(before) or _NOT_MONEY_AFTER.match(after)):
            untied.append(-value if _NEGATIVE_BEFORE.search(before) else value)
    named = set(tied or untied)
    if len(named) != 1:
        return None
    cents = named.pop() * 100
    if cents < 0 or cents != cents.to_integral_value():
        return None
    return int(cents)


# Money said in the forms a model trained on few examples misses: 'a grand', 'two grand', '$300', '1.5k', '300 bucks'.
_AMOUNT_SPAN = re.compile(
    r"\$\s?\d[\d,]*(?:\.\d+)?k?\b|\b\d[\d,]*(?:\.\d+)?\s?(?:k|grand|bucks|dollars?)\b"
    r"|\b(?:a|one|two|three|four|five|six|seven|eight|nine|ten|a couple|a few)\s+(?:grand|hundred(?:\s+(?:bucks|dollars))?)\b",
    re.IGNORECASE)


def amount_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` names money in one of those forms."""
    return [(match.start(), match.end()) for match in _AMOUNT_SPAN.finditer(text)
            if parse_amount_cents(match.group()) is not None]

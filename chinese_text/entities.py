"""Entity name + surface text → canonical value, as the NLU and its evaluation read entities."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chinese_text.amounts import parse_amount_cents, parse_periods
from chinese_text.dates import DEFAULT_TIMEZONE, parse_date
from chinese_text.identity import parse_id_last4


def _normalise_date(text: str, now: datetime, tz: str) -> str | None:
    parsed = parse_date(text, now, tz)
    return None if parsed is None else parsed.isoformat()


_NORMALISERS: dict[str, Callable[[str, datetime, str], object | None]] = {
    "amount": lambda text, _now, _tz: parse_amount_cents(text),
    "date": _normalise_date,
    "periods": lambda text, _now, _tz: parse_periods(text),
    "id_last4": lambda text, _now, _tz: parse_id_last4(text),
}


def normalise_entity(entity: str, text: str, now: datetime, tz: str = DEFAULT_TIMEZONE) -> object | None:
    """Entity name + surface text → canonical value: amount → cents (int), date → ISO
    'YYYY-MM-DD', periods → int, id_last4 → str. Unknown entities give None."""
    normaliser = _NORMALISERS.get(entity)
    return None if normaliser is None else normaliser(text, now, tz)

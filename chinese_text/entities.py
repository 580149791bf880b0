"""Entity name + surface text → canonical value, as the NLU and its evaluation read entities."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Callable

import english_text
from chinese_text.amounts import parse_amount_cents, parse_periods
from chinese_text.dates import DEFAULT_TIMEZONE, parse_date
from chinese_text.identity import parse_id_last4

Reader = Callable[[str, datetime, str], object]

_CHINESE_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SLASH_DATE = re.compile(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?")


def _without_clock(parse: Callable[[str], object]) -> Reader:
    return lambda text, _now, _tz: parse(text)


def _iso_date(parse: Callable[[str, datetime, str], "date | None"]) -> Reader:
    def read(text: str, now: datetime, tz: str) -> str | None:
        parsed = parse(text, now, tz)
        return None if parsed is None else parsed.isoformat()

    return read


_READERS: dict[str, tuple[Reader, Reader]] = {  # entity → (Chinese reader, English reader)
    "amount": (_without_clock(parse_amount_cents), _without_clock(english_text.parse_amount_cents)),
    "date": (_iso_date(parse_date), _iso_date(english_text.parse_date)),
    "periods": (_without_clock(parse_periods), _without_clock(english_text.parse_periods)),
    "id_last4": (_without_clock(parse_id_last4), _without_clock(english_text.parse_id_last4)),
}


def _readers_for(text: str, chinese: Reader, english: Reader) -> tuple[Reader, ...]:
    """Chinese characters: the Chinese reader alone, as before English was read. Latin letters and no Chinese
    ('2k', 'next Friday'): the English reader alone, since the Chinese one takes '2k' for 2 yuan and 'on the
    28th' for 28. Neither ('300', '12/15/2026'): Chinese first, English where it finds nothing."""
    normalised = unicodedata.normalize("NFKC", text)  # full-width letters are Latin ones
    if _CHINESE_CHARACTER.search(normalised):
        return (chinese,)
    if _LATIN_LETTER.search(normalised) or _SLASH_DATE.fullmatch(normalised.strip()):
        return (english,)  # '1/3' is month/day in both languages; the English reader rolls it forward
    return (chinese, english)


def normalise_entity(entity: str, text: str, now: datetime, tz: str = DEFAULT_TIMEZONE) -> object | None:
    """Entity name + surface text → canonical value: amount → cents (int), date → ISO
    'YYYY-MM-DD', periods → int, id_last4 → str. Unknown entities give None."""
    readers = _READERS.get(entity)
    if readers is None:
        return None
    for read in _readers_for(text, *readers):
        value = read(text, now, tz)
        if value is not None:
            return value
    return None

"""How money and dates are spoken to a borrower in Chinese."""
from __future__ import annotations

from datetime import date


def yuan(cents: int) -> str:
    """12345678 → '123,456.78元'; whole amounts drop the decimals ('2,000元')."""
    whole, fraction = divmod(cents, 100)
    text = f"{whole:,}"
    if fraction:
        text += f".{fraction:02d}"
    return f"{text}元"


def spoken_date(day: date, today: date | None = None) -> str:
    """Month and day, with the year only when it differs from today's."""
    if today is not None and day.year != today.year:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.month}月{day.day}日"

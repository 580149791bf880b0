"""Instalment schedule arithmetic: pure functions, no database, no policy."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

# A new plan's first instalment falls due this many days after it is agreed (bot and console alike).
FIRST_INSTALMENT_AFTER_DAYS = 7


def build_schedule(total_cents: int, periods: int, first_due: date) -> list[tuple[date, int]]:
    """Split `total_cents` into `periods` monthly instalments starting on `first_due`.

    Amounts sum exactly to the total and differ by at most one cent; the extra cents go
    first so the borrower never ends with a larger payment than they started with.
    Each date is computed from `first_due` (not from the previous date) so a month-end
    start stays at month end: Jan 31 -> Feb 28/29 -> Mar 31.
    """
    # bool is an int subclass and float money is a bug: refuse both explicitly.
    if not isinstance(total_cents, int) or isinstance(total_cents, bool):
        raise TypeError("total_cents must be an int number of cents")
    if not isinstance(periods, int) or isinstance(periods, bool):
        raise TypeError("periods must be an int")
    if periods < 1:
        raise ValueError("periods must be at least 1")
    if total_cents < periods:
        raise ValueError("total_cents must be at least one cent per period")

    base, extra = divmod(total_cents, periods)
    return [
        (first_due + relativedelta(months=index), base + (1 if index < extra else 0))
        for index in range(periods)
    ]

"""How money, dates and plans are worded to a borrower in Chinese: one wording for chat and the agent console,
and a short one for a listener on a call (a twelve-line schedule read aloud cannot be followed)."""
from __future__ import annotations

from datetime import date

from ledger.views import PlanView


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


def describe_plan(plan: PlanView, today: date) -> str:
    """'分3期，共3,000元（免分期手续费）：第1期 12月9日 1,000元；…。'"""
    schedule = "；".join(
        f"第{seq}期 {spoken_date(due, today)} {yuan(amount)}" for seq, (due, amount) in enumerate(plan.items, start=1)
    )
    fee = f"（含分期手续费{yuan(plan.fee_cents)}）" if plan.fee_cents else "（免分期手续费）"
    return f"分{plan.periods}期，共{yuan(plan.total_cents)}{fee}：{schedule}。"


def summarise_plan(plan: PlanView, today: date) -> str:
    """'分12期，每期约1,028元，首期12月9日，共12,336元（免分期手续费）。' — for voice."""
    first_due, first_amount = plan.items[0]
    amounts = {amount for _, amount in plan.items}
    each = f"每期{yuan(first_amount)}" if len(amounts) == 1 else f"每期约{yuan(round(plan.total_cents / plan.periods / 100) * 100)}"
    fee = f"（含分期手续费{yuan(plan.fee_cents)}）" if plan.fee_cents else "（免分期手续费）"
    return f"分{plan.periods}期，{each}，首期{spoken_date(first_due, today)}，共{yuan(plan.total_cents)}{fee}。"

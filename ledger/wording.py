"""How money, dates and plans are worded to a borrower, in Chinese or English: one wording for chat and the agent
console, and a short one for a listener on a call (a twelve-line schedule read aloud cannot be followed). Amounts
are said in the account's currency."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger.views import PlanView

LANGUAGES = ("zh", "en")
_CHINESE_CURRENCY_UNITS = {"CNY": "元", "USD": "美元"}
_ENGLISH_CURRENCY_SIGNS = {"USD": "$", "CNY": "¥"}


def _grouped(cents: int, always_decimals: bool) -> str:
    whole, fraction = divmod(cents, 100)
    text = f"{whole:,}"
    if fraction or always_decimals:
        text += f".{fraction:02d}"
    return text


def yuan(cents: int) -> str:
    """12345678 → '123,456.78元'; whole amounts drop the decimals ('2,000元')."""
    return f"{_grouped(cents, always_decimals=False)}元"


def spoken_date(day: date, today: date | None = None) -> str:
    """Month and day, with the year only when it differs from today's."""
    if today is not None and day.year != today.year:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.month}月{day.day}日"


def _rounded_instalment(plan: PlanView) -> int:
    """The instalment a listener can hold on to: the average, to the whole unit."""
    return round(plan.total_cents / plan.periods / 100) * 100


@dataclass(frozen=True)
class ChineseWording:
    currency: str = "CNY"
    language = "zh"

    def money(self, cents: int) -> str:
        return f"{_grouped(cents, always_decimals=False)}{_CHINESE_CURRENCY_UNITS.get(self.currency, self.currency)}"

    def date(self, day: date, today: date | None = None) -> str:
        return spoken_date(day, today)

    def options(self, periods: list[int]) -> str:
        return "、".join(map(str, periods))

    def describe_plan(self, plan: PlanView, today: date) -> str:
        """'分3期，共3,000元（免分期手续费）：第1期 12月9日 1,000元；…。'"""
        schedule = "；".join(f"第{seq}期 {self.date(due, today)} {self.money(amount)}"
                            for seq, (due, amount) in enumerate(plan.items, start=1))
        return f"分{plan.periods}期，共{self.money(plan.total_cents)}{self._fee(plan)}：{schedule}。"

    def summarise_plan(self, plan: PlanView, today: date) -> str:
        """'分12期，每期约1,028元，首期12月9日，共12,336元（免分期手续费）。' — for voice."""
        first_due, first_amount = plan.items[0]
        each = (f"每期{self.money(first_amount)}" if len({amount for _, amount in plan.items}) == 1
                else f"每期约{self.money(_rounded_instalment(plan))}")
        return (f"分{plan.periods}期，{each}，首期{self.date(first_due, today)}，"
                f"共{self.money(plan.total_cents)}{self._fee(plan)}。")

    def _fee(self, plan: PlanView) -> str:
        return f"（含分期手续费{self.money(plan.fee_cents)}）" if plan.fee_cents else "（免分期手续费）"


@dataclass(frozen=True)
class EnglishWording:
    currency: str = "USD"
    language = "en"

    def money(self, cents: int) -> str:
        """'$4,615.00': US statements always show the cents."""
        sign = _ENGLISH_CURRENCY_SIGNS.get(self.currency)
        amount = _grouped(cents, always_decimals=True)
        return f"{sign}{amount}" if sign else f"{amount} {self.currency}"

    def date(self, day: date, today: date | None = None) -> str:
        """'December 9', with the year only when it differs from today's."""
        text = f"{day:%B} {day.day}"
        return f"{text}, {day.year}" if today is not None and day.year != today.year else text

    def options(self, periods: list[int]) -> str:
        words = list(map(str, periods))
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"

    def describe_plan(self, plan: PlanView, today: date) -> str:
        """'3 monthly payments, $3,000.00 in total (no plan fee): 1) December 9, $1,000.00; …'"""
        schedule = "; ".join(f"{seq}) {self.date(due, today)}, {self.money(amount)}"
                             for seq, (due, amount) in enumerate(plan.items, start=1))
        return f"{plan.periods} monthly payments, {self.money(plan.total_cents)} in total {self._fee(plan)}: {schedule}."

    def summarise_plan(self, plan: PlanView, today: date) -> str:
        """'12 monthly payments of about $1,028.00, the first on December 9, $12,336.00 in total (no plan fee).'"""
        first_due, first_amount = plan.items[0]
        each = (f"of {self.money(first_amount)}" if len({amount for _, amount in plan.items}) == 1
                else f"of about {self.money(_rounded_instalment(plan))}")
        return (f"{plan.periods} monthly payments {each}, the first on {self.date(first_due, today)}, "
                f"{self.money(plan.total_cents)} in total {self._fee(plan)}.")

    def _fee(self, plan: PlanView) -> str:
        return f"(including a plan fee of {self.money(plan.fee_cents)})" if plan.fee_cents else "(no plan fee)"


Wording = ChineseWording | EnglishWording


def wording_for(language: str, currency: str = "CNY") -> Wording:
    return EnglishWording(currency) if language == "en" else ChineseWording(currency)


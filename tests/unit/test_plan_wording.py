"""A plan read aloud is one sentence; in chat it is the whole schedule; English borrowers hear their own currency."""
from __future__ import annotations

from datetime import date

from ledger.views import PlanView
from ledger.wording import ChineseWording, EnglishWording, wording_for

TODAY = date(2026, 11, 23)


def _plan(amounts: list[int], fee_cents: int = 0) -> PlanView:
    items = tuple((date(2026, 12 + i, 9) if i == 0 else date(2027, i, 9), amount) for i, amount in enumerate(amounts))
    return PlanView(plan_id=1, account_id="A1", conversation_id="c", periods=len(amounts), fee_cents=fee_cents,
                    total_cents=sum(amounts), items=items, status="proposed")


def test_twelve_instalments_are_summarised_in_one_sentence_for_a_listener():
    plan = _plan([102_800] * 11 + [102_900])
    spoken = ChineseWording().summarise_plan(plan, TODAY)
    assert spoken == "分12期，每期约1,028元，首期12月9日，共12,337元（免分期手续费）。"
    assert "第12期" in ChineseWording().describe_plan(plan, TODAY) and "第" not in spoken


def test_equal_instalments_and_a_fee_are_said_exactly():
    spoken = ChineseWording().summarise_plan(_plan([100_000] * 3, fee_cents=3_000), TODAY)
    assert spoken == "分3期，每期1,000元，首期12月9日，共3,000元（含分期手续费30元）。"


def test_english_wording_says_dollars_with_cents_and_english_dates():
    words = wording_for("en", "USD")
    assert words.money(461_500) == "$4,615.00"
    assert words.date(date(2026, 12, 9), TODAY) == "December 9"
    assert words.date(date(2027, 1, 9), TODAY) == "January 9, 2027"
    assert words.options([3, 6, 12]) == "3, 6 or 12"
    spoken = words.summarise_plan(_plan([100_000] * 3, fee_cents=3_000), TODAY)
    assert spoken == ("3 monthly payments of $1,000.00, the first on December 9, $3,000.00 in total "
                      "(including a plan fee of $30.00).")
    assert "2) January 9, 2027, $1,000.00" in words.describe_plan(_plan([100_000] * 3), TODAY)


def test_each_language_names_the_accounts_currency():
    assert wording_for("zh", "USD").money(461_500) == "4,615美元"
    assert wording_for("zh", "CNY").money(200_000) == "2,000元"
    assert EnglishWording("CNY").money(200_000) == "¥2,000.00"

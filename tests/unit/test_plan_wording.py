"""A plan read aloud is one sentence; in chat it is the whole schedule."""
from __future__ import annotations

from datetime import date

from ledger.views import PlanView
from ledger.wording import describe_plan, summarise_plan

TODAY = date(2026, 11, 23)


def _plan(amounts: list[int], fee_cents: int = 0) -> PlanView:
    items = tuple((date(2026, 12 + i, 9) if i == 0 else date(2027, i, 9), amount) for i, amount in enumerate(amounts))
    return PlanView(plan_id=1, account_id="A1", conversation_id="c", periods=len(amounts), fee_cents=fee_cents,
                    total_cents=sum(amounts), items=items, status="proposed")


def test_twelve_instalments_are_summarised_in_one_sentence_for_a_listener():
    plan = _plan([102_800] * 11 + [102_900])
    spoken = summarise_plan(plan, TODAY)
    assert spoken == "分12期，每期约1,028元，首期12月9日，共12,337元（免分期手续费）。"
    assert "第12期" in describe_plan(plan, TODAY) and "第" not in spoken


def test_equal_instalments_and_a_fee_are_said_exactly():
    spoken = summarise_plan(_plan([100_000] * 3, fee_cents=3_000), TODAY)
    assert spoken == "分3期，每期1,000元，首期12月9日，共3,000元（含分期手续费30元）。"

"""The collection policy: what each risk tier may be offered."""

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from configuration.files import ConfigFileError
from ledger.policy import (
    DEFAULT_POLICY_PATH,

    allowed_periods,
    decide_extension,
    decide_fee_waiver,
    hardship_offer,
    load_policy,
    plan_fee_cents,
    promise_window,
)
from ledger.views import AccountView

TODAY = date(2025, 3, 10)
POLICY = load_policy()


def account(tier="A", principal=1_000_000, interest=0, fees=50_000, dpd=15, status="collecting"):
    return AccountView(
        account_id="A1", borrower_id="B1", lender_name="安信消费金融",
        principal_cents=principal, interest_cents=interest, fees_cents=fees,
        balance_cents=principal + interest + fees, due_date=TODAY - timedelta(days=dpd),
        days_past_due=dpd, risk_tier=tier, status=status,
    )


def test_shipped_policy_has_the_documented_numbers():
    a, b, c, d = (POLICY.tiers[tier] for tier in "ABCD")
    assert (a.allowed_periods, b.allowed_periods, c.allowed_periods, d.allowed_periods) == (
        (2, 3, 6, 12), (2, 3, 6), (2, 3), (2, 3))
    assert [t.promise_horizon_days for t in (a, b, c, d)] == [30, 14, 7, 7]
    assert [t.max_extension_days for t in (a, b, c, d)] == [15, 7, 3, 0]
    assert all(t.min_instalment_cents == 20_000 and t.plan_fee_bps_per_period == 50 for t in (a, b, c, d))


@pytest.mark.parametrize("tier, expected", [("A", [2, 3, 6, 12]), ("B", [2, 3, 6]), ("C", [2, 3]), ("D", [2, 3])])
def test_large_balance_gets_every_length_of_its_tier(tier, expected):
    assert allowed_periods(account(tier, principal=10_000_000), False, POLICY) == expected


def test_small_balance_only_gets_lengths_above_the_minimum_instalment():
    # 1,000 元: 2 periods -> 500 元, 3 -> 333.33 元, 6 -> 166.66 元 (< 200 元 minimum).
    small = account("A", principal=100_000, fees=0)
    assert allowed_periods(small, False, POLICY) == [2, 3]
    for periods in allowed_periods(small, False, POLICY):
        assert small.balance_cents // periods >= 20_000


def test_instalment_exactly_at_the_minimum_qualifies():
    edge = account("A", principal=240_000, fees=0)  # 2,400 元 / 12 = 200 元
    assert 12 in allowed_periods(edge, False, POLICY)
    assert 12 not in allowed_periods(account("A", principal=239_999, fees=0), False, POLICY)


def test_balance_below_two_minimum_instalments_gets_no_plan():
    small = account("B", principal=30_000, fees=0)
    assert allowed_periods(small, False, POLICY) == []
    assert hardship_offer(small, POLICY) is None


def test_hardship_gets_the_same_lengths_and_leads_with_the_longest():
    edge = account("A", principal=240_000, fees=0)
    assert allowed_periods(edge, True, POLICY) == allowed_periods(edge, False, POLICY)
    assert hardship_offer(account("A", principal=10_000_000), POLICY) == 12
    assert hardship_offer(account("C", principal=10_000_000), POLICY) == 3


def test_plan_fee_is_half_percent_per_period_rounded_half_up():
    assert plan_fee_cents(1_234_567, 3, "A", False, POLICY) == 18_519  # 18518.505 -> 18519
    assert plan_fee_cents(1_000_000, 12, "A", False, POLICY) == 60_000
    assert plan_fee_cents(1_000_000, 12, "A", True, POLICY) == 0


def test_promise_window_follows_tier_horizon():
    assert promise_window("A", TODAY, POLICY) == (TODAY, TODAY + timedelta(days=30))
    assert promise_window("B", TODAY, POLICY) == (TODAY, TODAY + timedelta(days=14))
    assert promise_window("D", TODAY, POLICY) == (TODAY, TODAY + timedelta(days=7))


def test_hardship_within_ninety_days_waives_late_fees_in_full():
    decision = decide_fee_waiver(account("C", fees=33_333, dpd=90), True, POLICY)
    assert (decision.granted, decision.waived_cents, decision.reason_code) == (True, 33_333, "hardship_full")


def test_without_hardship_tier_a_and_b_get_a_partial_waiver():
    assert decide_fee_waiver(account("A", fees=33_333), False, POLICY).waived_cents == 16_667  # 50 %, half up
    assert decide_fee_waiver(account("B", fees=40_000, dpd=45), False, POLICY).waived_cents == 10_000  # 25 %


def test_hardship_beyond_ninety_days_falls_back_to_the_tier_rule():
    assert decide_fee_waiver(account("B", fees=40_000, dpd=91), True, POLICY).reason_code == "partial_by_tier"
    declined = decide_fee_waiver(account("C", fees=40_000, dpd=120), True, POLICY)
    assert (declined.granted, declined.waived_cents, declined.reason_code) == (False, 0, "not_eligible")


def test_no_fees_means_nothing_to_waive():
    assert decide_fee_waiver(account("A", fees=0), True, POLICY).reason_code == "no_fees"


def test_extension_within_tier_maximum_is_granted_from_today_when_overdue():
    decision = decide_extension(account("A", dpd=15), 10, TODAY, POLICY)
    assert decision.granted and decision.new_due_date == TODAY + timedelta(days=10)


def test_extension_counts_from_a_future_due_date():
    not_due = replace(account("B"), due_date=TODAY + timedelta(days=3), days_past_due=0)
    assert decide_extension(not_due, None, TODAY, POLICY).new_due_date == TODAY + timedelta(days=10)


def test_extension_longer_than_tier_maximum_is_declined_with_the_maximum():
    decision = decide_extension(account("B"), 10, TODAY, POLICY)
    assert (decision.granted, decision.reason_code, decision.max_days) == (False, "exceeds_tier_maximum", 7)


def test_tier_d_gets_no_extension():
    assert decide_extension(account("D", dpd=200), 1, TODAY, POLICY).reason_code == "tier_not_eligible"


def test_non_positive_extension_request_is_invalid():
    assert decide_extension(account("A"), 0, TODAY, POLICY).reason_code == "invalid_request"


def _write_policy(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_plan_length_names_the_key(tmp_path):
    path = _write_policy(tmp_path, lambda raw: raw["tiers"]["B"].__setitem__("allowed_periods", [2, 5]))
    with pytest.raises(ConfigFileError, match=r"tiers\.B\.allowed_periods"):
        load_policy(path)


def test_misspelt_key_names_the_key(tmp_path):
    def misspell(raw):
        raw["tiers"]["A"]["promise_horizon_dayz"] = raw["tiers"]["A"].pop("promise_horizon_days")
    with pytest.raises(ConfigFileError, match=r"tiers\.A\.promise_horizon_dayz") as error:
        load_policy(_write_policy(tmp_path, misspell))
    assert "tiers.A.promise_horizon_days" in str(error.value)  # and the missing one


def test_float_money_in_policy_names_the_key(tmp_path):
    path = _write_policy(tmp_path, lambda raw: raw["tiers"]["C"].__setitem__("min_instalment_cents", 200.5))
    with pytest.raises(ConfigFileError, match=r"tiers\.C\.min_instalment_cents"):
        load_policy(path)


def test_a_lockout_that_never_locks_names_the_key(tmp_path):
    path = _write_policy(tmp_path, lambda raw: raw["verification"].__setitem__("max_failures", 0))
    with pytest.raises(ConfigFileError, match=r"verification\.max_failures"):
        load_policy(path)


def test_missing_tier_is_reported(tmp_path):
    path = _write_policy(tmp_path, lambda raw: raw["tiers"].pop("D"))
    with pytest.raises(ConfigFileError, match=r"tiers.*missing \['D'\]"):
        load_policy(path)


def test_unreadable_yaml_is_reported(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("tiers: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        load_policy(path)

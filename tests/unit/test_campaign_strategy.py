"""The strategy file: validation at load, and which segment the facts of a borrower put them in."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from campaigns.strategy import STRATEGY_PATH, load_strategy
from configuration.files import ConfigFileError
from ledger.portfolio import BorrowerFacts

BASE = BorrowerFacts(borrower_id="B1", account_id="A1", timezone="Asia/Shanghai", language="zh", days_past_due=10,
                     balance_cents=500_000, risk_tier="A", broken_promises=0, open_dispute=False, hardship=False,
                     days_since_contact=None)


@pytest.fixture(scope="module")
def strategy():
    return load_strategy()


@pytest.mark.parametrize("days, segment, campaign", [
    (-5, "not_due", None), (-3, "pre_due_d3", "pre_due_reminders"), (-2, "not_due", None),
    (-1, "pre_due_d1", "pre_due_reminders"), (0, "due_today", "pre_due_reminders"), (1, "dpd_1_30", "early_overdue"),
    (30, "dpd_1_30", "early_overdue"), (31, "dpd_31_60_silent", "late_overdue"), (61, "dpd_61_90", "late_overdue"),
    (90, "dpd_61_90", "late_overdue"), (91, "dpd_90_plus", "late_overdue"), (400, "dpd_90_plus", "late_overdue"),
])
def test_days_past_due_buckets(strategy, days, segment, campaign):
    placement = strategy.place(replace(BASE, days_past_due=days))
    assert (placement.segment, placement.campaign) == (segment, campaign)


def test_history_and_risk_move_a_borrower(strategy):
    assert strategy.place(replace(BASE, risk_tier="D")).segment == "dpd_1_30_higher_risk"
    assert strategy.place(replace(BASE, broken_promises=1)).segment == "promise_broken"
    assert strategy.place(replace(BASE, days_past_due=40, days_since_contact=3)).segment == "dpd_31_60"
    assert strategy.place(replace(BASE, days_past_due=40, days_since_contact=20)).segment == "dpd_31_60_silent"
    hardship = strategy.place(replace(BASE, hardship=True, broken_promises=2))
    assert (hardship.segment, hardship.treatment.script, hardship.treatment.offer.max_periods) == (
        "hardship", "hardship", 12)
    stopped = strategy.place(replace(BASE, contact_stopped=True, open_dispute=True))
    assert (stopped.segment, stopped.campaign) == ("contact_stopped", None)
    # A dispute outranks everything else, and nobody contacts a borrower who disputes.
    disputed = strategy.place(replace(BASE, open_dispute=True, hardship=True, days_past_due=-3))
    assert (disputed.segment, disputed.campaign, disputed.treatment.channels) == ("dispute_hold", None, ())


def test_channels_take_turns(strategy):
    treatment = strategy.place(replace(BASE, days_past_due=5)).treatment
    assert [treatment.channel_for(n) for n in range(4)] == ["message", "call", "message", "call"]


def _write(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(STRATEGY_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "strategy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, key, words", [
    (lambda d: d["segments"][0].update(treatment="gentle"), "(top level)", "unknown treatment 'gentle'"),
    (lambda d: d["campaigns"]["late_overdue"]["segments"].append("dpd_1_30"), "(top level)",
     "segment 'dpd_1_30' is in campaigns"),
    (lambda d: d["segments"].pop(), "(top level)", "last segment must have no conditions"),
    (lambda d: d["campaigns"].pop("hardship_support"), "(top level)", "'hardship' contacts borrowers but is in no campaign"),
    (lambda d: d["treatments"]["firm"].update(preferred_hours=[["20:00", "21:30"]]), "treatments.firm.preferred_hours",
     "outside the 'china' contact window 08:00-21:00"),
    (lambda d: d["treatments"]["firm"].update(cadence=3), "treatments.firm.cadence", "Extra inputs"),
    (lambda d: d["treatments"]["firm"].update(script="scare"), "treatments.firm.script", "Input should be"),
    (lambda d: d["segments"][3]["when"].update(days_past_due=[-3, "x"]), "segments.3.when.days_past_due.1", "valid integer"),
])
def test_a_bad_strategy_stops_start_up_naming_the_key(tmp_path, edit, key, words):
    with pytest.raises(ConfigFileError) as raised:
        load_strategy(_write(tmp_path, edit))
    assert raised.value.key == key
    assert words in str(raised.value)

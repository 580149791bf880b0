"""Portfolio facts, segment history and the contacts a tick plans, on a real seeded SQLite ledger."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from campaigns.tick import ABANDONED_AFTER, CampaignTick
from ledger.follow_up import FollowUp
from ledger.campaign_records import CampaignRecords, ContactPlan
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import PromiseToPay
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio

AS_OF = date(2026, 11, 23)
# 10:30 in Shanghai (UTC+8) is 02:30 UTC; New York (UTC-5 in winter) is 21:30 the evening before.
SHANGHAI_MORNING = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    seed_demo_portfolio(factory, count=30, as_of=AS_OF, us_count=4)
    yield factory
    engine.dispose()


@pytest.fixture
def records(sessions):
    return CampaignRecords(sessions)


@pytest.fixture
def segmenter(sessions, records):
    return Segmenter(load_strategy(), Portfolio(sessions), records)


@pytest.fixture
def tick(sessions, segmenter, records):
    return CampaignTick(segmenter, records, FollowUp(sessions, Ledger(sessions).policy))


def test_facts_count_days_in_the_borrowers_own_calendar(sessions):
    portfolio = Portfolio(sessions)
    # B000001 is 15 days past due as of 2026-11-23 (Shanghai); B000004 60 days (New York).
    late_evening_utc = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 01:00 on the 24th in Shanghai, noon in NY
    facts = {f.borrower_id: f for f in portfolio.facts(late_evening_utc, ["B000001", "B000004"])}
    assert facts["B000001"].days_past_due == 16
    assert facts["B000004"].days_past_due == 60
    assert facts["B000001"].account_id == "A000001-1"
    assert facts["B000001"].balance_cents == 1_100_000 + 89_067 + 45_500


def test_every_move_is_recorded_once_with_its_reason(sessions, segmenter, records):
    segmenter.place_all(SHANGHAI_MORNING)
    first = records.current_segments()
    assert first["B000001"].segment == "dpd_1_30" and first["B000001"].previous_segment is None
    assert "days past due 15" in first["B000001"].reason
    segmenter.place_all(SHANGHAI_MORNING + timedelta(hours=1))
    assert len(records.segment_history("B000001")) == 1  # nothing moved, nothing written

    ledger = Ledger(sessions)
    ledger.record_claim("B000001", "A000001-1", "conv-1", "dispute", detail="not my loan")
    segmenter.place_now(["B000001"], "dispute recorded in conv-1", SHANGHAI_MORNING + timedelta(hours=2))
    history = records.segment_history("B000001")
    assert [(h.previous_segment, h.segment) for h in history] == [(None, "dpd_1_30"), ("dpd_1_30", "dispute_hold")]
    assert history[-1].reason.startswith("dispute recorded in conv-1; ")


def test_a_broken_promise_moves_the_borrower_at_once(sessions, segmenter, records):
    ledger = Ledger(sessions)
    promise = ledger.record_promise("A000001-1", "conv-1", 100_000, AS_OF + timedelta(days=2), AS_OF)
    segmenter.place_all(SHANGHAI_MORNING)
    with sessions.begin() as session:
        session.execute(update(PromiseToPay).where(PromiseToPay.id == promise.promise_id).values(status="broken"))
    segmenter.place_now(["B000001"], f"promise {promise.promise_id} broken", SHANGHAI_MORNING + timedelta(days=3))
    assert records.current_segments(["B000001"])["B000001"].segment == "promise_broken"


def test_a_tick_plans_contacts_in_preferred_hours_of_each_borrowers_zone(sessions, tick):
    in_us = {f.borrower_id for f in Portfolio(sessions).facts(SHANGHAI_MORNING) if f.timezone.startswith("America/")}
    assert "B000004" in in_us and len(in_us) == 5
    morning = tick.run(SHANGHAI_MORNING)
    assert "B000001" in {plan.borrower_id for plan in morning.due} and morning.placed == 34
    assert not in_us & {plan.borrower_id for plan in morning.due}, "late evening in the US: nobody there"
    plan = next(p for p in morning.due if p.borrower_id == "B000001")
    assert (plan.campaign, plan.segment, plan.channel, plan.script, plan.contact_key) == (
        "early_overdue", "dpd_1_30", "message", "overdue_gentle", "early_overdue:2026-11-23")
    # 07:30 in Shanghai is before every preferred hour (the US is in the afternoon then).
    assert {p.borrower_id for p in tick.run(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)).due} <= in_us
    # 10:30 in New York, 23:30 in Shanghai: only US borrowers.
    us_morning = {p.borrower_id for p in tick.run(datetime(2026, 11, 23, 15, 30, tzinfo=UTC)).due}
    assert "B000004" in us_morning and us_morning <= in_us


def test_cadence_channel_turns_and_pause(tick, records):
    plan = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000001")
    claimed = records.claim_contact(plan, SHANGHAI_MORNING)
    assert records.claim_contact(plan, SHANGHAI_MORNING) is None, "a second worker finds the claim"
    records.finish_contact(claimed.attempt_id, "sent", SHANGHAI_MORNING, provider_id="SM1")
    assert "B000001" not in {p.borrower_id for p in tick.run(SHANGHAI_MORNING + timedelta(hours=1)).due}
    # message_first: every 2 days, and the second contact in the segment is a call.
    assert "B000001" not in {p.borrower_id for p in tick.run(SHANGHAI_MORNING + timedelta(days=1)).due}
    again = next(p for p in tick.run(SHANGHAI_MORNING + timedelta(days=2)).due if p.borrower_id == "B000001")
    assert (again.channel, again.contact_key) == ("call", "early_overdue:2026-11-25")

    records.set_campaign_status("early_overdue", "paused", "supervisor1", SHANGHAI_MORNING)
    assert not any(p.campaign == "early_overdue" for p in tick.run(SHANGHAI_MORNING + timedelta(days=2)).due)
    records.set_campaign_status("early_overdue", "active", "supervisor1", SHANGHAI_MORNING)
    assert any(p.campaign == "early_overdue" for p in tick.run(SHANGHAI_MORNING + timedelta(days=2)).due)


def test_a_refused_contact_is_not_planned_again_that_day_but_a_deferred_one_is(tick, records):
    plan = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000002")
    refused = records.claim_contact(plan, SHANGHAI_MORNING)
    records.finish_contact(refused.attempt_id, "refused", SHANGHAI_MORNING, reason="do_not_contact")
    other = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000001")
    deferred = records.claim_contact(other, SHANGHAI_MORNING)
    records.finish_contact(deferred.attempt_id, "deferred", SHANGHAI_MORNING, reason="no_free_line")
    due = {p.borrower_id for p in tick.run(SHANGHAI_MORNING + timedelta(minutes=1)).due}
    assert "B000002" not in due and "B000001" in due
    retaken = records.claim_contact(other, SHANGHAI_MORNING + timedelta(minutes=1))
    assert retaken.attempt_id == deferred.attempt_id and retaken.status == "planned"


def test_booked_callbacks_are_called_at_their_time_once(sessions, tick, records):
    ledger = Ledger(sessions)
    booked = ledger.record_callback("B000002", "conv-9", SHANGHAI_MORNING + timedelta(hours=3))
    assert not any(p.campaign == "callbacks" for p in tick.run(SHANGHAI_MORNING).due)
    at_time = [p for p in tick.run(SHANGHAI_MORNING + timedelta(hours=3, minutes=1)).due if p.campaign == "callbacks"]
    assert [(p.borrower_id, p.channel, p.contact_key) for p in at_time] == [
        ("B000002", "call", f"callback:{booked.callback_id}")]
    claimed = records.claim_contact(at_time[0], SHANGHAI_MORNING + timedelta(hours=3, minutes=1))
    records.finish_contact(claimed.attempt_id, "dialled", SHANGHAI_MORNING, provider_id="CA1")
    later = tick.run(SHANGHAI_MORNING + timedelta(hours=3, minutes=2)).due
    assert not any(p.campaign == "callbacks" for p in later)
    # Missed by more than the grace (the worker was down): left to a person, not called late.
    ledger.record_callback("B000003", "conv-10", SHANGHAI_MORNING)
    assert not any(p.borrower_id == "B000003" and p.campaign == "callbacks"
                   for p in tick.run(SHANGHAI_MORNING + timedelta(hours=5)).due)


def test_claims_race_between_workers(sessions, records, tick):
    from concurrent.futures import ThreadPoolExecutor

    plan = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000001")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: records.claim_contact(plan, SHANGHAI_MORNING), range(8)))
    assert sum(result is not None for result in results) == 1
    assert isinstance(plan, ContactPlan)


def test_the_day_before_a_promise_falls_due_a_reminder_is_planned_once(sessions, tick, records):
    ledger = Ledger(sessions)
    promise = ledger.record_promise("A000002-1", "conv-3", 50_000, AS_OF + timedelta(days=1), AS_OF)
    reminders = [p for p in tick.run(SHANGHAI_MORNING).due if p.campaign == "follow_up_reminders"]
    assert [(p.borrower_id, p.channel, p.script, p.contact_key) for p in reminders] == [
        ("B000002", "message", "promise_due", f"reminder:promise:{promise.promise_id}")]
    sent = records.claim_contact(reminders[0], SHANGHAI_MORNING)
    records.finish_contact(sent.attempt_id, "sent", SHANGHAI_MORNING, provider_id="SM9")
    assert not any(p.campaign == "follow_up_reminders" for p in tick.run(SHANGHAI_MORNING + timedelta(hours=1)).due)


def test_the_day_before_an_instalment_falls_due_a_reminder_is_planned_once(sessions, tick, records):
    ledger = Ledger(sessions)
    plan = ledger.propose_plan("A000003-1", "conv-5", 3, AS_OF + timedelta(days=1), hardship=False)
    assert not any(p.campaign == "follow_up_reminders" for p in tick.run(SHANGHAI_MORNING).due), "proposed only"
    ledger.accept_plan(plan.plan_id)
    reminders = [p for p in tick.run(SHANGHAI_MORNING).due if p.campaign == "follow_up_reminders"]
    assert [(p.borrower_id, p.channel, p.script, p.contact_key) for p in reminders] == [
        ("B000003", "message", "instalment_due", f"reminder:instalment:{plan.plan_id}/1")]
    sent = records.claim_contact(reminders[0], SHANGHAI_MORNING)
    records.finish_contact(sent.attempt_id, "sent", SHANGHAI_MORNING, provider_id="SM10")
    assert not any(p.campaign == "follow_up_reminders" for p in tick.run(SHANGHAI_MORNING + timedelta(hours=1)).due)
    # The next instalment is a month away: no reminder the day after either.
    assert not any(p.campaign == "follow_up_reminders" for p in tick.run(SHANGHAI_MORNING + timedelta(days=1)).due)


def test_a_claim_whose_worker_died_before_its_outcome_is_closed_as_unknown_after_a_safe_while(tick, records):
    plan = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000001")
    claimed = records.claim_contact(plan, SHANGHAI_MORNING)  # ... and the worker is killed before any outcome
    tick.run(SHANGHAI_MORNING + ABANDONED_AFTER - timedelta(seconds=1))
    assert records.get_contact(claimed.attempt_id).status == "planned"  # it may still be under way
    closed_at = SHANGHAI_MORNING + ABANDONED_AFTER + timedelta(seconds=1)
    tick.run(closed_at)
    closed = records.get_contact(claimed.attempt_id)
    assert (closed.status, closed.reason, closed.updated_at) == ("unknown", "unknown_after_crash", closed_at)
    assert [(c.attempt_id, c.status) for c in records.contacts_for("B000001")] == [(claimed.attempt_id, "unknown")]
    counts = records.campaign_counts(SHANGHAI_MORNING - timedelta(hours=1))["early_overdue"]
    assert (counts.by_status, counts.refused) == ({"unknown": 1}, {"unknown_after_crash": 1})
    # Never made again (it may have gone out): the job redelivered finds it decided, and the cadence counts it.
    assert records.claim_contact(plan, closed_at) is None
    assert "B000001" not in {p.borrower_id for p in tick.run(SHANGHAI_MORNING + timedelta(days=1)).due}


def test_a_deferred_contact_taken_up_again_is_not_closed_as_abandoned(tick, records):
    plan = next(p for p in tick.run(SHANGHAI_MORNING).due if p.borrower_id == "B000001")
    deferred = records.claim_contact(plan, SHANGHAI_MORNING)
    records.finish_contact(deferred.attempt_id, "deferred", SHANGHAI_MORNING, reason="no_free_line")
    retaken_at = SHANGHAI_MORNING + ABANDONED_AFTER * 2  # claimed long ago, taken up again just now
    records.claim_contact(plan, retaken_at)
    tick.run(retaken_at + timedelta(minutes=1))
    assert records.get_contact(deferred.attempt_id).status == "planned"


def test_a_broken_promise_found_by_the_tick_moves_the_borrower_with_the_reason(sessions, tick, records):
    ledger = Ledger(sessions)
    promise = ledger.record_promise("A000001-1", "conv-4", 80_000, AS_OF + timedelta(days=1), AS_OF)
    tick.run(SHANGHAI_MORNING)
    assert records.current_segments(["B000001"])["B000001"].segment == "dpd_1_30"
    tick.run(SHANGHAI_MORNING + timedelta(days=3))  # the promised day and its grace day have passed unpaid
    moved = records.current_segments(["B000001"])["B000001"]
    assert moved.segment == "promise_broken"
    assert moved.reason.startswith(f"promise broken {promise.promise_id}; ")


def test_a_settled_account_leaves_the_strategy_on_the_record(sessions, segmenter, records):
    from ledger.payments import Payments

    segmenter.place_all(SHANGHAI_MORNING)
    account = Ledger(sessions).get_account("A000001-1")
    Payments(sessions, Ledger(sessions).policy, lambda: SHANGHAI_MORNING).record(
        "P-SETTLE-1", "A000001-1", account.balance_cents, "CNY", SHANGHAI_MORNING, "api")
    segmenter.place_now(["B000001"], "payment P-SETTLE-1 received", SHANGHAI_MORNING)
    last = records.segment_history("B000001")[-1]
    assert (last.previous_segment, last.segment) == ("dpd_1_30", "closed")
    assert last.reason == "payment P-SETTLE-1 received; nothing left to collect"
    segmenter.place_all(SHANGHAI_MORNING + timedelta(hours=1))
    assert len(records.segment_history("B000001")) == 2


def test_the_consoles_due_now_is_the_ticks_planning_asked_at_most_once_per_tick(tick, records):
    import asyncio
    from collections import Counter

    from campaigns.due_now import DueNow

    clock = [0.0]
    due = DueNow(tick, 60, lambda: clock[0])
    first = asyncio.run(due.counts(SHANGHAI_MORNING))
    assert first == Counter(plan.campaign for plan in tick.run(SHANGHAI_MORNING).due) and first["early_overdue"] >= 1
    plan = next(plan for plan in tick.due_now(SHANGHAI_MORNING) if plan.campaign == "early_overdue")
    records.claim_contact(plan, SHANGHAI_MORNING)  # a worker takes one
    clock[0] = 59.0
    assert asyncio.run(due.counts(SHANGHAI_MORNING)) == first  # within the tick interval: as counted
    clock[0] = 60.0
    assert asyncio.run(due.counts(SHANGHAI_MORNING))["early_overdue"] == first["early_overdue"] - 1

"""ledger.kpis on a small ledger built by hand, on SQLite and PostgreSQL: every figure below was counted by hand
from the rows this file writes (two local days in Shanghai, with rows just outside them on both sides)."""
from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.audit import AuditTrail
from ledger.kpis import KpiQuery, KpiRequestError, compute_kpis, kpis_csv
from ledger.models import (
    CampaignContact, Claim, Complaint, ConversationRecord, DoNotContact, FollowUpEvent, HandoffRequest, LoanAccount,
    Payment, PromiseToPay, QualityReview, ReviewItem, ReviewRequest, SegmentChange,
)
from ledger.seed import seed_demo_portfolio
from tests.unit.ledger_databases import session_factory  # noqa: F401 - the fixture: SQLite and PostgreSQL

START, END = date(2026, 11, 10), date(2026, 11, 11)  # Shanghai days: 2026-11-09 16:00 UTC to 2026-11-11 16:00 UTC
DUE = {"A000001-1": date(2026, 11, 1), "A000002-1": date(2026, 10, 11), "A000003-1": date(2026, 11, 11),
       "A000004-1": date(2026, 9, 1)}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def _contact(attempt_id, borrower, campaign, segment, channel, status, at) -> CampaignContact:
    return CampaignContact(attempt_id=attempt_id, borrower_id=borrower, account_id=f"A{borrower[1:]}-1",
                           campaign=campaign, segment=segment, contact_key=attempt_id, channel=channel,
                           script="overdue_gentle", status=status, reason="", planned_at=at, updated_at=at)


def _conversation(conversation_id, borrower, channel, at, verified) -> ConversationRecord:
    return ConversationRecord(conversation_id=conversation_id, borrower_id=borrower, channel=channel, started_at=at,
                              ended_at=at + timedelta(minutes=5), identity_verified=verified, outcome="done")


def _promise(conversation_id, cents, status, at) -> PromiseToPay:
    return PromiseToPay(account_id="A000001-1", conversation_id=conversation_id, amount_cents=cents,
                        promised_date=date(2026, 11, 15), status=status, created_at=at)


def _review(item_id, no_pressure, at) -> QualityReview:
    return QualityReview(item_id=item_id, reviewer="qa1", identity_before_detail="pass", ai_disclosed="pass",
                         no_pressure=no_pressure, correct_figures="na", handoff_when_asked="na", reviewed_at=at)


def _payment(payment_id, cents, at) -> Payment:
    return Payment(payment_id=payment_id, account_id="A000001-1", amount_cents=cents, currency="CNY", paid_at=at,
                   received_at=at, source="api", applied_cents=cents, credit_cents=0, balance_after_cents=1)


@pytest.fixture
def ledger(session_factory):  # noqa: F811 - the imported fixture
    sessions = session_factory
    seed_demo_portfolio(sessions, count=4, us_count=0, as_of=date(2026, 11, 1))
    with sessions.begin() as session:
        for account_id, due in DUE.items():
            session.execute(update(LoanAccount).where(LoanAccount.account_id == account_id).values(due_date=due))
        for borrower, segment in (("B000001", "dpd_1_30"), ("B000002", "dpd_1_30_higher_risk"),
                                  ("B000003", "pre_due_d1"), ("B000004", "dpd_61_90")):
            session.add(SegmentChange(borrower_id=borrower, account_id=f"A{borrower[1:]}-1", segment=segment,
                                      previous_segment=None, reason="placed", changed_at=utc(1, 1)))
        session.add_all([
            # Calls placed in the range: c1, c2, c4, c7 (00:30 on the 10th in Shanghai); answered: c1, c4.
            _contact("c1", "B000001", "early_overdue", "dpd_1_30", "call", "answered", utc(10, 2)),
            _contact("c2", "B000002", "early_overdue", "dpd_1_30_higher_risk", "call", "no_answer", utc(10, 2)),
            _contact("c3", "B000003", "pre_due_reminders", "pre_due_d1", "message", "sent", utc(10, 2)),
            _contact("c4", "B000001", "early_overdue", "dpd_1_30", "call", "answered", utc(11, 2)),
            _contact("c5", "B000002", "early_overdue", "dpd_1_30_higher_risk", "call", "refused", utc(10, 3)),
            _contact("c6", "B000001", "early_overdue", "dpd_1_30", "call", "answered", utc(11, 16, 30)),  # the 12th
            _contact("c7", "B000002", "early_overdue", "dpd_1_30_higher_risk", "call", "busy", utc(9, 16, 30)),
            _contact("c8", "B000002", "early_overdue", "dpd_1_30_higher_risk", "call", "answered", utc(9, 15, 30)),
            # Conversations in the range: c1 (verified), c4 (not verified; a person took it), chat-1 (verified).
            _conversation("c1", "B000001", "phone", utc(10, 2, 1), True),
            _conversation("c4", "B000001", "phone", utc(11, 2, 1), False),
            _conversation("chat-1", "B000003", "webchat", utc(10, 5), True),
            _conversation("c8", "B000002", "phone", utc(9, 15, 31), True),  # the 9th
            # Promises made in the range, all in c1: one kept, one broken, one open. One made before the range.
            _promise("c1", 30_000, "kept", utc(10, 2, 3)),
            _promise("c1", 10_000, "broken", utc(10, 2, 4)),
            _promise("c1", 5_000, "open", utc(10, 2, 5)),
            _promise("c8", 7_000, "kept", utc(9, 15, 32)),
            _payment("pay-1", 20_000, utc(10, 8)),
            _payment("pay-2", 9_000, utc(12, 8)),
            HandoffRequest(conversation_id="c4", borrower_id="B000001", reason="requested", priority=2,
                           status="served", created_at=utc(11, 3), taken_by="agent-li"),
            # A second reason a minute later: one conversation handed over, waiting since the first request.
            HandoffRequest(conversation_id="c4", borrower_id="B000001", reason="distress", priority=0,
                           status="served", created_at=utc(11, 3, 1)),
            Claim(borrower_id="B000002", account_id="A000002-1", conversation_id="conv-x", kind="dispute",
                  idempotency_key="k1", created_at=utc(10, 4)),
            Claim(borrower_id="B000002", account_id="A000002-1", conversation_id="conv-y", kind="hardship",
                  idempotency_key="k2", created_at=utc(10, 4)),
            ReviewRequest(conversation_id="conv-z", borrower_id="B000004", channel="phone", kind="dispute",
                          created_at=utc(11, 4)),
            DoNotContact(borrower_id="B000002", reason="asked", source="borrower", created_at=utc(11, 5)),
            # Complaints about being contacted: c1's in the range, one on the 9th outside it.
            Complaint(conversation_id="c1", borrower_id="B000001", channel="phone", said="天天打", created_at=utc(10, 2, 2)),
            Complaint(conversation_id="c8", borrower_id="B000002", channel="phone", said="烦", created_at=utc(9, 15, 33)),
            # Quality reviews: c1's fails one checklist item, c4's passes; c8's was scored before the range.
            ReviewItem(id=1, conversation_id="c1", borrower_id="B000001", channel="phone", agent="bot", script="overdue",
                       day=date(2026, 11, 10), reasons="[]", selected_at=utc(10, 6)),
            ReviewItem(id=2, conversation_id="c4", borrower_id="B000001", channel="phone", agent="agent-li",
                       script="overdue", day=date(2026, 11, 11), reasons="[]", selected_at=utc(11, 6)),
            ReviewItem(id=3, conversation_id="c8", borrower_id="B000002", channel="phone", agent="bot", script="overdue",
                       day=date(2026, 11, 9), reasons="[]", selected_at=utc(9, 16)),
            # B000001's account settled on the 10th, 9 days past its due date; B000003's before it fell due.
            FollowUpEvent(kind="account_settled", borrower_id="B000001", account_id="A000001-1",
                          reference="A000001-1", occurred_at=utc(10, 8)),
            FollowUpEvent(kind="account_settled", borrower_id="B000003", account_id="A000003-1",
                          reference="A000003-1", occurred_at=utc(10, 9)),
        ])
        session.flush()  # the review items first: a review refers to its item
        session.add_all([_review(1, "fail", utc(10, 7)), _review(2, "pass", utc(11, 7)), _review(3, "fail", utc(9, 10))])
    audit = AuditTrail(sessions, secrets.token_bytes(32))
    audit.append("c1", "B000001", "phone", "bot", "blocked words", False, ["threat_violence"], at=utc(10, 2, 6))
    audit.append("c1", "B000001", "phone", "bot", "fine words", True, [], at=utc(10, 2, 7))
    audit.append("c4", "B000001", "phone", "agent", "hello, this is Li", True, [], at=utc(11, 3, 2) + timedelta(seconds=30))
    audit.append("c4", "B000001", "phone", "agent", "rude words", False, ["insult", "harassment"], at=utc(11, 3, 3))
    audit.append("c8", "B000002", "phone", "bot", "blocked before", False, ["insult"], at=utc(9, 15, 33))
    return sessions


def test_totals_are_the_hand_counted_ones(ledger):
    report = compute_kpis(ledger, KpiQuery(START, END))
    totals = report["totals"]
    assert (totals["calls_placed"], totals["calls_answered"], totals["messages_sent"]) == (4, 2, 1)
    assert totals["contact_rate"] == 2 / 4
    assert (totals["conversations"], totals["conversations_verified"]) == (3, 2)
    assert totals["right_party_contact_rate"] == 2 / 3
    assert totals["promise_to_pay_rate"] == 1 / 2  # c1 of the verified c1 and chat-1
    assert (totals["promises"], totals["promised_cents"], totals["promises_kept"], totals["promises_judged"]) == (
        3, 45_000, 1, 2)
    assert totals["kept_promise_rate"] == 1 / 2
    assert (totals["recovered_cents"], totals["recovery_rate"]) == (20_000, 20_000 / 45_000)
    assert (totals["conversations_with_handoff"], totals["handoff_rate"]) == (1, 1 / 3)
    assert (totals["handoffs_answered"], totals["average_handoff_wait_seconds"]) == (1, 150)
    assert (totals["blocks"], totals["blocks_bot"], totals["blocks_agent"]) == (2, 1, 1)
    assert report["blocks"] == {"by_rule": {"threat_violence": 1, "insult": 1, "harassment": 1},
                                "by_speaker": {"bot": 1, "agent": 1}}
    assert (totals["disputes"], totals["complaints"], totals["stop_requests"]) == (2, 1, 1)
    assert totals["complaint_rate"] == 1 / 3
    assert (totals["reviews"], totals["reviews_passed"], totals["compliant_review_rate"]) == (2, 1, 1 / 2)
    assert (totals["accounts_cured"], totals["average_days_to_cure"]) == (1, 9)


def test_roll_rates_move_accounts_between_buckets_from_the_first_to_the_last_day(ledger):
    roll = compute_kpis(ledger, KpiQuery(START, END))["roll_rates"]
    # A1: 9 days past due, then settled. A2: 30 -> 31 days. A3: settled before its due date. A4: 70 -> 71 days.
    assert roll["matrix"]["dpd_1_30"] == {"current": 0, "dpd_1_30": 0, "dpd_31_60": 1, "dpd_61_90": 0,
                                          "dpd_90_plus": 0, "settled": 1}
    assert roll["matrix"]["current"]["settled"] == 1 and roll["matrix"]["dpd_61_90"]["dpd_61_90"] == 1
    assert roll["rates"] == {"current->dpd_1_30": 0.0, "dpd_1_30->dpd_31_60": 0.5, "dpd_31_60->dpd_61_90": None,
                             "dpd_61_90->dpd_90_plus": 0.0}
    only = compute_kpis(ledger, KpiQuery(START, END, filters={"segment": "dpd_1_30"}))["roll_rates"]
    assert only["matrix"]["dpd_1_30"]["settled"] == 1 and only["matrix"]["dpd_1_30"]["dpd_31_60"] == 0


def test_slices_by_day_campaign_and_agent(ledger):
    by_day = {row["key"]: row for row in compute_kpis(ledger, KpiQuery(START, END, by="day"))["rows"]}
    assert list(by_day) == ["2026-11-10", "2026-11-11"]
    assert (by_day["2026-11-10"]["calls_placed"], by_day["2026-11-11"]["calls_placed"]) == (3, 1)
    assert (by_day["2026-11-10"]["recovered_cents"], by_day["2026-11-11"]["blocks"]) == (20_000, 1)
    by_campaign = {row["key"]: row for row in compute_kpis(ledger, KpiQuery(START, END, by="campaign"))["rows"]}
    assert by_campaign["early_overdue"]["calls_placed"] == 4 and by_campaign["pre_due_reminders"]["messages_sent"] == 1
    assert by_campaign["none"]["conversations"] == 1  # chat-1 came from no campaign contact
    # The payment came after c1 reached B000001: the campaign's by last touch.
    assert by_campaign["early_overdue"]["recovered_cents"] == 20_000
    # c4's handoff was taken by agent-li: the conversation and the agent's blocked words are hers.
    li = compute_kpis(ledger, KpiQuery(START, END, filters={"agent": "agent-li"}))
    assert li["totals"]["conversations"] == 1 and li["totals"]["blocks"] == 1
    assert li["blocks"]["by_rule"] == {"insult": 1, "harassment": 1}
    assert li["options"]["agent"] == ["agent-li", "bot"]
    webchat = compute_kpis(ledger, KpiQuery(START, END, filters={"channel": "webchat"}))["totals"]
    assert (webchat["conversations"], webchat["calls_placed"], webchat["contact_rate"]) == (1, 0, None)


def test_another_zone_moves_the_day_boundaries(ledger):
    # In UTC the 10th and 11th leave out c7 (16:30 on the 9th) and take c6 (16:30 on the 11th).
    totals = compute_kpis(ledger, KpiQuery(START, END, zone="UTC"))["totals"]
    assert (totals["calls_placed"], totals["calls_answered"]) == (4, 3)


def test_csv_has_a_row_per_group_and_the_total(ledger):
    report = compute_kpis(ledger, KpiQuery(START, END, by="segment"))
    rows = list(csv.DictReader(io.StringIO(kpis_csv(report))))
    assert [row["segment"] for row in rows] == [row["key"] for row in report["rows"]] + ["total"]
    total = rows[-1]
    assert (total["calls_placed"], total["promised_cents"], total["contact_rate"]) == ("4", "45000", "0.5")
    by_segment = {row["segment"]: row for row in rows}
    assert by_segment["pre_due_d1"]["contact_rate"] == ""  # no calls: no rate, not zero


@pytest.mark.parametrize("arguments", [
    {"start": END, "end": START}, {"start": START, "end": START + timedelta(days=400)}, {"by": "borrower"},
    {"filters": {"lender": "x"}}, {"zone": "Mars/Base"},
])
def test_a_query_it_cannot_answer_is_refused(arguments):
    with pytest.raises(KpiRequestError):
        KpiQuery(**{"start": START, "end": END, **arguments})

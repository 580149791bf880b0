"""A simulated month of the campaign worker (benchmarks.simulated_month), smaller than the benchmark's, audited
from the ledger: no contact outside a window, over a cap (counted from the calls placed) or after a stop; every
refusal with its reason; every promise judged as the payments say; every payment's split and every instalment's
judgement replayed. And the audit itself can fail: on a copy of the month, a contact at 23:00, calls over the caps
that the contact policy's own bookkeeping never counted, and money that moved without a payment are all caught.
The month is the session's (tests/month.py), shared with the KPI dashboard's browser test."""
from __future__ import annotations

import dataclasses
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from benchmarks.simulated_month import AGENTS, START, MonthResult, audit_month, report
from ledger.campaign_records import CampaignRecords
from ledger.db import make_engine, make_session_factory
from ledger.models import (
    Borrower, BorrowerPhone, CampaignContact, Complaint, ContactAttempt, HandoffRequest, IdentityCheck,
    InstalmentOutcome, LoanAccount, QualityReview, ReviewItem,
)
from tests.month import MONTH_LEDGER


@pytest.fixture
def month(simulated_month):
    return simulated_month.result


@pytest.fixture
def month_copy(simulated_month, tmp_path):
    """The month on a copy of its ledger, for a test that writes into it (the shared month stays as it ran)."""
    shutil.copy(simulated_month.directory / MONTH_LEDGER, tmp_path / MONTH_LEDGER)
    engine = make_engine(f"sqlite:///{tmp_path / MONTH_LEDGER}")
    yield dataclasses.replace(simulated_month.result, sessions=make_session_factory(engine))
    engine.dispose()


def test_a_month_of_contacts_is_lawful_and_reconciled(month):
    audit = audit_month(month)
    print(report(month, audit))
    assert audit.lawful, (audit.outside_window[:3], audit.over_caps[:3], audit.after_stop[:3],
                          audit.misjudged_promises[:3], audit.payment_mismatches[:3], audit.instalment_mismatches[:3])
    # The month did what a month does: calls and messages, people reached, promises judged both ways, stops obeyed.
    assert audit.by_channel["call"] > 100 and audit.by_channel["message"] > 100
    assert audit.calls_placed > 100 and audit.by_status["answered"] > 20 and month.tally.promises > 10
    assert audit.promises["kept"] > 0 and audit.promises["broken"] > 0
    assert audit.payments > 10 and month.tally.plans > 0
    # Whoever asked us to stop, was in distress or disputed left the campaigns at once, on the record.
    assert month.tally.stops + month.tally.distress > 0
    final = CampaignRecords(month.sessions).current_segments(month.tally.stop_times)
    assert {placed.segment for placed in final.values()} <= {"contact_stopped", "dispute_hold", "closed"}
    assert month.tally.busy_deferrals > 0, "the call slots paced the dialer"
    # People took over some conversations, named on the record, and the compliance check stopped some of their drafts.
    assert month.tally.handoffs > 0 and month.tally.agent_blocks > 0
    with month.sessions() as session:
        takers = set(session.scalars(select(HandoffRequest.taken_by).distinct()))
        complaints = session.query(Complaint).count()
        locked = session.query(IdentityCheck).filter(IdentityCheck.result == "locked_out").count()
        chosen, reviewed = session.query(ReviewItem).count(), session.query(QualityReview).count()
    assert takers == set(AGENTS)
    # What supervision reads: complaints, verification lockouts, and the daily review fill with its scores.
    assert complaints == month.tally.complaints > 0 and locked == month.tally.lockouts > 0
    assert chosen == month.tally.review_items > reviewed == month.tally.reviews > month.tally.reviews_failed > 0


def _contact(attempt_id: str, borrower_id: str, account_id: str, status: str, at, provider_id: str | None):
    return CampaignContact(attempt_id=attempt_id, borrower_id=borrower_id, account_id=account_id,
                           campaign="early_overdue", segment="dpd_1_30", contact_key=f"injected:{attempt_id}",
                           channel="call", script="overdue_gentle", status=status, reason="", provider_id=provider_id,
                           planned_at=at, updated_at=at)


def test_the_audit_catches_a_night_contact_and_calls_over_the_caps_the_policy_never_counted(month_copy: MonthResult):
    """A contact at 23:00; a fourth answered call in a day that the policy refused (its bookkeeping: three answered
    and a refused_by_policy, what the gateway records when a dial went over the cap); two borrowers sharing a line,
    four unanswered calls each in a day (eight on the number; each borrower's own count under the cap); a balance
    that went down without a payment; and a missed instalment marked paid. The old audit, counting the policy's
    answered and unanswered reservations per borrower, saw none of the calls."""
    sessions = month_copy.sessions
    with sessions.begin() as session:
        first, second = session.scalars(select(Borrower).join(
            BorrowerPhone, BorrowerPhone.borrower_id == Borrower.borrower_id).where(
            Borrower.timezone == "Asia/Shanghai", BorrowerPhone.e164.is_not(None))
            .order_by(Borrower.borrower_id).limit(2)).all()
        accounts = {b.borrower_id: session.scalars(select(LoanAccount.account_id).where(
            LoanAccount.borrower_id == b.borrower_id)).first() for b in (first, second)}
        # 23:00 in Shanghai (15:00 UTC) on the first day.
        session.add(_contact("night-contact-000", first.borrower_id, accounts[first.borrower_id], "answered",
                             START + timedelta(hours=15), "CAnight"))
        morning = START + timedelta(days=1, hours=2)  # 10:00 in Shanghai on 2 December
        for number in range(4):
            at = morning + timedelta(minutes=10 * number)
            session.add(_contact(f"answered-{number}", first.borrower_id, accounts[first.borrower_id], "answered", at,
                                 f"CAanswered{number}"))
            session.add(ContactAttempt(borrower_id=first.borrower_id, channel="voice", conversation_id=f"answered-{number}",
                                       outcome="answered" if number < 3 else "refused_by_policy",
                                       reason="" if number < 3 else "daily_answered_cap", created_at=at))
        second.phone = first.phone  # one line for two borrowers (the ledger indexes the number again)
        for borrower in (first, second):
            for number in range(4):
                at = morning + timedelta(hours=1, minutes=10 * number)
                session.add(_contact(f"rang-{borrower.borrower_id}-{number}", borrower.borrower_id,
                                     accounts[borrower.borrower_id], "no_answer", at, f"CArang{number}"))
        session.execute(update(LoanAccount).where(LoanAccount.account_id == accounts[second.borrower_id])
                        .values(principal_cents=LoanAccount.principal_cents - 100))
        missed = session.scalars(select(InstalmentOutcome).where(InstalmentOutcome.outcome == "missed")
                                 .order_by(InstalmentOutcome.plan_id, InstalmentOutcome.seq)).first()
        missed.outcome = "paid"  # judged paid with nothing allocated to cover it
    audit = audit_month(month_copy)
    assert not audit.lawful
    assert ("night-contact-000", "Asia/Shanghai", "23:00:00") in audit.outside_window
    day = (morning + timedelta(hours=8)).date()
    assert any(kind == "answered" and key == (first.borrower_id, day) and n >= 4 for kind, key, n in audit.over_caps)
    shared = [(key, n) for kind, key, n in audit.over_caps if kind == "unanswered" and key[1] == day]
    assert shared and all(key[0].startswith("+86") for key, _ in shared) and max(n for _, n in shared) >= 8
    assert (accounts[second.borrower_id], "balance") in [entry[:2] for entry in audit.payment_mismatches]
    assert ((missed.plan_id, missed.seq), "paid") in [entry[:2] for entry in audit.instalment_mismatches]

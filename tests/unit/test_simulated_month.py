"""A simulated month of the campaign worker (benchmarks.simulated_month), smaller than the benchmark's, audited
from the ledger: no contact outside a window, over a cap or after a stop; every refusal with its reason; every
promise judged as the payments say. And the audit itself can fail: a contact written at 23:00 is caught.
The month is the session's (tests/month.py), shared with the KPI dashboard's browser test."""
from __future__ import annotations

from datetime import timedelta

import pytest

from benchmarks.simulated_month import START, audit_month, report
from ledger.campaign_records import CampaignRecords
from ledger.models import Borrower, CampaignContact, ContactAttempt


@pytest.fixture
def month(simulated_month):
    return simulated_month.result


def test_a_month_of_contacts_is_lawful_and_reconciled(month):
    audit = audit_month(month)
    print(report(month, audit))
    assert audit.lawful, (audit.outside_window[:3], audit.over_caps[:3], audit.after_stop[:3],
                          audit.misjudged_promises[:3])
    # The month did what a month does: calls and messages, people reached, promises judged both ways, stops obeyed.
    assert audit.by_channel["call"] > 100 and audit.by_channel["message"] > 100
    assert audit.by_status["answered"] > 20 and month.tally.promises > 10
    assert audit.promises["kept"] > 0 and audit.promises["broken"] > 0
    # Whoever asked us to stop, was in distress or disputed left the campaigns at once, on the record.
    assert month.tally.stops + month.tally.distress > 0
    final = CampaignRecords(month.sessions).current_segments(month.tally.stop_times)
    assert {placed.segment for placed in final.values()} <= {"contact_stopped", "dispute_hold", "closed"}
    assert month.tally.busy_deferrals > 0, "the call slots paced the dialer"
    # People took over some conversations, and the compliance check stopped some of their drafts.
    assert month.tally.handoffs > 0 and month.tally.agent_blocks > 0


def test_the_audit_catches_a_contact_at_night_and_one_over_the_cap(month):
    """Writes a night contact and four answered calls into the shared month (the browser test that reads the month
    after it computes its figures from the same rows)."""
    sessions = month.sessions
    with sessions.begin() as session:
        contact = session.query(CampaignContact).join(Borrower, Borrower.borrower_id == CampaignContact.borrower_id).filter(
            CampaignContact.status == "answered", Borrower.timezone == "Asia/Shanghai").first()
        borrower_id = contact.borrower_id
        # 23:00 in Shanghai (15:00 UTC) on the first day.
        night = START + timedelta(hours=15)
        session.add(CampaignContact(attempt_id="night-contact-000", borrower_id=borrower_id,
                                    account_id=contact.account_id, campaign="early_overdue", segment="dpd_1_30",
                                    contact_key="injected", channel="call", script="overdue_gentle", status="answered",
                                    reason="", planned_at=night, updated_at=night))
        for number in range(4):  # four answered conversations in one local day: the cap is three
            session.add(ContactAttempt(borrower_id=borrower_id, channel="voice", conversation_id=f"injected-{number}",
                                       outcome="answered", reason="", created_at=START + timedelta(hours=2, minutes=number)))
    audit = audit_month(month)
    assert not audit.lawful
    assert ("night-contact-000", "Asia/Shanghai", "23:00:00") in audit.outside_window
    assert any(kind == "answered" and key[0] == borrower_id for kind, key, _ in audit.over_caps)

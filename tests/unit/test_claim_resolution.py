"""A person closes a dispute or a hardship claim (Ledger.resolve_claim, campaigns.claim_resolution): on SQLite and
PostgreSQL the account is closed or collected again, the borrower is placed again at once with the reason, the audit
chain says who decided; a claim closes once, and a bad request changes nothing."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.audit import AuditTrail
from campaigns.claim_resolution import ClaimResolutions
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from ledger.__main__ import main as ledger_cli
from ledger.campaign_records import CampaignRecords
from ledger.errors import NotFound, PolicyViolation
from ledger.models import AuditRecord
from ledger.portfolio import Portfolio
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.unit.ledger_databases import session_factory  # noqa: F401 - a fixture: each test on SQLite and PostgreSQL

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
AUDIT_KEY = b"audit-key-for-claim-tests-0123456789"


@pytest.fixture
def ledger(session_factory):
    seed_demo_portfolio(session_factory, count=6, us_count=0, as_of=AS_OF)
    return Ledger(session_factory)


@pytest.fixture
def resolutions(ledger, session_factory) -> ClaimResolutions:
    segmenter = Segmenter(load_strategy(), Portfolio(session_factory), CampaignRecords(session_factory))
    segmenter.place_all(NOW)
    return ClaimResolutions(ledger, AuditTrail(session_factory, AUDIT_KEY), segmenter, lambda: NOW)


def _segment(session_factory, borrower_id: str):
    return CampaignRecords(session_factory).segment_history(borrower_id)[-1]


def test_a_rejected_dispute_resumes_collection_and_moves_the_borrower_out_of_dispute_hold(
        ledger, resolutions, session_factory):
    claim = ledger.record_claim("B000001", "A000001-1", "conv-d1", "dispute", detail="金额不对")
    resolutions._segmenter.place_now(["B000001"], "dispute recorded", NOW)
    assert _segment(session_factory, "B000001").segment == "dispute_hold"
    assert ledger.get_account("A000001-1").status == "paused" and ledger.get_borrower("B000001").collection_paused

    closed = resolutions.resolve(claim.claim_id, "rejected", "supervisor1", "the statement shows the loan was drawn")
    assert (closed.status, closed.outcome, closed.resolved_by, closed.resolved_at) == (
        "closed", "rejected", "supervisor1", NOW)
    assert ledger.get_account("A000001-1").status == "collecting"
    assert not ledger.get_borrower("B000001").collection_paused
    moved = _segment(session_factory, "B000001")
    assert (moved.previous_segment, moved.segment) == ("dispute_hold", "dpd_1_30")  # 15 days past due, tier A
    assert moved.reason.startswith(f"dispute claim {claim.claim_id} rejected by supervisor1; days past due 15")
    with session_factory() as session:
        audited = session.scalars(select(AuditRecord).where(AuditRecord.conversation_id == "conv-d1")).one()
    assert (audited.speaker, audited.channel, audited.borrower_id) == ("system", "console", "B000001")
    assert audited.text == (f"dispute claim {claim.claim_id} rejected by supervisor1: "
                            "the statement shows the loan was drawn")


def test_an_upheld_dispute_closes_the_account_and_the_borrower_leaves_the_strategy(ledger, resolutions, session_factory):
    claim = ledger.record_claim("B000002", None, "conv-d2", "dispute")
    resolutions.resolve(claim.claim_id, "upheld", "supervisor1")
    assert ledger.get_account("A000002-1").status == "closed"
    assert not ledger.get_borrower("B000002").collection_paused
    assert _segment(session_factory, "B000002").segment == "closed"
    with pytest.raises(PolicyViolation):  # nothing is collected on a closed account
        ledger.record_promise("A000002-1", "conv-d2b", 10_000, date(2026, 11, 30), AS_OF)


def test_collection_stays_paused_while_another_dispute_is_open(ledger, resolutions):
    first = ledger.record_claim("B000003", "A000003-1", "conv-d3", "dispute")
    ledger.record_claim("B000003", None, "conv-d4", "dispute")  # a second dispute, about everything
    resolutions.resolve(first.claim_id, "rejected", "supervisor1")
    assert ledger.get_account("A000003-1").status == "paused"
    assert ledger.get_borrower("B000003").collection_paused


def test_a_resolved_hardship_claim_moves_the_borrower_back_to_the_ordinary_treatment(
        ledger, resolutions, session_factory):
    claim = ledger.record_claim("B000001", "A000001-1", "conv-h1", "hardship", detail="失业")
    resolutions._segmenter.place_now(["B000001"], "hardship claim recorded", NOW)
    assert _segment(session_factory, "B000001").segment == "hardship"
    resolutions.resolve(claim.claim_id, "resolved", "supervisor1", "found work; plan agreed by phone")
    moved = _segment(session_factory, "B000001")
    assert (moved.previous_segment, moved.segment) == ("hardship", "dpd_1_30")
    assert ledger.get_account("A000001-1").status == "collecting"


@pytest.mark.parametrize("outcome, error", [("resolved", PolicyViolation), ("forgiven", ValueError)])
def test_a_dispute_cannot_be_merely_resolved_and_a_made_up_outcome_is_refused(ledger, resolutions, outcome, error):
    claim = ledger.record_claim("B000001", "A000001-1", "conv-d5", "dispute")
    with pytest.raises(error):
        resolutions.resolve(claim.claim_id, outcome, "supervisor1")
    assert ledger.claims_for("B000001")[0].status == "open"
    assert ledger.get_account("A000001-1").status == "paused"


def test_a_claim_closes_once_and_an_unknown_one_is_not_found(ledger, resolutions, session_factory):
    claim = ledger.record_claim("B000001", "A000001-1", "conv-d6", "dispute")
    resolutions.resolve(claim.claim_id, "upheld", "supervisor1")
    with pytest.raises(PolicyViolation) as again:
        resolutions.resolve(claim.claim_id, "rejected", "supervisor2")
    assert again.value.code == "claim_closed"
    assert ledger.get_account("A000001-1").status == "closed"  # the second decision changed nothing
    assert ledger.claims_for("B000001")[0].resolved_by == "supervisor1"
    with pytest.raises(NotFound):
        resolutions.resolve(999_999, "rejected", "supervisor1")
    with session_factory() as session:
        assert len(session.scalars(select(AuditRecord).where(AuditRecord.conversation_id == "conv-d6")).all()) == 1


def test_two_supervisors_closing_one_claim_at_once_close_it_once(ledger, session_factory):
    claim = ledger.record_claim("B000001", "A000001-1", "conv-d7", "dispute")
    results: list[str] = []

    def decide(outcome: str, who: str) -> None:
        try:
            Ledger(session_factory).resolve_claim(claim.claim_id, outcome, who)
            results.append(outcome)
        except PolicyViolation as refusal:
            results.append(refusal.code)

    threads = [threading.Thread(target=decide, args=args) for args in (("upheld", "a"), ("rejected", "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) in (["claim_closed", "upheld"], ["claim_closed", "rejected"])
    closed = ledger.claims_for("B000001")[0]
    expected = "closed" if closed.outcome == "upheld" else "collecting"
    assert ledger.get_account("A000001-1").status == expected


def test_the_cli_resolves_a_claim_and_says_why_it_refuses(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    monkeypatch.setenv("COLLECTIONS_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("COLLECTIONS_AUDIT_ANCHOR_FILE", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("COLLECTIONS_LEDGER_DATABASE_URL", url)
    assert ledger_cli(["seed", "--count", "4", "--us-count", "0"]) == 0
    from ledger.db import make_engine, make_session_factory
    ledger = Ledger(make_session_factory(make_engine(url)))
    claim = ledger.record_claim("B000002", "A000002-1", "conv-cli", "dispute")
    capsys.readouterr()
    assert ledger_cli(["show", "B000002"]) == 0
    assert f"claim {claim.claim_id}  dispute  open  A000002-1" in capsys.readouterr().out
    assert ledger_cli(["resolve-claim", str(claim.claim_id), "rejected", "--by", "supervisor1",
                       "--note", "signed contract on file"]) == 0
    assert f"claim {claim.claim_id}  dispute  closed" in capsys.readouterr().out
    assert ledger.get_account("A000002-1").status == "collecting"
    assert ledger_cli(["resolve-claim", str(claim.claim_id), "upheld", "--by", "supervisor2"]) == 1
    assert "claim_closed" in capsys.readouterr().err
    assert ledger_cli(["resolve-claim", "424242", "upheld", "--by", "supervisor2"]) == 1
    assert "no claim 424242" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: not an outcome
        ledger_cli(["resolve-claim", str(claim.claim_id), "forgiven", "--by", "supervisor2"])
    assert CampaignRecords(make_session_factory(make_engine(url))).segment_history("B000002")[-1].reason.startswith(
        f"dispute claim {claim.claim_id} rejected by supervisor1")

"""Paths besides paying: disputes, claims, callbacks, do-not-contact, distress, people, abuse."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.chat import discloses_debt

pytestmark = pytest.mark.e2e


def _mine(rows, chat):
    return [row for row in rows if row.conversation_id == chat.conversation_id]


def test_dispute_is_recorded_collection_paused_and_handed_to_a_person(verified_chat, ledger):
    chat, borrower, account = verified_chat()
    reply = chat.say("这笔钱不是我借的，我要投诉")
    assert "暂停催收" in reply
    assert [c.kind for c in _mine(ledger.claims_for(borrower.borrower_id), chat)] == ["dispute"]
    assert ledger.get_account(account.account_id).status == "paused"
    assert [h.reason for h in ledger.handoffs_for(chat.conversation_id)] == ["dispute"]


def test_a_supervisor_rejects_the_dispute_and_collection_resumes_out_of_dispute_hold(verified_chat, ledger, ledger_url,
                                                                                     stack):
    """The dispute said in a conversation holds the borrower; a supervisor's rejection in the console (real stack)
    resumes collection and places them in their days-past-due segment at once, with the reason."""
    from ledger.campaign_records import CampaignRecords
    from ledger.db import make_engine, make_session_factory
    from tests.e2e.console_client import PASSWORD, Console, add_console_accounts

    add_console_accounts(ledger_url)
    chat, borrower, account = verified_chat()
    chat.say("这笔钱不是我借的，我要投诉")
    engine = make_engine(ledger_url)
    records = CampaignRecords(make_session_factory(engine))
    assert records.segment_history(borrower.borrower_id)[-1].segment == "dispute_hold"
    [claim] = _mine(ledger.claims_for(borrower.borrower_id), chat)
    supervisor = Console(stack.gateway_url, "e2e-supervisor", PASSWORD)
    resolved = supervisor.http.post(f"/api/console/claims/{claim.claim_id}/resolve",
                                    json={"outcome": "rejected", "note": "loan contract on file"})
    assert resolved.status_code == 200, resolved.text
    assert ledger.get_account(account.account_id).status == "collecting"
    moved = records.segment_history(borrower.borrower_id)[-1]
    assert moved.previous_segment == "dispute_hold" and moved.segment.startswith("dpd_")
    assert moved.reason.startswith(f"dispute claim {claim.claim_id} rejected by e2e-supervisor")
    again = supervisor.http.post(f"/api/console/claims/{claim.claim_id}/resolve", json={"outcome": "upheld"})
    assert again.status_code == 409 and ledger.get_account(account.account_id).status == "collecting"
    engine.dispose()


def test_already_paid_claim_keeps_amount_and_date_for_reconciliation(verified_chat, ledger):
    chat, borrower, _ = verified_chat()
    reply = chat.say("我昨天已经还了两千")
    claims = _mine(ledger.claims_for(borrower.borrower_id), chat)
    assert [(c.kind, c.amount_cents, c.claimed_date) for c in claims] == [("paid", 200_000, date(2026, 11, 22))]
    assert "核对" in reply


def test_busy_borrower_gets_a_callback_inside_permitted_hours(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("是我")
    reply = chat.say("我现在在开车，明天再打吧")
    assert chat.ended and "再联系您" in reply
    callbacks = _mine(ledger.callbacks_for(borrower.borrower_id), chat)
    assert [c.callback_at.astimezone(ZoneInfo("Asia/Shanghai")) for c in callbacks] == [
        datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))]
    assert not any(discloses_debt(text) for text in chat.heard)


def test_stop_contacting_me_is_recorded_as_do_not_contact(verified_chat, ledger):
    chat, borrower, _ = verified_chat()
    reply = chat.say("你们别再给我打电话了")
    assert chat.ended and "停止" in reply
    assert ledger.is_do_not_contact(borrower.borrower_id)


def test_distress_stops_collection_and_hands_off_first(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("是我")
    reply = chat.say("我真的不想活了")
    assert "人工" in reply and "12356" in reply
    handoffs = ledger.handoffs_for(chat.conversation_id)
    assert [(h.reason, h.priority) for h in handoffs] == [("distress", 0)]
    assert ledger.active_flags(borrower.borrower_id) == ()  # not verified: recorded for review instead
    assert not any(discloses_debt(text) for text in chat.heard)


def test_a_verified_borrowers_illness_is_a_hardship_on_record_as_well_as_distress(verified_chat, ledger):
    chat, borrower, _ = verified_chat()
    reply = chat.say("我老公住院一个多月了，钱全花在医药费上")
    assert "人工" in reply
    assert [h.reason for h in ledger.handoffs_for(chat.conversation_id)] == ["distress"]
    claims = _mine(ledger.claims_for(borrower.borrower_id), chat)
    assert [(c.kind, c.detail) for c in claims] == [("hardship", "severe_illness: 住院")]


def test_request_for_a_person_is_recorded_at_any_point(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say("我要转人工客服")
    assert "人工" in reply
    assert [h.reason for h in ledger.handoffs_for(chat.conversation_id)] == ["requested"]


def test_abusive_borrower_gets_calm_replies_then_the_conversation_ends(verified_chat, ledger):
    chat, _, _ = verified_chat()
    first = chat.say("你他妈的烦不烦")
    assert "平和" in first and not chat.ended
    chat.say("滚蛋，神经病")
    chat.say("傻逼")
    assert chat.ended


def test_who_are_you_and_how_to_pay(verified_chat):
    chat, _, _ = verified_chat()
    assert "不是真人" in chat.say("你是机器人吗")
    assert "App" in chat.say("我要怎么还款")


def test_out_of_scope_gets_a_reprompt(verified_chat):
    chat, _, _ = verified_chat()
    reply = chat.say("今天天气怎么样")
    assert "没有听明白" in reply and not chat.ended


def test_bereavement_detected_at_the_gateway_flags_the_borrower_and_hands_off(verified_chat, ledger):
    chat, borrower, _ = verified_chat()
    reply = chat.say("我爸上周去世了，最近真的没心思管这些")
    assert "节哀" in reply and "人工" in reply
    assert [(h.reason, h.priority) for h in ledger.handoffs_for(chat.conversation_id)] == [("distress", 0)]
    assert "distress" in ledger.active_flags(borrower.borrower_id)


def test_being_threatened_by_someone_gets_safety_advice_and_a_person(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say("有人打电话威胁我说要打我")
    assert "110" in reply and "人工" in reply
    # Not verified: kept for a person to review; the borrower's contact is not stopped on a stranger's word.
    assert ledger.active_flags(borrower.borrower_id) == ()
    assert [r.kind for r in ledger.review_requests(conversation_id=chat.conversation_id)] == ["distress"]
    assert not any(discloses_debt(text) for text in chat.heard)


def test_every_utterance_in_and_out_is_in_the_verified_audit_chain(verified_chat, ledger_url, audit_settings):
    from sqlalchemy import select

    from ledger.db import make_engine, make_session_factory
    from ledger.models import AuditRecord
    from bot.audit import AuditTrail
    from bot.audit_seal import AnchorFile, load_audit_key

    chat, _, _ = verified_chat()
    chat.say("我怎么还款")
    session_factory = make_session_factory(make_engine(ledger_url))
    with session_factory() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.conversation_id == chat.conversation_id).order_by(AuditRecord.id)
        ).all()
    speakers = [record.speaker for record in records]
    assert speakers.count("borrower") == 3  # name answer, ID digits, how to pay
    assert speakers.count("bot") >= len(chat.heard)
    assert {record.text for record in records if record.speaker == "bot"} >= set(chat.heard)
    key = load_audit_key(audit_settings)
    report = AuditTrail(session_factory, key, AnchorFile(audit_settings.anchor_file, key)).verify()
    assert report.ok and report.anchored_at is not None, report

"""Before verification nobody on the line is known to be the borrower (issue 10, findings 5 and 7):

- the opening names neither the creditor nor a debt nor the borrower, and is the same for a known and an unknown
  borrower id, on the WebSocket and the REST channel, so ids (sequential) cannot be enumerated;
- an unknown id goes through the same questions and fails like a wrong answer, counting nothing against anyone;
- an unverified party's distress gets the humane reply and a person at once, but does not flag the borrower;
  their stop-contact and dispute requests are recorded for review and change nothing on the account.
"""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from bot.launcher import ROOT
from compliance_filters.check import check
from ledger.seed import LENDERS
from tests.e2e.chat import borrower_link, discloses_debt
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, rms

pytestmark = pytest.mark.e2e

UNKNOWN_ID = "B999998"  # the seeded ids are sequential: the next ones up do not exist
UNVERIFIED = {"identity_verified": False}


def _names_anyone(text: str, borrower) -> bool:
    lenders = [name for lender in LENDERS for name in lender]
    return (any(name in text for name in lenders) or borrower.full_name in text
            or f"{borrower.full_name[0]}{borrower.honorific}" in text)


def _rest_open(gateway_url: str, borrower_id: str) -> dict:
    opened = httpx.post(f"{gateway_url}/api/conversations", json={"borrower_link": borrower_link(borrower_id)}, timeout=60)
    assert opened.status_code == 201, opened.text
    return opened.json()


def test_a_known_and_an_unknown_id_hear_the_same_opening_which_names_no_one(stack, open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    assert ledger.get_borrower(UNKNOWN_ID) is None
    known, unknown = open_chat(borrower.borrower_id), open_chat(UNKNOWN_ID)
    assert known.opening == unknown.opening
    assert "AI" in known.opening and "录音" in known.opening and "本人吗" in known.opening
    assert not _names_anyone(known.opening, borrower) and not discloses_debt(known.opening)
    assert check(known.opening, UNVERIFIED).allowed

    rest_known, rest_unknown = _rest_open(stack.gateway_url, borrower.borrower_id), _rest_open(stack.gateway_url, UNKNOWN_ID)
    assert rest_known.keys() == rest_unknown.keys()
    assert [m["text"] for m in rest_known["messages"]] == [m["text"] for m in rest_unknown["messages"]]
    assert "\n".join(m["text"] for m in rest_known["messages"]) == known.opening
    assert rest_known["ended"] is rest_unknown["ended"] is False


@pytest.mark.asyncio
async def test_a_phone_call_opens_as_a_chat_does_naming_no_one(stack, redis_url, borrowers, open_chat):
    """Whoever answers the borrower's phone hears what a chat opens with; a caller from a number on no file is
    answered by the carrier with a neutral line (test_phone_arrival.py)."""
    borrower, _ = borrowers.take()
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        opening = [entry["text"] for entry in await carrier.transcript() if entry["speaker"] == "bot"]
    assert "\n".join(opening) == open_chat(UNKNOWN_ID).opening
    assert not _names_anyone("".join(opening), borrower) and not discloses_debt("".join(opening))


def test_an_unknown_id_fails_like_a_wrong_answer_and_counts_against_no_one(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    wrong = "0000" if borrower.id_last4 != "0000" else "1111"
    heard = {}
    for borrower_id in (borrower.borrower_id, UNKNOWN_ID):
        chat = open_chat(borrower_id)
        replies = [chat.say("对，是我"), *(chat.say(f"身份证后四位是{wrong}") for _ in range(3))]
        assert chat.ended
        heard[borrower_id] = [chat.opening, *replies]
    assert heard[borrower.borrower_id] == heard[UNKNOWN_ID]
    assert "未通过" in heard[UNKNOWN_ID][-1]
    for text in heard[UNKNOWN_ID]:
        assert not _names_anyone(text, borrower) and not discloses_debt(text) and check(text, UNVERIFIED).allowed
    assert [c.result for c in ledger.identity_checks_for(borrower.borrower_id)] == ["failed"] * 3
    assert ledger.get_borrower(UNKNOWN_ID) is None


def test_unverified_distress_gets_a_person_at_once_but_flags_no_one(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    replies = {}
    for borrower_id in (borrower.borrower_id, UNKNOWN_ID):
        chat = open_chat(borrower_id)
        # The first line; the handoff's wait notice after it names the queue position, which differs.
        replies[borrower_id] = chat.say("我不想活了").splitlines()[0]
        assert [(h.reason, h.priority) for h in ledger.handoffs_for(chat.conversation_id)] == [("distress", 0)]
        requests = ledger.review_requests(conversation_id=chat.conversation_id)
        assert [(r.kind, r.status) for r in requests] == [("distress", "pending")]
        assert "不想活" in requests[0].said
        assert requests[0].borrower_id == (borrower_id if borrower_id == borrower.borrower_id else None)
    reply = replies[borrower.borrower_id]
    assert reply == replies[UNKNOWN_ID]
    assert "12356" in reply and "人工" in reply and "还款" not in reply and not discloses_debt(reply)
    assert ledger.active_flags(borrower.borrower_id) == ()


def test_unverified_stop_contact_is_recorded_for_review_and_changes_nothing(open_chat, borrowers, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say("别再给我打电话了")
    assert chat.ended and "记录" in reply and not discloses_debt(reply) and check(reply, UNVERIFIED).allowed
    assert not ledger.is_do_not_contact(borrower.borrower_id)
    assert [(r.kind, r.borrower_id) for r in ledger.review_requests(conversation_id=chat.conversation_id)] == [
        ("do_not_contact", borrower.borrower_id)]


def test_unverified_dispute_is_recorded_for_review_and_handed_off_and_changes_nothing(open_chat, borrowers, ledger):
    borrower, account = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say("这笔钱不是我借的，我要投诉")
    assert "人工" in reply and "催收" not in reply and not discloses_debt(reply) and check(reply, UNVERIFIED).allowed
    assert ledger.claims_for(borrower.borrower_id) == ()
    assert ledger.get_account(account.account_id).status == "collecting"
    assert not ledger.get_borrower(borrower.borrower_id).collection_paused
    assert [r.kind for r in ledger.review_requests(conversation_id=chat.conversation_id)] == ["dispute"]
    assert [h.reason for h in ledger.handoffs_for(chat.conversation_id)] == ["dispute"]


def test_a_person_applies_a_reviewed_request_with_the_ledger_cli(open_chat, borrowers, ledger, ledger_url):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("你们别再给我打电话了")
    [request] = ledger.review_requests(conversation_id=chat.conversation_id)

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "ledger", "--url", ledger_url, *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=True).stdout

    assert chat.conversation_id in cli("review-requests")
    assert "applied by supervisor-3" in cli("apply-request", str(request.request_id), "--by", "supervisor-3")
    assert ledger.is_do_not_contact(borrower.borrower_id)
    assert chat.conversation_id not in cli("review-requests")

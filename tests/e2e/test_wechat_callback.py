"""The WeChat Official Account channel through the real stack (Rasa, action server, Redis, ledger):
an unbound openid gives its borrower reference, verifies identity, hears the balance and makes a promise
that lands in the ledger; slow turns arrive through the customer-service API (a fake WeChat server at
the HTTP boundary). Bad requests are refused without disturbing the conversation."""
from __future__ import annotations

import time
import uuid
from datetime import date

import pytest

from ledger.wording import yuan
from bot.channels.wechat import ASK_REFERENCE
from tests.e2e.chat import discloses_debt
from tests.stack import WECHAT_TEST_TOKEN
from tests.e2e.wechat import WeChatUser, text_message_xml, wechat_signature

pytestmark = pytest.mark.e2e


@pytest.fixture
def wechat_user(stack, wechat_api):
    users: list[WeChatUser] = []

    def _user() -> WeChatUser:
        user = WeChatUser(stack.gateway_url, WECHAT_TEST_TOKEN, wechat_api)
        users.append(user)
        return user

    yield _user
    for user in users:
        user.close()


def test_unbound_openid_verifies_hears_the_balance_and_promises_through_wechat(wechat_user, borrowers, ledger):
    borrower, account = borrowers.take(min_balance_cents=300_000)
    user = wechat_user()

    assert user.say("你好") == ASK_REFERENCE  # an unknown openid is asked who it is, told nothing
    opening = user.say(borrower.borrower_id.lower())
    assert "AI" in opening and "录音" in opening and "本人吗" in opening
    assert not discloses_debt(opening)
    asked = user.say("对，我就是本人")
    assert "后四位" in asked and not discloses_debt(asked)
    verified = user.say(f"身份证后四位是{borrower.id_last4}")
    assert "核实通过" in verified and yuan(account.balance_cents) in verified

    promised = user.say("我这周五先还两千块")
    assert "11月27日" in promised and "2,000元" in promised
    promises = ledger.promises_for(account.account_id)
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(200_000, date(2026, 11, 27))]

    closing = user.say("没有了")
    assert "小结" in closing and "2,000元" in closing
    # Verified once, the openid is bound: its next message opens a conversation straight away (and the
    # bot verifies again before saying anything about the debt).
    reopened = user.say("你好")
    assert reopened != ASK_REFERENCE and "本人吗" in reopened and not discloses_debt(reopened)
    assert user.via_api >= 1, "no turn went through the customer-service API; is the passive budget 50 ms?"


def test_callback_refuses_bad_requests_and_the_conversation_goes_on(stack, wechat_user, borrowers):
    borrower, _ = borrowers.take()
    user = wechat_user()
    assert user.say("你好") == ASK_REFERENCE

    verification = user.http.get("/wechat/callback", params={
        "signature": wechat_signature(WECHAT_TEST_TOKEN, "1700000000", "n1"), "timestamp": "1700000000",
        "nonce": "n1", "echostr": "echo-123"})
    assert (verification.status_code, verification.text) == (200, "echo-123")

    message = text_message_xml(user.openid, borrower.borrower_id)
    assert user.post(message, signed=False).status_code == 403
    assert user.post(message, signature=wechat_signature("wrong-token", "1", "2")).status_code == 403
    stale = str(int(time.time()) - 3600)
    assert user.post(message, timestamp=stale).status_code == 403
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
    assert user.post(text_message_xml(user.openid, "你好"), timestamp=timestamp, nonce=nonce).status_code == 200
    replayed = user.post(message, timestamp=timestamp, nonce=nonce)
    assert (replayed.status_code, replayed.text) == (403, "replayed")
    assert user.post("<xml><FromUserName>unterminated", ).status_code == 400
    assert user.post(b"\xff\xfe not xml at all").status_code == 400
    entity_bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><FromUserName>&a;'
                   '</FromUserName></xml>')
    assert user.post(entity_bomb).status_code == 400
    oversized = text_message_xml(user.openid, "钱" * 40_000)
    assert user.post(oversized).status_code == 413

    # None of that opened anything or cost the user their place: the reference still opens the chat.
    opening = user.say(borrower.borrower_id)
    assert "本人吗" in opening and not discloses_debt(opening)

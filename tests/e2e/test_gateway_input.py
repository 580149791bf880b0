"""Bad input at the gateway gets a clear error and loses nothing."""
from __future__ import annotations

import json

import pytest

from tests.e2e.chat import RestChat

pytestmark = pytest.mark.e2e


def test_malformed_json_and_unsupported_frames_get_errors_and_the_chat_goes_on(open_chat, borrowers):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    assert chat.send_raw("{not json") == {"type": "error", "error": "malformed_json"}
    assert chat.send_raw(json.dumps(["user", "hi"]))["error"] == "unsupported_frame"
    assert chat.send_raw(json.dumps({"type": "user", "text": 42}))["error"] == "invalid_text"
    assert chat.send_raw(json.dumps({"type": "user", "text": "   "}))["error"] == "empty_text"
    assert chat.send_raw(json.dumps({"type": "user", "text": "好" * 600}))["error"] == "text_too_long"
    assert chat.send_raw("x" * 20_000)["error"] == "message_too_large"
    assert "后四位" in chat.say("对，是我")


def test_sql_looking_text_is_just_text(open_chat, borrowers, ledger):
    borrower, account = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    reply = chat.say("'; DROP TABLE borrowers; -- 1' OR '1'='1")
    assert reply  # answered as ordinary (unclear) text
    assert ledger.get_borrower(borrower.borrower_id) == borrower
    assert ledger.get_primary_account(borrower.borrower_id) == account
    assert ledger.get_borrower("B000001") is not None


def test_rest_conversation_and_its_errors(stack):
    chat = RestChat(stack.gateway_url, "B000001")
    try:
        assert "本人吗" in chat.opening
        assert "后四位" in chat.say("对")
        http = chat.http  # carries the conversation's secret
        conversation_id = chat.conversation_id
        assert http.post(f"/api/conversations/{conversation_id}/messages", content=b"{oops",
                         headers={"content-type": "application/json"}).status_code == 422
        assert chat.post("好" * 1000).status_code == 413
        assert http.post("/api/conversations/0000000000000000/messages", json={"text": "hi"}).status_code == 404
        assert http.post("/api/conversations/../../etc/messages", json={"text": "hi"}).status_code == 404
        assert http.post("/api/conversations", json={"borrower_link": ""}).status_code == 422
        assert http.post("/api/conversations", json={"borrower_id": "B000001"}).status_code == 422
        assert [entry["speaker"] for entry in chat.transcript()][-2:] == ["borrower", "bot"]
    finally:
        chat.close()


def test_gateway_restart_loses_nothing(stack, borrowers):
    borrower, account = borrowers.take()
    chat = RestChat(stack.gateway_url, borrower.borrower_id)
    try:
        chat.say("是我本人")
        before = chat.transcript()
        stack.restart_gateway()
        chat.reconnect()
        assert chat.transcript() == before
        assert "核实通过" in chat.say(borrower.id_last4)
    finally:
        chat.close()

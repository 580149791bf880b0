"""One HTTP request reaches Rasa per borrower turn, counted at Rasa's side (the stack's gateway talks to
Rasa through a counting proxy), and that one answer carries what the gateway acts on after the turn:
identity verified, a handoff reason, the end of the conversation."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ONE_TURN = ("POST", "/webhooks/gateway/webhook")


def test_each_borrower_turn_is_one_request_to_rasa(open_chat, borrowers, ledger, rasa_requests):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    assert rasa_requests.of(chat.conversation_id) == [ONE_TURN]  # the opening turn

    chat.say("对，我就是本人")
    assert "核实通过" in chat.say(f"身份证后四位是{borrower.id_last4}")
    assert "元" in chat.say("我现在还欠多少钱")  # verified: the egress let the balance through
    handed_off = chat.say("我要转人工客服")
    assert "排队等候人工专员" in handed_off  # the reason came back with the reply and the desk queued it
    assert [(h.reason, h.priority, h.status) for h in ledger.handoffs_for(chat.conversation_id)] == [
        ("requested", 2, "waiting")]
    chat.say("我现在在开车，明天再打吧")
    assert chat.ended

    assert rasa_requests.of(chat.conversation_id) == [ONE_TURN] * 6


def test_rasa_serves_without_loading_jax_and_with_jiebas_dictionary_in_a_trie(stack, open_chat, borrowers):
    """scripts/run_rasa.py keeps jax (a TensorFlow dependency Rasa never uses) out of each replica, ~96 MiB each, and
    holds jieba's dictionary in a MARISA trie (rasa_runtime/compact_jieba.py), ~90 MiB each."""
    borrower, _ = borrowers.take()
    open_chat(borrower.borrower_id).say("对，我就是本人")  # a turn through the whole NLU and policy
    mapped = Path(f"/proc/{stack.service_pids()['rasa']}/maps").read_text()
    assert "libtensorflow" in mapped, "not the Rasa process"
    assert "jaxlib" not in mapped
    assert "marisa_trie" in mapped

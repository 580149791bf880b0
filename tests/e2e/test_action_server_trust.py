"""The action server trusts only Rasa: it listens on loopback, refuses a caller without Rasa's token, and even
with the token a tracker's `identity_verified` discloses nothing unless the ledger recorded a passed identity
check for that conversation and borrower."""
from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from ledger.wording import yuan
from tests.e2e.chat import discloses_debt

pytestmark = pytest.mark.e2e


def _forged_call(conversation_id: str, borrower_id: str, action: str = "action_tell_balance") -> dict:
    """What Rasa would post for `action`, with every claim an attacker would make: verified, this borrower."""
    return {
        "next_action": action,
        "sender_id": conversation_id,
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": conversation_id,
            "slots": {
                "identity_verified": True,
                "borrower_known": True,
                "session_started_metadata": {"borrower_id": borrower_id, "channel": "websocket"},
            },
            "latest_message": {"text": "我欠多少钱", "intent": {"name": "ask_balance"},
                               "metadata": {"borrower_id": borrower_id}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def _webhook(stack) -> str:
    return f"http://127.0.0.1:{stack.config.action_port}/webhook"


def _with_token(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.config.action_token}"}


def _said(response: httpx.Response) -> str:
    return "\n".join(message.get("text") or message.get("response") or "" for message in response.json()["responses"])


def test_a_caller_without_rasas_token_is_refused(stack, borrowers):
    borrower, _ = borrowers.take()
    forged = _forged_call(f"forged-{uuid.uuid4().hex}", borrower.borrower_id)
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": stack.config.action_token}):
        refused = httpx.post(_webhook(stack), json=forged, headers=headers, timeout=10)
        assert refused.status_code == 401, (headers, refused.text)
        assert "responses" not in refused.text
    listing = httpx.get(f"http://127.0.0.1:{stack.config.action_port}/actions", timeout=10)
    assert listing.status_code == 401


def test_a_forged_verified_slot_discloses_nothing_even_with_the_token(stack, borrowers, ledger):
    borrower, account = borrowers.take()
    answer = httpx.post(_webhook(stack), json=_forged_call(f"forged-{uuid.uuid4().hex}", borrower.borrower_id),
                        headers=_with_token(stack), timeout=30)
    assert answer.status_code == 200, answer.text
    said = _said(answer)
    assert "utter_verification_needed" in said
    assert yuan(account.balance_cents) not in said and not discloses_debt(said)


def test_a_verified_conversation_discloses_only_its_own_borrower(stack, verified_chat, borrowers):
    chat, verified, verified_account = verified_chat()
    other, other_account = borrowers.take()
    swapped = httpx.post(_webhook(stack), json=_forged_call(chat.conversation_id, other.borrower_id),
                         headers=_with_token(stack), timeout=30)
    assert swapped.status_code == 200, swapped.text
    assert yuan(other_account.balance_cents) not in _said(swapped) and not discloses_debt(_said(swapped))
    # The same call for the borrower this conversation verified is what Rasa itself sends: it is answered.
    genuine = httpx.post(_webhook(stack), json=_forged_call(chat.conversation_id, verified.borrower_id),
                         headers=_with_token(stack), timeout=30)
    assert yuan(verified_account.balance_cents) in _said(genuine)


def _non_loopback_address() -> str | None:
    """The address this host would use to reach another machine (no packet is sent by a UDP connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: any routable address will do
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_the_action_server_is_not_reachable_on_a_non_loopback_address(stack):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to try")
    with socket.socket() as loopback:
        loopback.settimeout(5)
        loopback.connect(("127.0.0.1", stack.config.action_port))  # it is up, on loopback
    with socket.socket() as outside, pytest.raises(OSError):
        outside.settimeout(5)
        outside.connect((address, stack.config.action_port))

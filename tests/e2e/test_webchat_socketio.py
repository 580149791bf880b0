"""The rasa-webchat widget's Socket.IO protocol against the real stack: the widget opens a session,
the bot greets, and a verified borrower hears the balance, all as bot_uttered events."""
from __future__ import annotations

import pytest

from tests.e2e.widget import Widget

pytestmark = pytest.mark.e2e


def test_webchat_widget_protocol_holds_a_real_conversation(stack, borrowers):
    from ledger.wording import yuan

    borrower, account = borrowers.take()
    widget = Widget(stack.gateway_url)
    try:
        widget.open(borrower.borrower_id)  # the widget's init message opens the conversation
        widget.say("对，是我", "后四位")
        balance = widget.say(borrower.id_last4, "逾期")
        assert yuan(account.balance_cents) in balance
    finally:
        widget.close()

"""A call does not claim to be recorded while call recording is off: the greeting's claim (domain.yml, both
languages) is taken out before the egress on call channels, and kept on chats (their transcript is kept)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import yaml

from bot.audit import AuditTrail
from bot.conversations import ConversationService
from bot.recording_notice import VOICE_CHANNELS, without_recording_claim
from bot.sessions import InMemorySessionStore
from configuration.settings import ROOT
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import FAULTS, ScriptedRasa, rasa_turn

CLAIM = re.compile(r"录音|record", re.IGNORECASE)
GREETINGS = [variant["text"] for variant in
             yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]["utter_greeting"]]


def test_every_greeting_claims_recording_and_loses_only_that_claim():
    assert len(GREETINGS) == 2 and all(CLAIM.search(text) for text in GREETINGS)
    for text in GREETINGS:
        kept = without_recording_claim(text)
        assert not CLAIM.search(kept), kept
        assert "AI" in kept and len(kept) > len(text) * 0.6  # the disclosure that it is an AI stays
    assert without_recording_claim(GREETINGS[1]) == "您好，我是智能客服助理（AI自动应答，非真人）。有一件私人事务需要与本人确认。"


@pytest.mark.asyncio
@pytest.mark.parametrize("channel, claimed", [("phone", False), ("browser_voice", False), ("websocket", True)])
async def test_with_recording_off_a_call_greets_without_the_claim_and_a_chat_with_it(sessions, channel,  # noqa: F811
                                                                                    claimed):
    service = ConversationService(
        InMemorySessionStore(), ScriptedRasa(rasa_turn(GREETINGS[1])), Ledger(sessions),
        AuditTrail(sessions, b"unit-test-audit-key"), lambda: datetime.now(timezone.utc), 500, FAULTS,
        unrecorded_channels=VOICE_CHANNELS)
    conversation, opening = await service.open("B000005", channel)
    assert bool(CLAIM.search(opening.messages[0].text)) is claimed
    said = [entry["text"] for entry in await service.transcript(conversation.conversation_id)]
    assert said == [opening.messages[0].text]  # the transcript (and the audit) hold what was said

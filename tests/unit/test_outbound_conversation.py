"""A call the dialer placed, once answered: the conversation is the attempt's (its id), every turn tells the
dialogue the script the call was placed for, and a call the contact policy refused hears only a neutral goodbye
(through the egress and the audit) before the bot hangs up, without a dialogue turn. Real conversation service,
egress and espeak TTS; Rasa scripted; the carrier's side is a list of frames with every mark played at once."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from bot.audit import AuditTrail
from bot.conversations import OPENING_INTENT, ConversationService
from bot.sessions import InMemorySessionStore
from configuration.settings import VoiceSettings
from ledger.models import AuditRecord
from ledger.notices import notice
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import AUDIT_KEY, BORROWER, FAULTS, NOW, ScriptedRasa, rasa_turn
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.frames import Dtmf, InputAudio, OutputAudio, OutputMark, PlaybackMark
from voice.tts import make_tts_engine

pytestmark = pytest.mark.asyncio
DEADLINE_SECONDS = 60
OPENING = "您好，我是客户服务中心的智能助手，本次通话将被录音。请问您是张先生本人吗？"


class Line:
    def __init__(self, sessions) -> None:
        self.rasa = ScriptedRasa(rasa_turn(OPENING), rasa_turn("请问您的身份证后四位是多少？"))
        self.store = InMemorySessionStore()
        self.service = ConversationService(
            self.store, self.rasa, Ledger(sessions), AuditTrail(sessions, AUDIT_KEY), lambda: NOW, 500, FAULTS)
        services = VoiceServices(self.service, asr=None, decode_pool=None, tts=make_tts_engine(VoiceSettings()),
                                 settings=VoiceSettings())
        self.call = VoiceCall(services, self._sent, self._hangup, 8000, "phone")
        self.audio_frames = 0
        self.hung_up: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sessions = sessions

    async def _sent(self, frame) -> None:
        if isinstance(frame, OutputAudio):
            self.audio_frames += 1
        elif isinstance(frame, OutputMark):  # played at once
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.call.on_mark(PlaybackMark(frame.name))))

    async def _hangup(self, reason: str) -> None:
        if not self.hung_up.done():
            self.hung_up.set_result(reason)

    def audit(self, conversation_id: str) -> list[tuple[str, str]]:
        with self.sessions() as session:
            return [(row.speaker, row.text) for row in session.scalars(
                select(AuditRecord).where(AuditRecord.conversation_id == conversation_id).order_by(AuditRecord.id))]


async def test_an_admitted_call_is_the_attempts_conversation_and_carries_its_script(sessions):
    line, attempt = Line(sessions), uuid.uuid4().hex
    await line.call.start(CallParty(BORROWER, attempt_id=attempt, script="overdue_gentle"))
    try:
        assert line.call.conversation_id == attempt
        conversation_id, text, metadata = line.rasa.sent[0]
        assert (conversation_id, text, metadata["call_script"]) == (attempt, OPENING_INTENT, "overdue_gentle")
        await line.service.handle(attempt, "对，我是本人")
        assert line.rasa.sent[1][2]["call_script"] == "overdue_gentle"  # every turn, not only the opening
        assert (await line.store.get(attempt)).call_script == "overdue_gentle"
    finally:
        await asyncio.sleep(0)  # the call's tasks start before they are cancelled
        await line.call.close()


async def test_an_inbound_call_carries_no_script(sessions):
    line = Line(sessions)
    await line.call.start(CallParty(BORROWER))
    try:
        assert "call_script" not in line.rasa.sent[0][2] and len(line.call.conversation_id) == 32
    finally:
        await asyncio.sleep(0)  # the call's tasks start before they are cancelled
        await line.call.close()


async def test_a_call_the_policy_refused_hears_a_neutral_goodbye_and_no_dialogue_starts(sessions):
    line, attempt = Line(sessions), uuid.uuid4().hex
    await line.call.start(CallParty(BORROWER, attempt_id=attempt, script="overdue_gentle"), admitted=False)
    try:
        await line.call.on_audio(InputAudio(b"\x10\x27" * 4000))  # the borrower speaks: nothing is taken up
        await line.call.on_dtmf(Dtmf("1"))
        assert await asyncio.wait_for(line.hung_up, DEADLINE_SECONDS) == "contact_refused"
        goodbye = notice("zh", "call_declined")
        assert line.rasa.sent == []
        assert [(entry["speaker"], entry["text"]) for entry in await line.store.transcript(attempt)] == [("bot", goodbye)]
        assert line.audit(attempt) == [("bot", goodbye)]
        assert line.audio_frames > 0 and line.call._turns.empty()
    finally:
        await asyncio.sleep(0)  # the call's tasks start before they are cancelled
        await line.call.close()

"""On a call, a number the recogniser was unsure of, or an instalment count the policy never offers, is read back
before the dialogue acts on it; the caller's yes (said or keyed 1) sends it on, their no (or 2) asks again, and
anything else they say is a turn of its own. Through the real conversation service and egress; Rasa scripted."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.audit import AuditTrail
from bot.conversations import ConversationService
from bot.sessions import InMemorySessionStore
from configuration.settings import VoiceSettings
from ledger.models import AuditRecord
from ledger.notices import notice
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import AUDIT_KEY, BORROWER, FAULTS, NOW, ScriptedRasa, rasa_turn
from voice.asr.base import Transcript
from voice.call import AudioTurn, VoiceCall, VoiceServices
from voice.frames import Dtmf

pytestmark = pytest.mark.asyncio
PLAN_LENGTHS = frozenset({2, 3, 6, 12})
SURE, UNSURE = 0.95, 0.5


def heard(text: str, confidence: float) -> AudioTurn:
    """A turn whose audio the recogniser has already decoded (the seam the call takes transcripts from)."""
    decoded: asyncio.Future = asyncio.get_running_loop().create_future()
    decoded.set_result(Transcript(text, text, "zh", confidence, 1.0, 0.1))
    return AudioTurn(b"", 8000, decoded)


class Call:
    def __init__(self, sessions, *turns) -> None:
        self.rasa = ScriptedRasa(rasa_turn("您好，请问是您本人吗？"), *turns)
        self.store = InMemorySessionStore()
        self.service = ConversationService(
            self.store, self.rasa, Ledger(sessions), AuditTrail(sessions, AUDIT_KEY), lambda: NOW, 500, FAULTS)
        services = VoiceServices(self.service, asr=None, decode_pool=None, tts=None, settings=VoiceSettings(),
                                 plan_lengths=PLAN_LENGTHS)
        self.call = VoiceCall(services, self._sent, self._hangup, 8000, "phone")
        self.sessions = sessions

    async def _sent(self, frame) -> None:
        return None

    async def _hangup(self, reason: str) -> None:
        return None

    async def open(self) -> None:
        conversation, _ = await self.service.open(BORROWER, "phone")
        self.call.conversation_id = conversation.conversation_id

    async def turn(self, turn) -> list[str]:
        """What the caller hears back for the turn."""
        await self.call._take_turn(turn)
        spoken = []
        while not self.call._speech.empty():
            texts, _ = self.call._speech.get_nowait()
            spoken += texts
        return spoken

    async def keyed(self, digit: str) -> list[str]:
        await self.call.on_dtmf(Dtmf(digit))
        return await self.turn(self.call._turns.get_nowait())

    def sent_to_rasa(self) -> list[str]:
        return [text for _, text, _ in self.rasa.sent[1:]]

    async def transcript(self) -> list[tuple[str, str]]:
        return [(entry["speaker"], entry["text"]) for entry in await self.store.transcript(self.call.conversation_id)]

    def audit(self) -> list[tuple[str, str]]:
        with self.sessions() as session:
            return [(row.speaker, row.text) for row in session.scalars(
                select(AuditRecord).where(AuditRecord.conversation_id == self.call.conversation_id)
                .order_by(AuditRecord.id))]


async def verified_call(sessions, *turns) -> Call:
    call = Call(sessions, rasa_turn("核实通过。", verified=True), *turns)
    await call.open()
    await call.turn(heard("身份证后四位是3821", UNSURE))  # the ID answer is never read back: the ledger checks it
    assert call.sent_to_rasa() == ["身份证后四位是3821"]
    return call


async def test_an_unsure_number_is_read_back_and_the_callers_no_asks_again_without_acting(sessions):
    call = await verified_call(sessions, rasa_turn("好的，为您分12期。", verified=True))
    assert await call.turn(heard("能不能分下2个月环", UNSURE)) == [notice("zh", "confirm_heard", heard="2个月")]
    assert await call.turn(heard("不是", SURE)) == [notice("zh", "say_again")]
    assert call.sent_to_rasa() == ["身份证后四位是3821"]  # nothing acted on
    assert await call.turn(heard("能不能分12个月", SURE)) == ["好的，为您分12期。"]  # sure and allowed: on at once
    said = [("borrower", "能不能分下2个月环"), ("bot", notice("zh", "confirm_heard", heard="2个月")),
            ("borrower", "不是"), ("bot", notice("zh", "say_again")),
            ("borrower", "能不能分12个月"), ("bot", "好的，为您分12期。")]
    assert (await call.transcript())[-6:] == said
    assert call.audit()[-6:] == said


async def test_a_spoken_or_keyed_yes_sends_the_held_words_to_the_dialogue_once(sessions):
    call = await verified_call(sessions, rasa_turn("好的，分3期。", verified=True), rasa_turn("好的，周五还两千。", verified=True))
    assert await call.turn(heard("那就分3期", UNSURE)) == [notice("zh", "confirm_heard", heard="3期")]
    assert await call.keyed("1") == ["好的，分3期。"]
    assert await call.turn(heard("我周五先还两千", UNSURE)) == [notice("zh", "confirm_heard", heard="周五、两千")]
    assert await call.turn(heard("对的", SURE)) == ["好的，周五还两千。"]
    assert call.sent_to_rasa()[1:] == ["那就分3期", "我周五先还两千"]
    assert [text for speaker, text in await call.transcript() if speaker == "borrower"][-4:] == [
        "那就分3期", "1", "我周五先还两千", "对的"]


async def test_a_count_the_policy_never_offers_is_read_back_even_when_heard_clearly(sessions):
    call = await verified_call(sessions)
    assert await call.turn(heard("我想分10个月", SURE)) == [notice("zh", "confirm_heard", heard="10个月")]


async def test_saying_something_else_instead_is_a_turn_of_its_own(sessions):
    call = await verified_call(sessions, rasa_turn("好的，分六期。", verified=True))
    await call.turn(heard("能不能分下2个月环", UNSURE))
    assert await call.turn(heard("分六期", SURE)) == ["好的，分六期。"]
    assert call.sent_to_rasa()[1:] == ["分六期"]


async def test_before_verification_and_in_distress_nothing_is_read_back(sessions):
    call = Call(sessions, rasa_turn("请先核实身份。"), rasa_turn("我们很关心您的安全。"))
    await call.open()
    assert await call.turn(heard("我下个月5号还三千", UNSURE)) == ["请先核实身份。"]  # no amount said back to whoever answered
    call.call._verified = True  # as after a verifying turn
    await call.turn(heard("还不了三千块我不想活了", UNSURE))
    assert call.sent_to_rasa()[-1] == "/distress"

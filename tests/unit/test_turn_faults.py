"""A turn Rasa cannot answer (down, an action failing inside it, slow) still answers the borrower: the fixed
fault reply, through the egress, with the borrower's words and the reply in the transcript and the audit.
A slow turn's late reply is delivered as a push. A client turn id runs the dialogue once, however often
the turn is sent."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.audit import AuditTrail
from bot.conversations import ConversationService, FaultReplies, InvalidMessage
from bot.handoff.bus import InProcessPushBus
from bot.rasa_client import RasaTurn, RasaTurnFailed, RasaUnavailable
from bot.sessions import InMemorySessionStore
from ledger.models import AuditRecord
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import AUDIT_KEY, BORROWER, FAULTS, NOW, rasa_turn

pytestmark = pytest.mark.asyncio
FAULT = FAULTS.fault_text


class HeldTurn:
    """A turn Rasa answers only when the test releases it: the borrower's reply cannot have waited for
    it, however slow the machine."""

    def __init__(self, turn: RasaTurn) -> None:
        self.turn = turn
        self.released = asyncio.Event()


class FaultyRasa:
    """Answers each turn with the next scripted outcome: a RasaTurn, an exception to raise, a HeldTurn,
    or (seconds, RasaTurn) for a turn that takes that long. Counts the turns that reached it."""

    def __init__(self, *outcomes: Any) -> None:
        self._outcomes = list(outcomes)
        self.sent: list[str] = []

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        self.sent.append(text)
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, HeldTurn):
            await outcome.released.wait()
            return outcome.turn
        if isinstance(outcome, tuple):
            await asyncio.sleep(outcome[0])
            return outcome[1]
        return outcome


@pytest.fixture
def gateway(sessions):
    def _gateway(*outcomes: Any, reply_wait: float = 5):
        store, bus, rasa = InMemorySessionStore(), InProcessPushBus(), FaultyRasa(*outcomes)
        faults = FaultReplies(FAULTS.fault_text, FAULTS.unavailable_text, reply_wait, 3600, FAULTS.fault_text_en)
        service = ConversationService(store, rasa, Ledger(sessions), AuditTrail(sessions, AUDIT_KEY), lambda: NOW,
                                      500, faults, bus=bus)
        return service, store, rasa, bus
    return _gateway


def audited(sessions, conversation_id: str) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(row.speaker, row.text) for row in session.scalars(
            select(AuditRecord).where(AuditRecord.conversation_id == conversation_id).order_by(AuditRecord.id))]


async def test_rasa_down_answers_the_fault_reply_and_keeps_the_borrowers_words(gateway, sessions):
    service, store, _, _ = gateway(rasa_turn("您好"), RasaUnavailable("Rasa did not answer: ConnectError"))
    conversation, _ = await service.open(BORROWER, "rest")
    cid = conversation.conversation_id
    result = await service.handle(cid, "我下周一还款")
    assert result.fault and not result.ended
    assert [m.text for m in result.messages] == [FAULT]
    said = [(entry["speaker"], entry["text"]) for entry in await store.transcript(cid)]
    assert said[-2:] == [("borrower", "我下周一还款"), ("bot", FAULT)]
    assert audited(sessions, cid)[-2:] == [("borrower", "我下周一还款"), ("bot", FAULT)]


async def test_rasa_down_at_the_opening_still_greets_with_the_fault_reply(gateway):
    service, store, _, _ = gateway(RasaUnavailable("circuit rasa is open"))
    conversation, opening = await service.open(BORROWER, "websocket")
    assert opening.fault and [m.text for m in opening.messages] == [FAULT]
    assert await store.get(conversation.conversation_id) is not None  # the conversation exists: it can go on


async def test_an_action_failing_inside_the_turn_keeps_what_was_said_and_adds_the_fault_reply(gateway):
    partial = rasa_turn("好的，我来为您查询。")
    service, _, _, _ = gateway(rasa_turn("您好"), RasaTurnFailed(partial))
    conversation, _ = await service.open(BORROWER, "rest")
    result = await service.handle(conversation.conversation_id, "我还欠多少")
    assert [m.text for m in result.messages] == ["好的，我来为您查询。", FAULT] and result.fault


async def test_a_slow_turn_answers_at_the_wait_and_pushes_its_late_reply_through_the_egress(gateway, sessions):
    slow = HeldTurn(rasa_turn("好的，已为您记录。"))
    service, store, _, bus = gateway(rasa_turn("您好"), slow, reply_wait=0.2)
    conversation, _ = await service.open(BORROWER, "websocket")
    cid = conversation.conversation_id
    pushes = await bus.subscribe(cid)
    # Had the turn waited for Rasa, it would never return: wait_for turns that hang into a failure.
    result = await asyncio.wait_for(service.handle(cid, "我明天还", turn_id="turn-1"), 10)
    assert [m.text for m in result.messages] == [FAULT]
    assert not slow.released.is_set()  # the borrower got the fault reply while Rasa still held the turn
    slow.released.set()
    _, pushed = await asyncio.wait_for(pushes.get(), 5)
    assert (pushed["speaker"], pushed["text"]) == ("bot", "好的，已为您记录。")
    assert [e["text"] for e in await store.transcript(cid)][-3:] == ["我明天还", FAULT, "好的，已为您记录。"]
    assert audited(sessions, cid)[-1] == ("bot", "好的，已为您记录。")
    # A retry of the turn now gets the real reply, and the dialogue did not run again.
    retried = await service.handle(cid, "我明天还", turn_id="turn-1")
    assert [m.text for m in retried.messages] == ["好的，已为您记录。"]


async def test_a_retried_turn_id_gets_the_first_reply_and_reaches_rasa_once(gateway, sessions):
    service, store, rasa, _ = gateway(rasa_turn("您好"), rasa_turn("好的，明白。"), rasa_turn("还有别的吗？"))
    conversation, _ = await service.open(BORROWER, "rest")
    cid = conversation.conversation_id
    first = await service.handle(cid, "我下周一还", turn_id="a1b2")
    again = await service.handle(cid, "我下周一还", turn_id="a1b2")
    assert [m.text for m in again.messages] == [m.text for m in first.messages] == ["好的，明白。"]
    assert rasa.sent == ["/start_conversation", "我下周一还"]
    assert [e["text"] for e in await store.transcript(cid)].count("我下周一还") == 1
    assert audited(sessions, cid).count(("borrower", "我下周一还")) == 1
    other = await service.handle(cid, "我下周一还", turn_id="c3d4")  # a new id is a new turn
    assert [m.text for m in other.messages] == ["还有别的吗？"]


async def test_a_retry_arriving_while_the_turn_runs_waits_for_its_reply(gateway):
    service, _, rasa, _ = gateway(rasa_turn("您好"), (0.3, rasa_turn("好的。")))
    conversation, _ = await service.open(BORROWER, "rest")
    cid = conversation.conversation_id
    first, second = await asyncio.gather(service.handle(cid, "嗯", turn_id="same"), service.handle(cid, "嗯", turn_id="same"))
    assert [m.text for m in first.messages] == [m.text for m in second.messages] == ["好的。"]
    assert rasa.sent == ["/start_conversation", "嗯"]


async def test_a_refused_turn_does_not_use_up_its_turn_id(gateway):
    service, _, _, _ = gateway(rasa_turn("您好"), rasa_turn("好的。"))
    conversation, _ = await service.open(BORROWER, "rest")
    cid = conversation.conversation_id
    with pytest.raises(InvalidMessage):
        await service.handle(cid, "   ", turn_id="t-1")
    assert [m.text for m in (await service.handle(cid, "好", turn_id="t-1")).messages] == ["好的。"]
    with pytest.raises(InvalidMessage):
        await service.handle(cid, "好", turn_id="no spaces allowed")


async def test_the_fixed_replies_pass_the_compliance_check_and_a_threat_would_stop_the_start():
    assert FAULTS.checked() is FAULTS
    with pytest.raises(ValueError, match="FAULT_REPLY_TEXT"):
        FaultReplies("再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。", FAULTS.unavailable_text, 5, 60,
                     FAULTS.fault_text_en).checked()

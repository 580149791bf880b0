"""A borrower turn in the gateway: one call to Rasa, whose facts (verified, ended, handoff reasons) the
conversation service keeps and hands to the desk; the holder is checked once; blocked bot words are
counted in the session store; words outside turns are checked without asking Rasa."""
from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select

from bot.audit import AuditTrail
from bot.channels.state import InMemoryChannelState
from bot.conversations import ConversationService, FaultReplies, UnknownConversation
from bot.links import ChatEntry
from bot.handoff.assignments import InMemoryAssignments
from bot.handoff.desk import HandoffDesk, TurnFacts
from ledger.notices import notice, wait_notice
from bot.handoff.policy import load_handoff_policy
from bot.handoff.queue import InMemoryHandoffQueue
from bot.rasa_client import RasaNotReached, RasaTurn, RasaTurnFailed, RasaUnavailable
from bot.routes.conversations import server_timing
from bot.sessions import InMemorySessionStore
from bot.turn_cap import TurnCap
from ledger.models import AuditRecord
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio
BORROWER = "B000005"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
DEBT_DETAIL = "您目前的欠款是1,000.00元。"  # blocked before verification, allowed after
AUDIT_KEY = b"unit-test-audit-key"
FAULTS = FaultReplies("抱歉，系统暂时繁忙，请稍后再试，您的消息我们已经记录。", "抱歉，系统暂时繁忙，您的消息未能送达，请稍后再发一次。",
                      reply_wait_seconds=5, turn_result_ttl_seconds=3600,
                      fault_text_en="Sorry, the system is busy right now. Please try again shortly; we have your message.")
THREAT = "再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。"  # always blocked


def rasa_turn(*texts: str, verified: bool = False, ended: bool = False, reasons: tuple[str, ...] = ()) -> RasaTurn:
    return RasaTurn([{"recipient_id": "x", "text": text} for text in texts], verified, ended, reasons)


class ScriptedRasa:
    """Answers each turn from a script (a turn, or the error to raise) and keeps what the gateway sent; it has
    no other way in, so a second call per turn (or a tracker read) fails the test."""

    def __init__(self, *turns: RasaTurn | RasaUnavailable) -> None:
        self._turns = list(turns)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        self.sent.append((conversation_id, text, metadata))
        turn = self._turns.pop(0)
        if isinstance(turn, RasaUnavailable):
            raise turn
        return turn


class CountingAssignments(InMemoryAssignments):
    def __init__(self) -> None:
        super().__init__()
        self.holder_checks = 0

    async def holder(self, conversation_id: str) -> str | None:
        self.holder_checks += 1
        return await super().holder(conversation_id)


class RecordingDesk(HandoffDesk):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.facts: list[TurnFacts] = []

    async def after_turn(self, conversation, facts: TurnFacts) -> str | None:
        self.facts.append(facts)
        return await super().after_turn(conversation, facts)


@pytest.fixture
def ledger(sessions):
    return Ledger(sessions)


@pytest.fixture
def gateway(sessions, ledger):
    def _gateway(*turns: RasaTurn | RasaUnavailable, max_turns: int = 1000):
        store = InMemorySessionStore()
        rasa = ScriptedRasa(*turns)
        policy = load_handoff_policy().model_copy(update={"large_balance_cents": None, "legal_stage_days_past_due": None})
        desk = RecordingDesk(InMemoryHandoffQueue(), CountingAssignments(), ledger, policy, InMemoryChannelState())
        service = ConversationService(
            store, rasa, ledger, AuditTrail(sessions, AUDIT_KEY), lambda: NOW, 500, FAULTS, handoff=desk,
            turn_cap=TurnCap(InMemoryChannelState(), max_turns))
        return service, store, rasa, desk
    return _gateway


async def test_one_call_per_turn_and_verification_kept_on_the_conversation(gateway):
    service, store, rasa, desk = gateway(
        rasa_turn("您好，请问是张先生本人吗？"), rasa_turn("核实通过。", verified=True),
        rasa_turn(DEBT_DETAIL, verified=True))
    conversation, opening = await service.open(BORROWER, "websocket")
    cid = conversation.conversation_id
    assert [m.text for m in await service.say(cid, [DEBT_DETAIL])] != [DEBT_DETAIL]  # not verified yet
    assert (await service.handle(cid, "身份证后四位是1234")).identity_verified
    assert (await store.get(cid)).identity_verified
    assert [m.text for m in (await service.handle(cid, "我还欠多少")).messages] == [DEBT_DETAIL]
    assert [m.text for m in await service.say(cid, [DEBT_DETAIL])] == [DEBT_DETAIL]  # verified, known without Rasa

    assert [text for _, text, _ in rasa.sent] == ["/start_conversation", "身份证后四位是1234", "我还欠多少"]
    assert rasa.sent[1][2] == {"borrower_id": BORROWER, "channel": "websocket", "timezone": "Asia/Shanghai",
                               "now": NOW.isoformat()}
    # The account triggers are looked at on the verifying turn only.
    assert desk.facts == [TurnFacts(), TurnFacts(verified_this_turn=True), TurnFacts()]
    assert desk.assignments.holder_checks == 2  # once per borrower turn


async def test_a_handoff_reason_from_rasa_is_recorded_queued_and_announced(gateway, ledger):
    service, _, _, desk = gateway(rasa_turn("您好"), rasa_turn("好的，已为您申请转接人工专员，请稍候。", reasons=("requested",)))
    conversation, _ = await service.open(BORROWER, "websocket")
    result = await service.handle(conversation.conversation_id, "转人工")
    assert [m.text for m in result.messages] == ["好的，已为您申请转接人工专员，请稍候。", wait_notice("zh", 1)]
    assert [(h.reason, h.priority) for h in ledger.handoffs_for(conversation.conversation_id)] == [("requested", 2)]
    assert [e.reason for e in await desk.queue.entries()] == ["requested"]


async def test_blocked_bot_words_are_counted_in_the_store_and_the_second_hands_off(gateway):
    service, store, _, desk = gateway(rasa_turn("您好"), rasa_turn(THREAT), rasa_turn(THREAT))
    conversation, _ = await service.open(BORROWER, "websocket")
    first = await service.handle(conversation.conversation_id, "你们是谁")
    assert THREAT not in first.messages[0].text and len(first.messages) == 1
    second = await service.handle(conversation.conversation_id, "你们是谁")
    assert second.messages[-1].text == wait_notice("zh", 1)
    assert (await store.get(conversation.conversation_id)).blocked_bot_utterances == 2
    assert [e.reason for e in await desk.queue.entries()] == ["compliance_blocked"]


async def test_a_held_conversation_does_not_reach_rasa(gateway):
    service, store, rasa, desk = gateway(rasa_turn("您好"))
    conversation, _ = await service.open(BORROWER, "websocket")
    await desk.assignments.take(conversation.conversation_id, "agent1")
    result = await service.handle(conversation.conversation_id, "你好？")
    assert (result.messages, result.ended) == ([], False)
    assert len(rasa.sent) == 1 and desk.assignments.holder_checks == 1
    assert (await store.transcript(conversation.conversation_id))[-1]["text"] == "你好？"


async def test_the_turn_rasa_ends_ends_the_conversation(gateway):
    service, store, _, desk = gateway(rasa_turn("您好"), rasa_turn("感谢您的接听，再见。", ended=True))
    conversation, _ = await service.open(BORROWER, "websocket")
    assert (await service.handle(conversation.conversation_id, "没有了")).ended
    assert (await store.get(conversation.conversation_id)).ended
    assert desk.facts[-1] == TurnFacts(ended=True)


async def test_the_answer_to_the_id_question_is_audited_masked_and_later_words_as_said(gateway, sessions):
    service, _, _, _ = gateway(rasa_turn("请问是张先生本人吗？"), rasa_turn("请说身份证后四位。"),
                               rasa_turn("核实通过。", verified=True), rasa_turn("好的。", verified=True))
    conversation, _ = await service.open(BORROWER, "websocket")
    for text in ("是我", "三 八 二 一", "我电话尾号是3821"):
        await service.handle(conversation.conversation_id, text)
    with sessions() as session:
        said = session.scalars(select(AuditRecord.text).where(AuditRecord.speaker == "borrower")
                               .order_by(AuditRecord.id)).all()
    assert said == ["是我", "* * * *", "我电话尾号是3821"]


async def test_distress_before_verification_is_recorded_for_review_and_after_it_flags_the_borrower(gateway, ledger):
    """Before verification whoever is on the line may not be the borrower (issue 10 finding 7)."""
    service, _, rasa, _ = gateway(rasa_turn("您好"), rasa_turn("我们很担心您。", reasons=("distress",)),
                                  rasa_turn("您好"), rasa_turn("核实通过。", verified=True),
                                  rasa_turn("我们很担心您。", reasons=("distress",)))
    stranger, _ = await service.open(BORROWER, "phone")
    await service.handle(stranger.conversation_id, "我不想活了，身份证后四位是1234")
    assert rasa.sent[-1][1] == "/distress"
    assert ledger.active_flags(BORROWER) == ()
    [request] = ledger.review_requests(conversation_id=stranger.conversation_id)
    assert (request.kind, request.borrower_id, request.channel) == ("distress", BORROWER, "phone")
    assert "不想活" in request.said and "1234" not in request.said  # ID digits starred

    borrower, _ = await service.open(BORROWER, "phone")
    await service.handle(borrower.conversation_id, "1234")
    await service.handle(borrower.conversation_id, "我不想活了")
    assert ledger.active_flags(BORROWER) == ("distress",)
    assert ledger.review_requests(conversation_id=borrower.conversation_id) == ()


async def test_past_the_turn_cap_the_conversation_closes_politely_without_rasa_and_keeps_the_words(gateway, sessions):
    service, store, rasa, _ = gateway(rasa_turn("您好"), rasa_turn("好的"), rasa_turn("明白"), max_turns=2)
    conversation, _ = await service.open(BORROWER, "websocket")
    cid = conversation.conversation_id
    await service.handle(cid, "第一句")
    await service.handle(cid, "第二句")
    closing = await service.handle(cid, "第三句")
    assert [m.text for m in closing.messages] == [notice("zh", "long_conversation")] and closing.ended
    assert (await store.get(cid)).ended
    assert [text for _, text, _ in rasa.sent] == ["/start_conversation", "第一句", "第二句"]
    said = [(entry["speaker"], entry["text"]) for entry in await store.transcript(cid)]
    assert said[-2:] == [("borrower", "第三句"), ("bot", notice("zh", "long_conversation"))]
    with sessions() as session:
        audited = session.scalars(select(AuditRecord.text).where(AuditRecord.conversation_id == cid)
                                  .order_by(AuditRecord.id)).all()
    assert audited[-2:] == ["第三句", notice("zh", "long_conversation")]


async def test_distress_past_the_turn_cap_still_takes_the_distress_path(gateway):
    service, _, rasa, _ = gateway(rasa_turn("您好"), rasa_turn("好的"), rasa_turn("我们很关心您"), max_turns=1)
    conversation, _ = await service.open(BORROWER, "websocket")
    await service.handle(conversation.conversation_id, "第一句")
    await service.handle(conversation.conversation_id, "我不想活了")
    assert rasa.sent[-1][1] == "/distress"


async def test_a_conversation_opened_for_a_client_admits_only_its_secret(gateway):
    service, store, _, _ = gateway(rasa_turn("您好"), rasa_turn("您好"))
    conversation, _, secret = await service.open_for_client(ChatEntry(BORROWER), "rest")
    cid = conversation.conversation_id
    assert secret not in str(await store.get(cid))  # only its digest is stored
    assert (await service.authorize(cid, secret)).borrower_id == BORROWER
    phone, _ = await service.open(BORROWER, "phone")  # no client secret: unreachable through the borrower API
    for conversation_id, presented in ((cid, None), (cid, ""), (cid, secret + "x"), ("0" * 32, secret),
                                       (phone.conversation_id, ""), (phone.conversation_id, secret), ("../x", secret)):
        with pytest.raises(UnknownConversation):
            await service.authorize(conversation_id, presented)


class SlowAudit(AuditTrail):
    """A borrower record is written only after Rasa was asked (waiting up to `delay` seconds) and then answered: the
    reply is ready before the borrower's record is."""

    def __init__(self, sessions, rasa: "SignallingRasa", delay: float) -> None:
        super().__init__(sessions, AUDIT_KEY)
        self._rasa, self._delay = rasa, delay
        self.rasa_asked_while_writing = False

    def append(self, conversation_id, borrower_id, channel, speaker, text, *args, **kwargs):
        if speaker == "borrower":
            self.rasa_asked_while_writing = self._rasa.asked.wait(self._delay)
            time.sleep(0.2)
        return super().append(conversation_id, borrower_id, channel, speaker, text, *args, **kwargs)


class SignallingRasa(ScriptedRasa):
    def __init__(self, *turns: RasaTurn) -> None:
        super().__init__(*turns)
        self.asked = threading.Event()

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        if text != "/start_conversation":
            self.asked.set()
        return await super().send(conversation_id, text, metadata)


async def test_the_borrowers_words_are_audited_while_rasa_works_and_still_precede_the_reply(sessions, ledger):
    rasa = SignallingRasa(rasa_turn("您好"), rasa_turn("好的，已为您记录。"))
    audit = SlowAudit(sessions, rasa, delay=2.0)
    service = ConversationService(InMemorySessionStore(), rasa, ledger, audit, lambda: NOW, 500, FAULTS)
    conversation, _ = await service.open(BORROWER, "websocket")
    result = await service.handle(conversation.conversation_id, "我下周一还款")
    assert audit.rasa_asked_while_writing  # the audit write did not hold the turn back
    assert result.rasa_seconds < 1.0  # Rasa's wait alone, not the audit write's 2 s (a margin for a loaded machine)
    with sessions() as session:
        chain = session.execute(select(AuditRecord.speaker, AuditRecord.text)
                                .where(AuditRecord.conversation_id == conversation.conversation_id)
                                .order_by(AuditRecord.id)).all()
    assert [tuple(row) for row in chain][-2:] == [("borrower", "我下周一还款"), ("bot", "好的，已为您记录。")]


class SlowRasa(ScriptedRasa):
    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        await asyncio.sleep(0.15)
        return await super().send(conversation_id, text, metadata)


async def test_a_turn_reports_its_wait_for_rasa_so_the_gateways_share_can_be_measured(sessions, ledger):
    service = ConversationService(InMemorySessionStore(), SlowRasa(rasa_turn("您好"), rasa_turn("好的")), ledger,
                                  AuditTrail(sessions, AUDIT_KEY), lambda: NOW, 500, FAULTS)
    conversation, _ = await service.open(BORROWER, "websocket")
    started = time.perf_counter()
    result = await service.handle(conversation.conversation_id, "好的")
    assert 0.15 <= result.rasa_seconds <= time.perf_counter() - started
    assert server_timing(result) == f"rasa;dur={result.rasa_seconds * 1000:.1f}"


async def test_a_retried_turn_that_never_reached_rasa_is_sent_once_more_and_its_words_are_kept_once(gateway):
    service, store, rasa, _ = gateway(
        rasa_turn("您好"), RasaNotReached("connection refused"), RasaNotReached("circuit open"), rasa_turn("好的，您打算哪天还？"))
    conversation, _ = await service.open(BORROWER, "rest")
    cid = conversation.conversation_id
    first = await service.handle(cid, "我想还一部分", "turn-1")
    assert first.fault and [m.text for m in first.messages] == [FAULTS.fault_text]
    assert (await service.handle(cid, "我想还一部分", "turn-1")).fault  # Rasa still out of reach: still retryable
    answered = await service.handle(cid, "我想还一部分", "turn-1")
    assert not answered.fault and [m.text for m in answered.messages] == ["好的，您打算哪天还？"]
    assert [text for _, text, _ in rasa.sent] == ["/start_conversation"] + ["我想还一部分"] * 3
    # Answered now: a further retry gets the same answer without another call (the script is empty).
    again = await service.handle(cid, "我想还一部分", "turn-1")
    assert (again.messages, again.fault) == (answered.messages, answered.fault)
    said = [(e["speaker"], e["text"]) for e in await store.transcript(cid)]
    assert said[1:] == [("borrower", "我想还一部分"), ("bot", FAULTS.fault_text), ("bot", FAULTS.fault_text),
                        ("bot", "好的，您打算哪天还？")]


@pytest.mark.parametrize("failure", [RasaUnavailable("HTTP 500"), RasaTurnFailed(rasa_turn("好的"))])
async def test_a_retried_turn_that_rasa_may_have_run_is_not_sent_again(gateway, failure):
    service, _, rasa, _ = gateway(rasa_turn("您好"), failure)
    conversation, _ = await service.open(BORROWER, "rest")
    first = await service.handle(conversation.conversation_id, "我想还一部分", "turn-1")
    assert first.fault
    assert await service.handle(conversation.conversation_id, "我想还一部分", "turn-1") == first
    assert len(rasa.sent) == 2  # the opening and the one attempt

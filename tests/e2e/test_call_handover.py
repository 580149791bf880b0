"""A phone call handed to a person, over the Twilio Media Streams protocol with fixture audio through the real VAD,
ASR, dialogue, egress and TTS. The caller says "我要转人工客服" (d11.wav):

- with an agent line (the restartable stack, tests/e2e/conftest.py), the caller hears the transfer sentence, then the
  fake Twilio's REST API receives the live call's update, a <Dial> to the line; it ends the media stream as Twilio does,
  and the console shows the call waiting, flagged transferred, with its transcript; when the line does not answer,
  the <Dial>'s action books a callback the carrier says; if the carrier refuses, a callback is booked and said on
  the call instead;
- without one (the shared stack), a callback is booked and said at once; an agent who takes the call in the
  console is heard on it through TTS, and a threat the agent types is blocked and never spoken.
"""
from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import httpx
import pytest

from ledger.notices import notice
from tests.e2e.chat import CARRIER_AUTH_TOKEN
from tests.e2e.conftest import AGENT_LINE, TRANSFER_ACCOUNT_SID, TRANSFER_CARRIER_PORT
from tests.e2e.console_client import PASSWORD, Console, add_console_accounts
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, carrier_signature, rms, stored_transcript
from tests.fakes.twilio_carrier import FakeTwilio
from tests.unit.voice_engines import shared_asr_engine
from voice.asr.evaluation import character_error_rate

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

ASKS_FOR_A_PERSON = "d11.wav"  # 我要转人工客服。
TRANSFERRING = notice("zh", "transferring")
NO_TRANSFER = "无法为您转接人工专员"  # the callback notice said instead of a transfer
TAKEN = notice("zh", "taken")
THREAT = "再不还钱就告诉你全家"
AGENT_WORDS = "您好，我是人工专员，请问有什么可以帮您？"  # nothing of the debt: the caller is not verified
CALL_DEADLINE_SECONDS = 90


@pytest.fixture(scope="module")
def transfer_carrier(private_redis):
    with FakeTwilio(TRANSFER_ACCOUNT_SID, CARRIER_AUTH_TOKEN, private_redis.url, port=TRANSFER_CARRIER_PORT) as fake:
        yield fake


async def until(condition, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.1)


def handoff_statuses(ledger, conversation_id: str) -> list[tuple[str, str]]:
    return [(h.reason, h.status) for h in ledger.handoffs_for(conversation_id)]


def booked_time(ledger, borrower_id: str, conversation_id: str) -> str:
    """The one callback the call booked, as the borrower's clock shows it (as the notice says it)."""
    [callback] = [c for c in ledger.callbacks_for(borrower_id) if c.conversation_id == conversation_id]
    return f"{callback.callback_at.astimezone(ZoneInfo(ledger.get_borrower(borrower_id).timezone)):%H:%M}"


def said_with(transcript: list[dict], words: str) -> str:
    return [text for text in spoken(transcript) if words in text][-1]


def spoken(transcript: list[dict], speaker: str = "bot") -> list[str]:
    return [entry["text"] for entry in transcript if entry["speaker"] == speaker and not entry.get("interrupted")]


async def test_a_caller_who_asks_for_a_person_is_transferred_to_the_agent_line_shown_in_the_console_and_called_back_if_unanswered(
        restartable_stack, private_redis, transfer_carrier, borrowers, ledger):
    borrower, _ = borrowers.take()
    updates_before = len(transfer_carrier.updates)
    async with FakeCarrier(restartable_stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=private_redis.url) as carrier:
        transfer_carrier.attach(carrier)
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS  # the opening
        await carrier.say_fixture(ASKS_FOR_A_PERSON)
        assert rms(await carrier.heard(TRANSFERRING, timeout=CALL_DEADLINE_SECONDS)) > AUDIBLE_RMS
        await carrier.wait_closed(timeout=CALL_DEADLINE_SECONDS)  # the carrier ended the stream with the update
        conversation_id = carrier.conversation_id
        transcript = await carrier.transcript()
    [update] = transfer_carrier.updates[updates_before:]
    assert update.call_sid == carrier.call_sid
    assert update.verbs() == ["Dial"] and update.dialled() == [("Number", AGENT_LINE)]
    # Queued first (the honest wait notice was heard), then the transfer sentence, through the egress and audited.
    bot_said = spoken(transcript)
    assert any("排队等候人工专员" in text for text in bot_said), bot_said
    assert bot_said[-1] == TRANSFERRING
    assert "转人工" in spoken(transcript, "borrower")[-1]
    # Recorded once the carrier has answered the update (after it ended the stream, as Twilio may).
    await until(lambda: handoff_statuses(ledger, conversation_id) == [("requested", "transferred")])

    agent = Console(restartable_stack.gateway_url, "e2e-agent-a", PASSWORD)
    try:
        waiting = agent.waiting(conversation_id)
        assert waiting is not None and waiting["transferred"] is True and waiting["callback_offered"] is False
        assert (waiting["channel"], waiting["reason"]) == ("phone", "requested")
        view = agent.view(conversation_id)
        assert view.status_code == 200, view.text
        assert [entry["text"] for entry in view.json()["transcript"]] == [entry["text"] for entry in transcript]
    finally:
        agent.close()
    # Had the line answered, the call would end with the agent hanging up.
    assert [verb.tag for verb in await transfer_carrier.end_dial(update, "completed")] == ["Hangup"]
    # Nobody answered the line: the carrier asks what next, and says when the callback is booked.
    next_steps = await transfer_carrier.end_dial(update, "no-answer")
    assert [verb.tag for verb in next_steps] == ["Say", "Hangup"]
    said = next_steps.find("Say")
    assert said.get("language") == "cmn-CN" and NO_TRANSFER in said.text
    assert booked_time(ledger, borrower.borrower_id, conversation_id) in said.text
    assert said_with(stored_transcript(private_redis.url, conversation_id), NO_TRANSFER) == said.text  # egress
    assert handoff_statuses(ledger, conversation_id) == [("requested", "callback_offered")]
    # Signed by the carrier but with a forged ticket, or with the ticket but unsigned: refused.
    forged, form = update.dial_action().replace("ticket=", "ticket=x"), {"DialCallStatus": "no-answer"}
    async with httpx.AsyncClient(timeout=30) as client:
        refused = await client.post(forged, data=form, headers={"X-Twilio-Signature": carrier_signature(forged, form)})
        assert refused.status_code == 403 and "ticket" in refused.text
        assert (await client.post(update.dial_action(), data=form)).status_code == 403


async def test_when_the_carrier_refuses_the_transfer_a_callback_is_booked_and_said_on_the_call(
        restartable_stack, private_redis, transfer_carrier, borrowers, ledger):
    borrower, _ = borrowers.take()
    refused_before = transfer_carrier.refused.count(500)
    transfer_carrier.refuse_updates = True
    try:
        async with FakeCarrier(restartable_stack.gateway_url, borrower.borrower_id,
                               borrowers.number_of(borrower.borrower_id), redis_url=private_redis.url) as carrier:
            transfer_carrier.attach(carrier)
            await carrier.bot_reply()
            await carrier.say_fixture(ASKS_FOR_A_PERSON)
            offer = await carrier.heard(NO_TRANSFER, timeout=CALL_DEADLINE_SECONDS)
            assert rms(offer) > AUDIBLE_RMS
            # The transfer was announced (truly: it was being tried), then the carrier refused it.
            assert spoken(await carrier.transcript())[-2] == TRANSFERRING
            assert not carrier.closed.is_set()  # the line stays up
            conversation_id = carrier.conversation_id
    finally:
        transfer_carrier.refuse_updates = False
    assert transfer_carrier.refused.count(500) == refused_before + 1
    assert handoff_statuses(ledger, conversation_id) == [("requested", "callback_offered")]
    assert booked_time(ledger, borrower.borrower_id, conversation_id) in said_with(await carrier.transcript(), NO_TRANSFER)


async def test_without_an_agent_line_a_callback_is_said_and_an_agent_is_heard_on_the_call_but_not_a_threat(
        stack, redis_url, ledger_url, borrowers, ledger, capsys):
    add_console_accounts(ledger_url)
    borrower, _ = borrowers.take()
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        await carrier.say_fixture(ASKS_FOR_A_PERSON)
        assert rms(await carrier.heard(NO_TRANSFER, timeout=CALL_DEADLINE_SECONDS)) > AUDIBLE_RMS
        conversation_id = carrier.conversation_id
        assert booked_time(ledger, borrower.borrower_id, conversation_id) in said_with(await carrier.transcript(), NO_TRANSFER)

        agent = Console(stack.gateway_url, "e2e-agent-b", PASSWORD)
        try:
            assert agent.waiting(conversation_id)["callback_offered"] is True  # still takeable while the line is up
            assert agent.take(conversation_id).status_code == 200
            await carrier.heard(TAKEN)
            marks_before = len(carrier.received.marks)
            blocked = agent.send(conversation_id, THREAT)
            assert blocked.status_code == 422 and blocked.json()["delivered"] is False
            delivered = agent.send(conversation_id, AGENT_WORDS)
            assert delivered.status_code == 200, delivered.text
            heard = await carrier.heard(AGENT_WORDS)
        finally:
            agent.close()
        transcript = await carrier.transcript()
    # Heard: the agent's words, as audio on the Media Stream, recognisable by the real ASR; the threat never.
    assert rms(heard) > AUDIBLE_RMS
    assert spoken(transcript, "agent") == [AGENT_WORDS]
    assert all(THREAT not in entry["text"] for entry in transcript)
    decoded = shared_asr_engine().transcribe(heard, 8000).text
    errors = character_error_rate(AGENT_WORDS, decoded), character_error_rate(THREAT, decoded)
    with capsys.disabled():
        print(f"\nthe agent's words on the call → ASR: {decoded!r}; CER {errors[0]:.2f} (against the threat {errors[1]:.2f})")
    assert errors[0] < errors[1], decoded

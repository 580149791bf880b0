"""Phone calls over the Twilio Media Streams WebSocket, with real audio through real VAD, ASR (Whisper
base), the dialogue, the compliance egress and TTS. The carrier is the test, speaking Twilio's JSON."""
from __future__ import annotations

import asyncio
import time
from datetime import date

import httpx
import pytest

from ledger.wording import yuan
from tests.e2e.call_recording import CallTimeline, check_recording, purge_when_expired
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, phone_conversation, rms, transcript
from tests.stack import METRICS_TEST_TOKEN
from tests.unit.metrics_scrape import Samples, moved, scrape

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]


def bot_texts(entries: list[dict]) -> str:
    return "\n".join(entry["text"] for entry in entries if entry["speaker"] == "bot" and not entry.get("interrupted"))


async def voice_timings(stack) -> Samples:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        return await scrape(client, METRICS_TEST_TOKEN)


async def test_whole_phone_call_verifies_hears_the_balance_and_records_a_promise(stack, redis_url, ledger, ledger_url,
                                                                                 borrowers, audit_settings,
                                                                                 recording_settings):
    account = ledger.get_primary_account("B000001")
    before = await voice_timings(stack)
    timeline = CallTimeline()  # when the borrower spoke and the bot answered, for the call's recording
    async with FakeCarrier(stack.gateway_url, "B000001", borrowers.number_of("B000001"), redis_url=redis_url) as carrier:
        timeline.start()
        with timeline.bot():
            opening = await carrier.bot_reply()
        assert rms(opening) > AUDIBLE_RMS
        conversation_id = phone_conversation(redis_url, "B000001")
        for fixture in ("d01.wav", "d02.wav", "d03.wav"):
            with timeline.borrower():
                await carrier.say_fixture(fixture)
            with timeline.bot():
                assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        heard = bot_texts(transcript(stack, conversation_id))
        assert "核实通过" in heard, heard
        assert yuan(account.balance_cents) in heard, heard
        await carrier.say_fixture("d06.wav")  # 我这周五先还两千块钱
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        # The numbers heard are read back before anything is recorded (the stack reads back every one).
        read_back = bot_texts(transcript(stack, conversation_id)).splitlines()[-1]
        assert "您是说" in read_back and "周五" in read_back, read_back
        assert all(p.conversation_id != conversation_id for p in ledger.promises_for(account.account_id))
        await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                 "dtmf": {"track": "inbound_track", "digit": "1"}})  # yes
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
    timeline.end()
    # Recorded, both sides: decodable, two channels, as long as the call, each side where it spoke, its hash in
    # the audit chain; played in the console by a reviewer (whole and by range), refused to an agent, logged.
    recording = await asyncio.to_thread(check_recording, stack.gateway_url, ledger_url, conversation_id, timeline)
    promises = [p for p in ledger.promises_for(account.account_id) if p.conversation_id == conversation_id]
    assert [(p.amount_cents, p.promised_date) for p in promises] == [(200_000, date(2026, 11, 27))]
    said = transcript(stack, conversation_id)
    assert "2,000元" in bot_texts(said)
    assert [entry["text"] for entry in said if entry["speaker"] == "borrower"][-1] == "1"
    assert [entry["speaker"] for entry in said].count("borrower") >= 3  # d01 over a phone line may be too unclear
    # /metrics timed it: four spoken answers decoded (and early decodes on pauses), each answered by a reply whose
    # first audio is measured from the end of the caller's speech; seven replies or more synthesized.
    after = await voice_timings(stack)
    assert moved(before, after, "collections_asr_seconds_count") >= 4
    assert moved(before, after, "collections_call_reply_audio_seconds_count", channel="phone") >= 4
    assert moved(before, after, "collections_call_reply_audio_seconds_sum", channel="phone") > 0
    assert moved(before, after, "collections_tts_first_chunk_seconds_count", channel="phone") >= 6
    assert moved(before, after, "collections_turn_seconds_count", channel="phone") >= 3
    # Past its retention date, the operator's purge deletes it (file and row); the chain still verifies.
    await asyncio.to_thread(purge_when_expired, ledger_url, audit_settings, recording_settings, recording)


def opened_transcript(stack, redis_url, borrower_id: str) -> list[dict]:
    return transcript(stack, phone_conversation(redis_url, borrower_id))


async def test_borrower_talking_over_the_bot_clears_its_audio_and_is_the_next_turn(stack, redis_url, borrowers):
    borrower, _ = borrowers.take()
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id), hold_marks=True,
                           redis_url=redis_url) as carrier:
        deadline = time.monotonic() + 90
        while carrier.received.media_frames < 50:  # a second of the opening is out; its mark is held back
            assert time.monotonic() < deadline and not carrier.closed.is_set(), "the opening never started"
            await asyncio.sleep(0.05)
        await carrier.transcript()  # learn the conversation now, so the next reply is counted from here
        await carrier.say_fixture("d02.wav")  # 对，我就是本人 — over the bot's opening
        assert carrier.received.clears >= 1
        carrier.hold_marks = False
        await carrier.release_marks()
        await carrier.bot_reply()
        conversation_id = phone_conversation(redis_url, borrower.borrower_id)
        said = transcript(stack, conversation_id)
    cut = [entry for entry in said if entry.get("interrupted")]
    assert cut, said
    assert cut[0]["heard_text"] and len(cut[0]["heard_text"]) < len(cut[0]["text"])
    assert cut[0]["text"].startswith(cut[0]["heard_text"])
    borrower_turns = [entry for entry in said if entry["speaker"] == "borrower"]
    assert borrower_turns and said.index(borrower_turns[0]) > said.index(cut[0])
    assert "后四位" in bot_texts(said[said.index(borrower_turns[0]):])
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
                        params={"token": stack.config.rasa_token}, timeout=30).json()
    assert [event["text"] for event in tracker["events"]
            if event["event"] == "bot" and event["metadata"].get("full_text") == cut[0]["text"]
            and event["metadata"].get("interrupted")] == [cut[0]["heard_text"]]


async def test_keyed_digits_answer_the_id_question(stack, redis_url, borrowers):
    borrower, _ = borrowers.take(keyable_id=True)
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        await carrier.say_fixture("d02.wav")
        await carrier.bot_reply()
        assert "后四位" in bot_texts(opened_transcript(stack, redis_url, borrower.borrower_id))
        for digit in borrower.id_last4:
            await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                     "dtmf": {"track": "inbound_track", "digit": digit}})
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        said = opened_transcript(stack, redis_url, borrower.borrower_id)
    assert f"身份证后四位是{borrower.id_last4}" in [entry["text"] for entry in said if entry["speaker"] == "borrower"]
    assert "核实通过" in bot_texts(said)


async def key(carrier: FakeCarrier, digit: str) -> None:
    await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                             "dtmf": {"track": "inbound_track", "digit": digit}})


async def test_keyed_2_declines_paying_in_full_and_keyed_1_confirms_the_plan_offered(stack, redis_url, ledger,
                                                                                     borrowers):
    """On a phone call the questions that settle a promise or a plan say which key answers what, through the
    egress like every reply; a keyed 2 to paying in full today brings a plan offer, a keyed 1 accepts it, and the
    ledger holds the plan accepted in this call. The transcript keeps the words each key stood for."""
    borrower, account = borrowers.take(tiers="A", min_balance_cents=1_300_000, keyable_id=True)
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        await carrier.say_fixture("d02.wav")  # 对，我就是张伟本人。
        await carrier.bot_reply()
        for digit in borrower.id_last4:
            await key(carrier, digit)
        await carrier.bot_reply()
        balance = bot_texts(await carrier.transcript()).splitlines()[-1]
        assert yuan(account.balance_cents) in balance and balance.endswith("方便请按1，不方便请按2。"), balance
        await key(carrier, "2")
        await carrier.bot_reply()
        offer = bot_texts(await carrier.transcript()).splitlines()[-1]
        assert offer.endswith("您同意这个方案吗？确认请按1，不同意请按2。"), offer
        mine = [p for p in ledger.plans_for(account.account_id) if p.conversation_id == carrier.conversation_id]
        assert [p.status for p in mine] == ["proposed"]
        await key(carrier, "1")
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        said = await carrier.transcript()
    plans = [p for p in ledger.plans_for(account.account_id) if p.conversation_id == carrier.conversation_id]
    assert [(p.plan_id, p.status) for p in plans] == [(mine[0].plan_id, "accepted")]
    assert sum(amount for _, amount in plans[0].items) == plans[0].total_cents
    assert [entry["text"] for entry in said if entry["speaker"] == "borrower"][-2:] == ["不同意", "确认"]
    assert "方案已确认" in bot_texts(said)


async def test_keyed_digits_ended_with_hash_are_one_answer(stack, redis_url, borrowers):
    """`#` ends a keyed entry early: two keys and `#` reach the dialogue as one answer, which four keys
    alone would not have (the call waits for the fourth key otherwise)."""
    borrower, _ = borrowers.take()
    short = "72" if not borrower.id_last4.startswith("72") else "27"
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        await carrier.say_fixture("d02.wav")
        await carrier.bot_reply()
        assert "后四位" in bot_texts(await carrier.transcript())
        for digit in f"{short}#":
            await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                     "dtmf": {"track": "inbound_track", "digit": digit}})
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS
        said = await carrier.transcript()
    answers = [entry["text"] for entry in said if entry["speaker"] == "borrower"]
    assert answers[-1] == f"身份证后四位是{short}", answers
    assert said[-1]["speaker"] == "bot" and "核实通过" not in bot_texts(said)


async def test_a_silent_line_is_reprompted_then_ended_politely(stack, redis_url, borrowers):
    borrower, _ = borrowers.take()
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, borrowers.number_of(borrower.borrower_id),
                           redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        await carrier.wait_closed(timeout=60)  # the line carries nothing but silence
        said = opened_transcript(stack, redis_url, borrower.borrower_id)
    assert carrier.close_code == 1000 and carrier.close_reason == "silence"
    spoken = [entry["text"] for entry in said if entry["speaker"] == "bot"]
    assert spoken.count("您好，请问您还在听吗？") == 2
    assert spoken[-1] == "好像听不到您的声音，这次通话先到这里，再见。"
    assert len(carrier.received.marks) == len(carrier.received.acked)  # the goodbye was played before hanging up

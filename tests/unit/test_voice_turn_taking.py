"""Turn-taking on a call, through real VAD, Whisper base in the ASR pool, espeak TTS and the real conversation service
and egress (Rasa scripted): a reply to a turn the caller spoke past is dropped unsaid, not started and cut; a reply is
spoken sentence by sentence, one mark each; a question offering keys takes a keyed 1 as the words it stands for."""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from bot.audit import AuditTrail
from bot.conversations import ConversationService
from bot.rasa_client import RasaTurn
from bot.sessions import InMemorySessionStore
from configuration.settings import VoiceSettings
from ledger.repository import Ledger
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import AUDIT_KEY, BORROWER, FAULTS, NOW, ScriptedRasa, rasa_turn
from tests.unit.voice_engines import ZH_FIXTURES, shared_asr_engine
from voice.audio_files import read_wav_pcm16
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.codecs import StreamResampler
from voice.frames import BotText, Dtmf, InputAudio, OutputAudio, OutputMark, PlaybackMark
from voice.playback import ends_reply
from voice.tts import make_tts_engine
from voice.tts.text import split_sentences

pytestmark = pytest.mark.asyncio
RATE = 8_000  # a phone line
FRAME_BYTES = RATE * 20 // 1000 * 2
DEADLINE_SECONDS = 120
SECOND_ANSWER = "好的，请您稍等。"
PLAN_OFFER = "可以为您申请分3期，每期1,200.00元，共3,600.00元。您同意这个方案吗？确认请按1，不同意请按2。"


class GatedRasa(ScriptedRasa):
    """The scripted dialogue, holding the answer to turn `gated` (0 is the opening) until the test opens the gate;
    keeps the events the gateway appends to the tracker (a cut or unsaid reply)."""

    def __init__(self, *turns: RasaTurn, gated: int | None = None) -> None:
        super().__init__(*turns)
        self.gated = gated
        self.gate = asyncio.Event()
        self.appended: list[dict[str, Any]] = []

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> RasaTurn:
        if len(self.sent) == self.gated:
            self.sent.append((conversation_id, text, metadata))
            await self.gate.wait()
            self.sent.pop()
        return await super().send(conversation_id, text, metadata)

    async def append_events(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        self.appended += events


class PhoneCall:
    """A running call as a carrier sees it: frames out (marks played back at once), the caller's audio in."""

    def __init__(self, sessions, rasa: GatedRasa, settings: VoiceSettings = VoiceSettings(speculative_asr_after_ms=0)) -> None:
        self.rasa = rasa
        self.store = InMemorySessionStore()
        service = ConversationService(self.store, rasa, Ledger(sessions), AuditTrail(sessions, AUDIT_KEY),
                                      lambda: NOW, 500, FAULTS)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
        services = VoiceServices(service, asr=shared_asr_engine(), decode_pool=self.pool,
                                 tts=make_tts_engine(settings), settings=settings)
        self.sent: list[Any] = []
        self.call = VoiceCall(services, self._sent, self._hangup, RATE, "phone")

    async def _sent(self, frame) -> None:
        self.sent.append(frame)
        if isinstance(frame, OutputMark):  # played at once
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.call.on_mark(PlaybackMark(frame.name))))

    async def _hangup(self, reason: str) -> None:
        return None

    async def __aenter__(self) -> "PhoneCall":
        await self.call.start(CallParty(BORROWER))
        await self.until(lambda: not self.call._bot_audible(), "the opening was not spoken")
        return self

    async def __aexit__(self, *_) -> None:
        await self.call.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def say(self, fixture: str) -> None:
        """The caller speaks the fixture in real time, then a second of line silence."""
        pcm, rate = read_wav_pcm16(ZH_FIXTURES / fixture)
        resampler = StreamResampler(rate, RATE)
        await self.line(resampler.feed(pcm) + resampler.feed(b"", last=True))

    async def crackle(self) -> None:
        """A second of line noise, which the VAD takes for speech and the recogniser rejects (no words)."""
        await self.line(np.random.default_rng(5).normal(0, 2500, RATE).astype("<i2").tobytes())

    async def line(self, pcm: bytes) -> None:
        """`pcm` in real time, then a second of line silence."""
        spoken = pcm + bytes(RATE * 2)
        spoken = spoken[:len(spoken) - len(spoken) % FRAME_BYTES]
        for offset in range(0, len(spoken), FRAME_BYTES):
            await self.call.on_audio(InputAudio(spoken[offset:offset + FRAME_BYTES]))
            await asyncio.sleep(0.02)

    def bot_texts(self) -> list[str]:
        return [frame.text for frame in self.sent if isinstance(frame, BotText)]

    async def transcript(self) -> list[dict[str, Any]]:
        return await self.store.transcript(self.call.conversation_id)

    @staticmethod
    async def until(condition, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, what
            await asyncio.sleep(0.05)


async def test_a_reply_to_a_turn_the_caller_spoke_past_is_dropped_unsaid(sessions):
    """The caller says who they are, and while the dialogue is still answering says something else: the answer to
    the first never plays (no text, no audio, nothing to cut); the transcript and the tracker note it was not heard,
    and the second is answered."""
    rasa = GatedRasa(rasa_turn("您好，请问是张伟本人吗？"), rasa_turn("请告诉我您身份证号码的后四位。"),
                     rasa_turn(SECOND_ANSWER), gated=1)
    async with PhoneCall(sessions, rasa) as phone:
        await phone.say("d02.wav")  # 对，我就是张伟本人。
        await phone.until(lambda: len(rasa.sent) == 2, "the first turn did not reach the dialogue")
        await phone.say("d06.wav")  # 我这周五先还两千块钱。 — while the first turn is still with the dialogue
        rasa.gate.set()
        await phone.until(lambda: SECOND_ANSWER in phone.bot_texts() and not phone.call._bot_audible(),
                          "the second turn was not answered")
        said = await phone.transcript()
    assert phone.bot_texts()[1:] == [SECOND_ANSWER]  # the first answer never started: no text, so no audio either
    assert any(isinstance(frame, OutputAudio) for frame in phone.sent[phone.sent.index(BotText(SECOND_ANSWER)):])
    texts = [(entry["speaker"], entry["text"], entry.get("interrupted", False), entry.get("heard_text"))
             for entry in said]
    unsaid = ("bot", "请告诉我您身份证号码的后四位。", True, "")
    assert texts.index(unsaid) > texts.index(("bot", "请告诉我您身份证号码的后四位。", False, None))  # sent, then noted
    assert [speaker for speaker, *_ in texts[texts.index(unsaid):]] == ["bot", "borrower", "bot"]
    assert rasa.appended == [{"event": "bot", "text": "",
                              "metadata": {"interrupted": True, "full_text": "请告诉我您身份证号码的后四位。"}}]


async def test_a_reply_held_back_by_noise_on_the_line_is_said_after_all(sessions, caplog):
    """The line crackles while the dialogue answers: it sounded like speech, so the answer was held back, but the
    recogniser found no words in it, so the answer is said (once, with nothing noted as unheard)."""
    caplog.set_level(logging.INFO, logger="voice.call")
    rasa = GatedRasa(rasa_turn("您好，请问是张伟本人吗？"), rasa_turn("请告诉我您身份证号码的后四位。"), gated=1)
    async with PhoneCall(sessions, rasa) as phone:
        await phone.say("d02.wav")  # 对，我就是张伟本人。
        await phone.until(lambda: len(rasa.sent) == 2, "the turn did not reach the dialogue")
        await phone.crackle()
        await phone.until(lambda: not phone.call._turns.empty(), "the crackle was not taken for speech")
        rasa.gate.set()
        await phone.until(lambda: "请告诉我您身份证号码的后四位。" in phone.bot_texts() and not phone.call._bot_audible()
                          and phone.call._turns.empty() and not phone.call._turn_in_progress,
                          "the held-back reply was not said")
        said = await phone.transcript()
    assert phone.bot_texts()[1:] == ["请告诉我您身份证号码的后四位。"] and len(rasa.sent) == 2
    assert not [entry for entry in said if entry.get("interrupted")] and rasa.appended == []
    held = [record.getMessage() for record in caplog.records if "held back" in record.getMessage()]
    assert len(held) == 1, held  # it was held back, then said: not said because it never was


async def test_a_long_reply_is_spoken_sentence_by_sentence_and_a_keyed_1_confirms_it(sessions):
    """The plan offer carries keys (buttons, added by the dialogue on phone calls): it is spoken as its sentences,
    each with a mark; a keyed 1 reaches the dialogue as the words it stands for, once; a key with no question
    asking for one is not an answer."""
    offer = RasaTurn([{"recipient_id": "x", "text": PLAN_OFFER,
                       "buttons": [{"title": "1", "payload": "确认"}, {"title": "2", "payload": "不同意"}]}],
                     True, False, ())
    rasa = GatedRasa(rasa_turn("您好，请问是张伟本人吗？"), offer, rasa_turn("好的，分3期方案已确认。", verified=True))
    async with PhoneCall(sessions, rasa) as phone:
        marks_before = len([frame for frame in phone.sent if isinstance(frame, OutputMark)])
        await phone.call.on_dtmf(Dtmf("2"))  # nothing asked for a key yet: the start of a keyed entry, not an answer
        for digit in "821":
            await phone.call.on_dtmf(Dtmf(digit))
        await phone.until(lambda: PLAN_OFFER in phone.bot_texts() and not phone.call._bot_audible(),
                          "the offer was not spoken")
        assert rasa.sent[1][1] == "身份证后四位是2821"
        marks = [frame.name for frame in phone.sent if isinstance(frame, OutputMark)][marks_before:]
        await phone.call.on_dtmf(Dtmf("1"))
        await phone.call.on_dtmf(Dtmf("1"))  # pressed twice: the question was answered by the first
        await phone.until(lambda: "好的，分3期方案已确认。" in phone.bot_texts() and not phone.call._bot_audible(),
                          "the key was not taken")
        await asyncio.sleep(0.5)
        said = await phone.transcript()
    assert [text for _, text, _ in rasa.sent[1:]] == ["身份证后四位是2821", "确认"]
    assert phone.bot_texts()[1:] == [PLAN_OFFER, "好的，分3期方案已确认。"]  # each message's text once
    sentences = split_sentences(PLAN_OFFER)
    assert len(sentences) == 3 and len(marks) == len(sentences)  # one utterance and mark per sentence
    assert [ends_reply(mark) for mark in marks] == [False, False, True]
    assert [entry["text"] for entry in said if entry["speaker"] == "borrower"] == ["身份证后四位是2821", "确认"]


async def test_a_clear_yes_heard_in_a_pause_ends_the_turn_before_the_end_of_turn_silence(sessions):
    """The early decode (on a 200 ms pause) hears "对，…" to a yes/no question: the turn ends then. The line goes
    quiet after a second of silence, far short of the 5 s end of turn, so only the early end can take the turn."""
    rasa = GatedRasa(rasa_turn("您好，请问是张伟本人吗？"), rasa_turn("请告诉我您身份证号码的后四位。"))
    settings = VoiceSettings(speculative_asr_after_ms=200, end_of_turn_silence_ms=5000)
    async with PhoneCall(sessions, rasa, settings) as phone:
        await phone.say("d02.wav")  # 对，我就是张伟本人。
        await phone.until(lambda: len(rasa.sent) == 2, "the yes did not end the turn")
        await phone.until(lambda: not phone.call._bot_audible(), "the answer was not spoken")
    assert rasa.sent[1][1].startswith("对") and phone.bot_texts()[1:] == ["请告诉我您身份证号码的后四位。"]


async def test_words_that_do_not_answer_the_question_wait_out_the_end_of_turn_silence(sessions):
    """To the same question the caller says they are driving: not a yes or no, so they may go on after the pause,
    and the turn waits for the whole end-of-turn silence (1.5 s: longer than the second of silence the caller's
    line has given when the early decode is back)."""
    rasa = GatedRasa(rasa_turn("您好，请问是张伟本人吗？"), rasa_turn("好的，我稍后再联系您。"))
    settings = VoiceSettings(speculative_asr_after_ms=200, end_of_turn_silence_ms=1500)
    async with PhoneCall(sessions, rasa, settings) as phone:
        await phone.say("d13.wav")  # 我现在在开车，不方便说话。
        await phone.until(lambda: phone.call._early_decode is not None and phone.call._early_decode[1].done(),
                          "no early decode was made")
        await asyncio.sleep(0)  # its done callbacks
        assert phone.call._detector.in_speech and len(rasa.sent) == 1
        await phone.line(b"")  # another second of silence: the end of turn
        await phone.until(lambda: len(rasa.sent) == 2, "the turn did not end")
    assert "开车" in rasa.sent[1][1]


async def test_id_digits_on_a_call_are_decoded_with_the_careful_window_at_once(sessions, monkeypatch):
    """Whisper base with the short encoder window hears d03's 三八二一 as "381". The call has just asked for the ID
    digits, so the engine decodes the answer with its careful (numbers) window at once, early decode and turn decode
    alike, never the short window first; and the dialogue gets all four."""
    engine = shared_asr_engine()
    windows, decode = [], engine._decode
    monkeypatch.setattr(engine, "_decode", lambda audio, seconds, options, frames: (
        windows.append(frames), decode(audio, seconds, options, frames))[1])
    rasa = GatedRasa(rasa_turn("为了保护您的信息安全，请告诉我您身份证号码的后四位，或者您的出生日期。"),
                     rasa_turn("身份核实通过，谢谢您的配合。", verified=True))
    async with PhoneCall(sessions, rasa, VoiceSettings()) as phone:
        await phone.say("d03.wav")  # 我身份证后四位是三八二一。
        await phone.until(lambda: len(rasa.sent) == 2, "the ID answer did not reach the dialogue")
    assert "3821" in rasa.sent[1][1], rasa.sent[1][1]
    assert windows and set(windows) == {engine.numbers_padding_frames}, windows

"""A call's timings in /metrics' registry: a recorded borrower sentence played into a call (real VAD, Whisper base
decoding in the ASR pool, espeak TTS, the real conversation service; Rasa scripted) is decoded, answered, and its
reply's first audio measured from the end of the caller's speech: each histogram moves by exactly that one turn."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import REGISTRY

from bot.audit import AuditTrail
from bot.conversations import ConversationService
from bot.sessions import InMemorySessionStore
from configuration.settings import VoiceSettings
from tests.unit.seeded_ledger import sessions  # noqa: F401 - fixture
from tests.unit.test_conversation_turn import AUDIT_KEY, BORROWER, FAULTS, NOW, ScriptedRasa, rasa_turn
from tests.unit.voice_engines import ZH_FIXTURES, shared_asr_engine
from ledger.repository import Ledger
from voice.audio_files import read_wav_pcm16
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.codecs import StreamResampler
from voice.frames import InputAudio, OutputAudio, OutputMark, PlaybackMark
from voice.tts import make_tts_engine

pytestmark = pytest.mark.asyncio
RATE = 16_000
FRAME_BYTES = RATE * 20 // 1000 * 2
DEADLINE_SECONDS = 120


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def timings() -> dict[str, float]:
    return {
        "asr": sample("collections_asr_seconds_count"),
        "tts": sample("collections_tts_first_chunk_seconds_count", channel="browser_voice"),
        "reply": sample("collections_call_reply_audio_seconds_count", channel="browser_voice"),
        "reply_sum": sample("collections_call_reply_audio_seconds_sum", channel="browser_voice"),
        "turns": sample("collections_turn_seconds_count", channel="browser_voice"),
    }


async def test_a_spoken_turn_is_decoded_answered_and_its_first_reply_audio_timed(sessions):
    rasa = ScriptedRasa(rasa_turn("您好，请问是张伟本人吗？"), rasa_turn("好的，谢谢您。"))
    service = ConversationService(InMemorySessionStore(), rasa, Ledger(sessions), AuditTrail(sessions, AUDIT_KEY),
                                  lambda: NOW, 500, FAULTS)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr")
    settings = VoiceSettings(speculative_asr_after_ms=0)  # no early decode: one decode per turn
    audio_frames: list[float] = []
    call: VoiceCall

    async def sent(frame) -> None:
        if isinstance(frame, OutputAudio):
            audio_frames.append(asyncio.get_running_loop().time())
        elif isinstance(frame, OutputMark):  # played at once
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(call.on_mark(PlaybackMark(frame.name))))

    async def hangup(reason: str) -> None:
        return None

    services = VoiceServices(service, asr=shared_asr_engine(), decode_pool=pool, tts=make_tts_engine(settings),
                             settings=settings)
    call = VoiceCall(services, sent, hangup, RATE, "browser_voice")
    await call.start(CallParty(BORROWER))
    try:
        await _until(lambda: not call._bot_audible(), "the opening was not spoken")
        before = timings()
        pcm, rate = read_wav_pcm16(ZH_FIXTURES / "d02.wav")  # 对，我就是张伟本人。
        resampler = StreamResampler(rate, RATE)
        spoken = resampler.feed(pcm) + resampler.feed(b"", last=True) + bytes(RATE * 2)  # then a second of silence
        spoken = spoken[:len(spoken) - len(spoken) % FRAME_BYTES]
        frames_before = len(audio_frames)
        for offset in range(0, len(spoken), FRAME_BYTES):
            await call.on_audio(InputAudio(spoken[offset:offset + FRAME_BYTES]))
        await _until(lambda: len(rasa.sent) == 2 and len(audio_frames) > frames_before and not call._bot_audible(),
                     "the turn was not answered")
        after = timings()
    finally:
        await call.close()
        pool.shutdown(wait=False, cancel_futures=True)
    assert rasa.sent[1][1]  # the words heard went to the dialogue
    assert after["turns"] - before["turns"] == 1
    assert after["reply"] - before["reply"] == 1
    # From the end of speech: the VAD's trailing silence is part of what the caller waited.
    assert after["reply_sum"] - before["reply_sum"] >= settings.end_of_turn_silence_ms / 1000
    assert after["tts"] - before["tts"] == 1  # one reply utterance
    assert after["asr"] - before["asr"] == 1


async def _until(condition, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)

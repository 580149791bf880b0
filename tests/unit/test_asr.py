"""The real ASR (embedded Whisper base, int8) on real Mandarin audio, wideband and over a phone line."""
from __future__ import annotations

import asyncio
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from configuration.settings import VoiceSettings
from faster_whisper.audio import pad_or_trim
from faster_whisper.transcribe import Segment
from tests.unit.voice_engines import ZH_MANIFEST, shared_asr_engine
from voice.asr import AsrInputError, make_asr_engine, transcribe_async
from voice.asr.evaluation import character_error_rate, read_manifest
from voice.asr.faster_whisper_engine import (DOMAIN_PROMPT, echoes_prompt, pcm16_to_float, repeats_itself,
                                             shorter_window)
from voice.audio_files import read_wav_pcm16
from voice.codecs import pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16

REFERENCES = read_manifest(ZH_MANIFEST)
# Measured by benchmarks/asr_accuracy.py (domain prompt, beam 1): mean CER 0.082 at 16 kHz, 0.109 at 8 kHz μ-law.
MAX_MEAN_CER_16K = 0.15
MAX_MEAN_CER_8K = 0.20
# Phone-line subset: the utterances that carry the numbers and words the dialogue depends on.
PHONE_LINE_SUBSET = ("d02.wav", "d03.wav", "d06.wav", "d07.wav", "d11.wav", "d19.wav")


def _phone_line(pcm16: bytes, rate: int) -> bytes:
    return ulaw_to_pcm16(pcm16_to_ulaw(resample_pcm16(pcm16, rate, 8000)))


def test_borrower_utterances_transcribe_within_the_measured_error_rate() -> None:
    engine = shared_asr_engine()
    errors = []
    for reference in REFERENCES:
        transcript = engine.transcribe(*read_wav_pcm16(reference.path))
        assert transcript.rejected is None, (reference.path.name, transcript)
        assert transcript.language == "zh" and transcript.seconds == pytest.approx(
            read_wav_pcm16(reference.path)[0].__len__() / 2 / 16000)
        errors.append(character_error_rate(reference.text, transcript.text))
    assert statistics.mean(errors) <= MAX_MEAN_CER_16K, errors


def test_telephone_audio_at_8k_mulaw_is_understood() -> None:
    engine = shared_asr_engine()
    chosen = [reference for reference in REFERENCES if reference.path.name in PHONE_LINE_SUBSET]
    errors = []
    for reference in chosen:
        transcript = engine.transcribe(_phone_line(*read_wav_pcm16(reference.path)), 8000)
        errors.append(character_error_rate(reference.text, transcript.text))
    assert statistics.mean(errors) <= MAX_MEAN_CER_8K, errors


def test_id_digits_reach_the_nlu_as_digits() -> None:
    id_reference = next(reference for reference in REFERENCES if reference.path.name == "d03.wav")
    transcript = shared_asr_engine().transcribe(_phone_line(*read_wav_pcm16(id_reference.path)), 8000)
    assert "3821" in transcript.text, transcript


@pytest.mark.parametrize("seconds", [1.0, 3.0])
def test_silence_is_rejected_not_turned_into_the_prompt(seconds: float) -> None:
    transcript = shared_asr_engine().transcribe(np.zeros(int(16000 * seconds), dtype="<i2").tobytes(), 16000)
    assert transcript.rejected is not None and transcript.text == ""


def test_line_noise_is_rejected_not_hallucinated() -> None:
    noise = np.random.default_rng(5).normal(0, 2500, 8000 * 2).astype("<i2").tobytes()
    transcript = shared_asr_engine().transcribe(noise, 8000)
    assert transcript.rejected is not None and transcript.text == "", transcript


def test_a_blip_too_short_to_be_speech_is_no_speech() -> None:
    transcript = shared_asr_engine().transcribe(b"\x01\x00" * 400, 16000)
    assert transcript.rejected == "no_speech" and transcript.decode_seconds == 0.0


@pytest.mark.parametrize(("audio", "rate", "message"), [
    (b"\x00\x01\x02", 16000, "even number of bytes"),
    (b"\x00\x00" * 100, 0, "sample rate 0 Hz"),
    (b"\x00\x00" * 100, 1_000_000, "outside"),
    ("三八二一", 16000, "must be bytes"),
])
def test_corrupt_audio_is_a_clear_error(audio: object, rate: int, message: str) -> None:
    with pytest.raises(AsrInputError, match=message):
        shared_asr_engine().transcribe(audio, rate)  # type: ignore[arg-type]


def test_prompt_echo_is_recognised_but_a_single_domain_word_is_not() -> None:
    assert echoes_prompt("以下是普通话的电话录音。", DOMAIN_PROMPT)
    assert echoes_prompt("关于还款、分期、逾期", DOMAIN_PROMPT)
    assert not echoes_prompt("我要还款", DOMAIN_PROMPT)
    assert not echoes_prompt("罚息能不能减免一点？", DOMAIN_PROMPT)


class NeedsTheLoopWhileDecoding:
    """The real engine, whose decode first waits for the event loop to run a callback. Were decoding
    done on the loop's thread, the loop could not run it and the decode would report so: proof by
    order of events, with no timing bound for a loaded machine to break."""

    def __init__(self, engine, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop
        self._loop_thread = threading.get_ident()  # made on the loop's thread, by the test
        self.loop_ran_during_decode: bool | None = None
        self.decoded_on_loop_thread: bool | None = None

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def transcribe(self, pcm16: bytes, sample_rate: int, language: str | None = None, numbers_expected: bool = False):
        loop_ran = threading.Event()
        self.decoded_on_loop_thread = threading.get_ident() == self._loop_thread
        self._loop.call_soon_threadsafe(loop_ran.set)
        # On the loop's own thread this wait can only time out; off it, the loop sets it at once.
        self.loop_ran_during_decode = loop_ran.wait(timeout=0 if self.decoded_on_loop_thread else 60)
        return self._engine.transcribe(pcm16, sample_rate, language, numbers_expected)


@pytest.mark.asyncio
async def test_decoding_never_blocks_the_event_loop() -> None:
    pcm16, rate = read_wav_pcm16(REFERENCES[0].path)
    probe = NeedsTheLoopWhileDecoding(shared_asr_engine(), asyncio.get_running_loop())
    with ThreadPoolExecutor(max_workers=1) as pool:
        transcript = await transcribe_async(probe, pcm16, rate, pool)
    assert transcript.text
    assert probe.decoded_on_loop_thread is False and probe.loop_ran_during_decode is True


def test_the_encoder_sees_the_utterance_and_its_padding_not_the_whole_30_s_window() -> None:
    engine = shared_asr_engine()
    model = engine._model
    id_answer = next(reference for reference in REFERENCES if reference.path.name == "d03.wav")
    pcm16, rate = read_wav_pcm16(id_answer.path)
    spoken = model.feature_extractor(pcm16_to_float(pcm16, rate))
    window = shorter_window(pad_or_trim(spoken), padding_frames=500)
    assert window.shape == (spoken.shape[0], spoken.shape[1] + 500)
    assert np.array_equal(window[:, :spoken.shape[1]], spoken)
    assert np.all(window[:, spoken.shape[1]:] == spoken.min())  # the floor of the clamped log-mel: silence


def test_the_padding_setting_reaches_the_encoder() -> None:
    settings = VoiceSettings()
    assert shared_asr_engine().padding_frames == settings.asr_padding_seconds * 100
    assert settings.asr_numbers_padding_seconds == 15  # the default careful window: d03's ID digits need 12 s or more
    assert shared_asr_engine().numbers_padding_frames == 1500
    full_window = make_asr_engine(VoiceSettings(asr_padding_seconds=30))
    assert full_window.padding_frames is None  # faster-whisper's own 30 s window, zero-padded
    assert full_window.numbers_padding_frames is None  # never shorter than the first window
    id_answer = next(reference for reference in REFERENCES if reference.path.name == "d03.wav")
    assert "3821" in full_window.transcribe(_phone_line(*read_wav_pcm16(id_answer.path)), 8000).text


class _WindowSpy:
    """Stands in for the model: records each decode's window and answers per window."""

    def __init__(self, heard: dict[int | None, str]) -> None:
        self.heard, self.windows = heard, []

    def transcribe_window(self, audio, padding_frames, **options):
        self.windows.append(padding_frames)
        return [Segment(0, 0, 0.0, 3.0, self.heard[padding_frames], [1, 2, 3], -0.1, 1.0, 0.01, None, 0.0)]


@pytest.mark.parametrize("numbers_padding, expected", [(12, 1200), (15, 1500), (30, None)])
def test_the_id_answer_is_decoded_again_with_the_careful_window(numbers_padding, expected) -> None:
    """The second decode uses COLLECTIONS_VOICE_ASR_NUMBERS_PADDING_SECONDS (30: the full window); by default only
    for the ID answer's words: an amount and a weekday are decoded once, with the short window."""
    engine = make_asr_engine(VoiceSettings(asr_padding_seconds=5, asr_numbers_padding_seconds=numbers_padding))
    spy = engine._model = _WindowSpy({500: "我身份证后四位是381", expected: "我身份证后四位是3821"})
    pcm16 = (np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes()
    heard = engine.transcribe(pcm16, 16000)
    assert spy.windows == [500, expected] and heard.full_window and "3821" in heard.text
    for said in ("我现在在开车", "我这周五先还2000块钱"):
        spy.heard[500] = said
        spy.windows.clear()
        assert not engine.transcribe(pcm16, 16000).full_window and spy.windows == [500], said


@pytest.mark.parametrize("redecode, again", [("numbers", True), ("id_answer", False), ("off", False)])
def test_which_short_results_are_decoded_again_is_a_setting(redecode, again) -> None:
    """COLLECTIONS_VOICE_ASR_CAREFUL_REDECODE=numbers decodes any digits, date or weekday again as well."""
    engine = make_asr_engine(VoiceSettings(asr_padding_seconds=5, asr_numbers_padding_seconds=15,
                                           asr_careful_redecode=redecode))
    spy = engine._model = _WindowSpy({500: "我这中五线还2000块钱", 1500: "我这周五先还2000块钱"})
    heard = engine.transcribe((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes(), 16000)
    assert spy.windows == ([500, 1500] if again else [500]) and heard.full_window is again


def test_numbers_expected_are_decoded_once_with_the_careful_window() -> None:
    """The call has just asked for the ID digits: no short decode first. Without the second decode configured
    (asr_careful_redecode off) the hint changes nothing."""
    pcm16 = (np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes()
    engine = make_asr_engine(VoiceSettings(asr_padding_seconds=5, asr_numbers_padding_seconds=15))
    spy = engine._model = _WindowSpy({500: "我身份证后四位是381", 1500: "我身份证后四位是3821"})
    heard = engine.transcribe(pcm16, 16000, numbers_expected=True)
    assert spy.windows == [1500] and heard.full_window and "3821" in heard.text
    spy.heard[1500] = "我不记得了"  # no number in the careful decode: still one decode, returned as it is
    spy.windows.clear()
    assert engine.transcribe(pcm16, 16000, numbers_expected=True).text == "我不记得了" and spy.windows == [1500]
    short_only = make_asr_engine(VoiceSettings(asr_padding_seconds=5, asr_careful_redecode="off"))
    spy = short_only._model = _WindowSpy({500: "我身份证后四位是381"})
    assert not short_only.transcribe(pcm16, 16000, numbers_expected=True).full_window and spy.windows == [500]


def test_a_numbers_window_no_longer_than_the_first_means_one_careful_decode() -> None:
    engine = make_asr_engine(VoiceSettings(asr_padding_seconds=5, asr_numbers_padding_seconds=3))
    spy = engine._model = _WindowSpy({500: "我身份证后四位是3821"})
    heard = engine.transcribe((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes(), 16000)
    assert spy.windows == [500] and heard.full_window


def test_the_id_answer_is_decoded_again_with_the_careful_window_and_the_rest_are_not() -> None:
    """The engine's own choice, so a file, the CLI and a call decode alike: d03's ID answer (which the short window
    alone hears as "381") comes from the careful window (its default padding); d06's amount (heard alike in every
    window) and d13 (no number) only from the short one."""
    engine = shared_asr_engine()
    by_name = {reference.path.name: reference for reference in REFERENCES}
    heard = {name: engine.transcribe(_phone_line(*read_wav_pcm16(by_name[name].path)), 8000)
             for name in ("d03.wav", "d06.wav", "d13.wav")}
    assert heard["d03.wav"].full_window and "3821" in heard["d03.wav"].text, heard["d03.wav"]
    assert not heard["d06.wav"].full_window and "2000" in heard["d06.wav"].text, heard["d06.wav"]
    assert not heard["d13.wav"].full_window and "开车" in heard["d13.wav"].text, heard["d13.wav"]
    short_only = make_asr_engine(VoiceSettings(asr_careful_redecode="off"))
    assert not short_only.transcribe(_phone_line(*read_wav_pcm16(by_name["d03.wav"].path)), 8000).full_window


@pytest.mark.parametrize("text, loops", [
    ("你们别再给我打电话了你们别再给我打电话了", True),
    ("我下周五还，我下周五还", True),
    ("好的好的", False),  # people do say short words twice
    ("你们别再给我打电话了", False),
    ("please stop calling me please stop calling me", True),
])
def test_a_transcript_that_repeats_itself_is_the_decoder_looping(text, loops) -> None:
    assert repeats_itself(text) is loops


def test_an_utterance_cut_at_its_last_sound_is_not_heard_twice() -> None:
    """d12 cut at its last loud sample (as a call's end of turn cuts it) came out of the short window as the
    sentence twice; the looping result is decoded again with the full window."""
    reference = next(reference for reference in REFERENCES if reference.path.name == "d12.wav")
    pcm16, rate = read_wav_pcm16(reference.path)
    samples = np.frombuffer(pcm16, dtype="<i2")
    last_sound = int(np.flatnonzero(np.abs(samples) > 500)[-1]) + 1
    heard = shared_asr_engine().transcribe(_phone_line(samples[:last_sound].tobytes(), rate), 8000)
    assert heard.text and not repeats_itself(heard.text), heard
    assert character_error_rate(reference.text, heard.text) < 0.5, heard

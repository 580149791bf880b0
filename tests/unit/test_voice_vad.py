"""End-of-turn detection on real Mandarin speech, silence, and an endless noisy monologue."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voice.codecs import resample_pcm16
from configuration.settings import VoiceSettings
from voice.vad import SpeechConfirmed, SpeechStarted, TurnDetector, TurnEnded, TurnPaused

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "zh"


def fixture_pcm(name: str, rate: int) -> bytes:
    with wave.open(str(FIXTURES / name)) as wav:
        return resample_pcm16(wav.readframes(wav.getnframes()), wav.getframerate(), rate)


def silence(seconds: float, rate: int) -> bytes:
    return bytes(int(seconds * rate) * 2)


def feed_in_chunks(detector: TurnDetector, pcm: bytes, chunk_bytes: int = 320) -> list:
    events = []
    for offset in range(0, len(pcm), chunk_bytes):
        events += detector.feed(pcm[offset:offset + chunk_bytes])
    return events


@pytest.mark.parametrize("rate", [8000, 16000])
def test_one_sentence_then_silence_is_one_turn_without_the_trailing_silence(rate):
    speech = fixture_pcm("d03.wav", rate)
    detector = TurnDetector(rate, VoiceSettings())
    events = feed_in_chunks(detector, speech + silence(1.0, rate), chunk_bytes=333)
    kinds = [type(event) for event in events]
    assert kinds == [SpeechStarted, SpeechConfirmed, TurnPaused, TurnEnded]
    turn = events[-1]
    assert events[2].pcm16 == turn.pcm16  # the early decode started on the pause is the turn's audio
    assert not turn.capped and turn.sample_rate == rate
    assert 1.5 < len(turn.pcm16) / 2 / rate <= len(speech) / 2 / rate + 0.2


def test_the_turn_ends_only_after_the_configured_silence():
    rate = 8000
    detector = TurnDetector(rate, VoiceSettings(end_of_turn_silence_ms=1000))
    # d03.wav ends with about 0.3 s of silence of its own.
    assert not any(isinstance(e, TurnEnded) for e in feed_in_chunks(detector, fixture_pcm("d03.wav", rate) + silence(0.5, rate)))
    assert detector.in_speech
    assert any(isinstance(e, TurnEnded) for e in feed_in_chunks(detector, silence(0.4, rate)))


def test_speech_after_a_short_pause_continues_the_turn_and_makes_the_early_audio_stale():
    rate = 8000
    detector = TurnDetector(rate, VoiceSettings(speculative_asr_after_ms=200, end_of_turn_silence_ms=500))
    samples = np.frombuffer(fixture_pcm("d06.wav", rate), "<i2")
    loud = np.flatnonzero(np.abs(samples) > 500)
    speech = samples[loud[0]:loud[-1]].tobytes()  # without the file's quiet edges
    events = feed_in_chunks(detector, speech + silence(0.4, rate) + speech + silence(1.0, rate))
    pauses = [event for event in events if isinstance(event, TurnPaused)]
    turns = [event for event in events if isinstance(event, TurnEnded)]
    assert len(turns) == 1 and len(pauses) == 2
    assert len(pauses[0].pcm16) < len(turns[0].pcm16) == len(pauses[1].pcm16)


def test_no_pause_events_when_early_decoding_is_off():
    detector = TurnDetector(8000, VoiceSettings(speculative_asr_after_ms=0))
    events = feed_in_chunks(detector, fixture_pcm("d03.wav", 8000) + silence(1.0, 8000))
    assert not any(isinstance(event, TurnPaused) for event in events)


def test_silence_only_never_starts_a_turn():
    detector = TurnDetector(8000, VoiceSettings())
    assert feed_in_chunks(detector, silence(30, 8000)) == []


def test_a_ten_minute_monologue_is_cut_into_capped_turns_with_bounded_memory():
    rate, settings = 8000, VoiceSettings(max_utterance_seconds=15)
    detector = TurnDetector(rate, settings)
    rng = np.random.default_rng(7)
    longest = 0
    turns = []
    for _ in range(600):  # one second at a time
        second = rng.normal(0, 4000, rate).astype("<i2").tobytes()
        for event in feed_in_chunks(detector, second):
            if isinstance(event, TurnEnded):
                turns.append(event)
                longest = max(longest, len(event.pcm16))
    assert len(turns) >= 35 and all(turn.capped for turn in turns)
    assert longest <= settings.max_utterance_seconds * rate * 2


def test_a_cough_is_speech_but_not_enough_to_interrupt_the_bot():
    rate = 16000
    detector = TurnDetector(rate, VoiceSettings(barge_in_min_speech_ms=240))
    cough = np.random.default_rng(3).normal(0, 6000, int(0.12 * rate)).astype("<i2").tobytes()
    events = feed_in_chunks(detector, cough + silence(1.0, rate))
    assert SpeechStarted() in events and SpeechConfirmed() not in events
    long_burst = np.random.default_rng(4).normal(0, 6000, int(0.5 * rate)).astype("<i2").tobytes()
    assert SpeechConfirmed() in feed_in_chunks(detector, long_burst)


def test_unsupported_rate_is_refused():
    with pytest.raises(ValueError):
        TurnDetector(11025, VoiceSettings())


def test_a_paused_turn_can_be_ended_early_with_exactly_the_paused_audio_unless_speech_came_since():
    rate = 8000
    detector = TurnDetector(rate, VoiceSettings(speculative_asr_after_ms=200, end_of_turn_silence_ms=2000))
    samples = np.frombuffer(fixture_pcm("d06.wav", rate), "<i2")
    loud = np.flatnonzero(np.abs(samples) > 500)
    speech = samples[loud[0]:loud[-1]].tobytes()
    [*_, paused] = feed_in_chunks(detector, speech + silence(0.4, rate))
    assert isinstance(paused, TurnPaused) and detector.in_speech
    assert detector.end_paused_turn(len(paused.pcm16) - 320) is None  # not the audio the pause had
    ended = detector.end_paused_turn(len(paused.pcm16))
    assert isinstance(ended, TurnEnded) and ended.pcm16 == paused.pcm16 and not ended.capped
    assert 0.2 <= ended.silence_seconds <= 0.4 and not detector.in_speech  # the silence heard after the speech
    assert detector.end_paused_turn(len(paused.pcm16)) is None  # nothing under way any more

    [*_, paused] = feed_in_chunks(detector, speech + silence(0.4, rate))
    feed_in_chunks(detector, speech[:rate])  # the caller goes on talking before the early decode is back
    assert detector.end_paused_turn(len(paused.pcm16)) is None and detector.in_speech

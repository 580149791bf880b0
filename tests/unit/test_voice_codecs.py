"""G.711 μ-law against known code points and the reference implementation; soxr resampling."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from voice.codecs import StreamResampler, pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16


def pcm(*samples: int) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def samples(data: bytes) -> list[int]:
    return np.frombuffer(data, dtype="<i2").tolist()


def tone(frequency: float, rate: int, seconds: float, amplitude: int = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * math.pi * frequency * t)).astype("<i2").tobytes()


def test_known_ulaw_code_points_decode_to_the_g711_values():
    codes = bytes([0xFF, 0x7F, 0x80, 0x00, 0xFE, 0x7E, 0xEF])
    assert samples(ulaw_to_pcm16(codes)) == [0, 0, 32124, -32124, 8, -8, 132]


def test_known_linear_values_encode_to_the_g711_codes():
    assert pcm16_to_ulaw(pcm(0, 32767, -32768, 8, -8, 1000)) == bytes([0xFF, 0x80, 0x00, 0xFE, 0x7E, 0xCE])


def test_every_int16_value_encodes_exactly_like_the_reference_g711():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")  # CPython's g711.c port, gone from 3.13
    every_value = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert pcm16_to_ulaw(every_value) == audioop.lin2ulaw(every_value, 2)
    every_code = bytes(range(256))
    assert ulaw_to_pcm16(every_code) == audioop.ulaw2lin(every_code, 2)


def test_round_trip_keeps_every_code_and_stays_within_quantisation_error():
    every_code = bytes(range(256))
    decoded = ulaw_to_pcm16(every_code)
    # 0x7F (negative zero) re-encodes as 0xFF (positive zero); every other code survives.
    assert pcm16_to_ulaw(decoded) == every_code.replace(b"\x7f", b"\xff")
    speech_like = tone(440, 8000, 0.1)
    error = np.abs(np.frombuffer(ulaw_to_pcm16(pcm16_to_ulaw(speech_like)), "<i2").astype(int)
                   - np.frombuffer(speech_like, "<i2").astype(int))
    assert error.max() <= 256  # μ-law's largest step at |x| <= 8000 is 256


def test_odd_trailing_byte_is_dropped_not_misread():
    assert pcm16_to_ulaw(pcm(0, 1000) + b"\x01") == bytes([0xFF, 0xCE])
    assert ulaw_to_pcm16(b"") == b"" and pcm16_to_ulaw(b"") == b""


def dominant_frequency(data: bytes, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(np.frombuffer(data, "<i2")))
    return float(np.argmax(spectrum) * rate / (len(data) // 2))


def test_resampling_keeps_duration_and_pitch():
    one_second = tone(440, 16000, 1.0)
    down = resample_pcm16(one_second, 16000, 8000)
    assert len(down) == 8000 * 2
    assert dominant_frequency(down, 8000) == pytest.approx(440, abs=2)
    assert resample_pcm16(one_second, 16000, 16000) == one_second
    assert resample_pcm16(b"", 8000, 16000) == b""


def test_stream_resampler_matches_whole_buffer_length_and_pitch_across_odd_chunks():
    source = tone(300, 22050, 1.0)
    resampler = StreamResampler(22050, 8000)
    out = b"".join(resampler.feed(source[i:i + 1001]) for i in range(0, len(source), 1001))
    out += resampler.feed(b"", last=True)
    assert abs(len(out) // 2 - 8000) <= 2
    assert dominant_frequency(out, 8000) == pytest.approx(300, abs=2)

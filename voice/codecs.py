"""Audio codecs for the voice channels: G.711 μ-law (telephony) and sample-rate conversion with soxr.

PCM is always 16-bit signed little-endian mono, as bytes.
"""
from __future__ import annotations

import numpy as np
import soxr

_BIAS = 0x84        # G.711 μ-law bias added before the segment search
_CLIP_14BIT = 8159  # the codec works on 14-bit magnitudes, as in the reference g711.c


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


def _encode_table() -> np.ndarray:
    """One μ-law byte for every int16 value, indexed by the sample's unsigned 16-bit pattern."""
    samples = np.arange(65536, dtype=np.int32)
    samples = np.where(samples >= 32768, samples - 65536, samples)
    sign = np.where(samples < 0, 0x80, 0x00)
    # Drop to 14 bits first (arithmetic shift, as the reference does), so every value matches g711.c.
    # A clipped magnitude lands one past the top segment; it is coded as the top code.
    biased = np.minimum((np.minimum(np.abs(samples >> 2), _CLIP_14BIT) << 2) + _BIAS, 0x7FFF)
    _, binary_exponent = np.frexp(biased.astype(np.float64))  # biased = m * 2**e, 0.5 <= m < 1
    exponent = np.clip(binary_exponent - 8, 0, 7)            # segment: highest set bit above bit 7
    mantissa = (biased >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


_ULAW_TO_PCM = _decode_table()
_PCM_TO_ULAW = _encode_table()


def ulaw_to_pcm16(data: bytes) -> bytes:
    return _ULAW_TO_PCM[np.frombuffer(data, dtype=np.uint8)].tobytes()


def pcm16_to_ulaw(data: bytes) -> bytes:
    return _PCM_TO_ULAW[np.frombuffer(_whole_samples(data), dtype="<u2")].tobytes()


def resample_pcm16(data: bytes, from_rate: int, to_rate: int) -> bytes:
    """Whole-buffer conversion (an utterance, a file). For audio arriving in chunks use StreamResampler."""
    if from_rate == to_rate:
        return _whole_samples(data)
    samples = np.frombuffer(_whole_samples(data), dtype="<i2")
    if samples.size == 0:
        return b""
    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype("<i2").tobytes()


class StreamResampler:
    """Chunk-by-chunk conversion that keeps the filter state between chunks, so no clicks at the seams."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._passthrough = from_rate == to_rate
        self._stream = None if self._passthrough else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality="HQ")
        self._odd_byte = b""

    def feed(self, data: bytes, last: bool = False) -> bytes:
        data = self._odd_byte + data
        whole = len(data) - len(data) % 2
        self._odd_byte = data[whole:]
        if self._passthrough:
            return data[:whole]
        samples = np.frombuffer(data[:whole], dtype="<i2")
        return self._stream.resample_chunk(samples, last=last).astype("<i2").tobytes()


def _whole_samples(data: bytes) -> bytes:
    """A trailing odd byte is half a sample; it is dropped rather than misread."""
    return data[: len(data) - len(data) % 2]

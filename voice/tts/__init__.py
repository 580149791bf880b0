"""Speech synthesis: build the configured engine, already wrapped in the synthesis cache."""
from __future__ import annotations

from configuration.settings import VoiceSettings
from voice.tts.base import TtsEngine, TtsEngineError, TtsInputError, UnsupportedLanguage
from voice.tts.cache import CachedTts
from voice.tts.espeak import EspeakEngine
from voice.tts.routing import LanguageRouter
from voice.tts.templates import fixed_templates

__all__ = ["CachedTts", "TtsEngine", "TtsEngineError", "TtsInputError", "UnsupportedLanguage",
           "fixed_templates", "make_tts_engine"]


def _build_engine(settings: VoiceSettings) -> TtsEngine:
    espeak = EspeakEngine(words_per_minute=settings.tts_espeak_words_per_minute)
    if settings.tts_engine == "espeak":
        return espeak
    if settings.tts_engine == "piper":
        from voice.tts.piper_engine import PiperEngine, default_piper_voice

        neural: TtsEngine = PiperEngine(settings.tts_model_path or default_piper_voice())
    else:
        from voice.tts.coqui_engine import CoquiEngine

        neural = CoquiEngine(settings.tts_model_path, speaker=settings.tts_speaker)
    # Languages the neural voice does not speak (Mandarin, for the shipped English piper voice) use espeak-ng.
    return LanguageRouter(primary=neural, fallback=espeak)


def make_tts_engine(settings: VoiceSettings) -> CachedTts:
    return CachedTts(_build_engine(settings), settings.tts_cache_entries, settings.tts_cache_dir)

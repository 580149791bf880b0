"""Voice configuration: one typed object, from the environment (COLLECTIONS_VOICE_*), validated at start."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]


class VoiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COLLECTIONS_VOICE_", extra="ignore")

    # ASR
    asr_engine: Literal["faster_whisper"] = "faster_whisper"
    asr_model: str = Field(
        default="base",
        description="'base' = the embedded Whisper base from PyPI; otherwise a path to a CTranslate2 Whisper model "
                    "directory (small, medium, large-v3 converted for faster-whisper)",
    )
    asr_model_cache: Path = ROOT / "var" / "models"
    asr_device: Literal["cpu", "cuda", "auto"] = "cpu"
    asr_compute_type: str = Field(default="int8", description="int8 on CPU; float16 on GPU")
    asr_language: str = "zh"
    asr_cpu_threads: int = Field(default=2, ge=1)
    asr_workers: int = Field(default=2, ge=1, description="Concurrent decodes; each runs off the event loop")
    asr_beam_size: int = Field(default=1, ge=1, le=10)
    asr_biasing: Literal["none", "prompt", "hotwords", "prompt+hotwords"] = Field(
        default="prompt", description="How the domain vocabulary steers decoding (benchmarks/asr_accuracy.py)")
    asr_min_avg_logprob: float = Field(default=-1.2, le=0, description="Below this mean log-prob → rejected")
    asr_no_speech_threshold: float = Field(default=0.6, ge=0, le=1)

    # TTS
    tts_engine: Literal["espeak", "piper", "coqui"] = "espeak"
    tts_model_path: Path | None = Field(default=None, description="Piper .onnx voice or Coqui model directory")
    tts_cache_entries: int = Field(default=256, ge=0)
    tts_cache_dir: Path | None = Field(default=None, description="Also keep rendered templates on disk (e.g. var/tts-cache)")
    tts_espeak_words_per_minute: int = Field(default=160, ge=80, le=450)
    tts_speaker: str | None = Field(default=None, description="Speaker of a multi-speaker Coqui model")

    # Turn-taking
    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    end_of_turn_silence_ms: int = Field(default=500, ge=100, le=5000)
    speculative_asr_after_ms: int = Field(
        default=200, ge=0, le=5000,
        description="Start decoding after this much silence, before the turn is known to be over (0: off); "
                    "the result is used if the turn ends without more speech, discarded otherwise")
    max_utterance_seconds: float = Field(default=15.0, gt=1)
    reprompt_after_silence_seconds: float = Field(default=8.0, gt=0)
    max_silent_reprompts: int = Field(default=2, ge=0)
    barge_in_min_speech_ms: int = Field(
        default=240, ge=20, le=2000, description="Voiced speech over the bot's audio that stops its playback")
    reprompt_text: str = "您好，请问您还在听吗？"
    not_understood_text: str = "抱歉，刚才没有听清，请您再说一遍。"
    silence_goodbye_text: str = "好像听不到您的声音，这次通话先到这里，再见。"


@lru_cache(maxsize=1)
def voice_settings() -> VoiceSettings:
    return VoiceSettings()

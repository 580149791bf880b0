"""Coqui TTS (the maintained `coqui-tts` fork): a neural voice from a model directory the operator provides.

Optional: it pulls torch, so it is not in requirements/app.txt. Install with
`.venv/bin/pip install -r requirements/neural-tts.txt` and point COLLECTIONS_VOICE_TTS_MODEL_PATH at a
directory holding the model's config.json and weights (e.g. an XTTS v2 or a VITS checkpoint).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import numpy as np

from voice.tts.base import TtsEngineError
from voice.tts.text import check_request, split_clauses

_WEIGHT_NAMES = ("model.pth", "model_file.pth", "best_model.pth", "checkpoint.pth")


class NeuralTtsUnavailable(TtsEngineError):
    """The optional neural-TTS package is not installed."""


def _model_file(model_dir: Path) -> Path:
    for name in _WEIGHT_NAMES:
        if (model_dir / name).is_file():
            return model_dir / name
    # Multi-file models (XTTS) are loaded from the directory itself.
    return model_dir


class CoquiEngine:
    def __init__(self, model_dir: Path | None, *, languages: frozenset[str] = frozenset({"zh", "en"}),
                 use_gpu: bool = False, speaker: str | None = None) -> None:
        try:
            from TTS.api import TTS
        except ImportError as exc:
            raise NeuralTtsUnavailable(
                "COLLECTIONS_VOICE_TTS_ENGINE=coqui needs the coqui-tts package, which is not installed: "
                "run `.venv/bin/pip install -r requirements/neural-tts.txt` (pulls torch), then set "
                "COLLECTIONS_VOICE_TTS_MODEL_PATH to the model directory (config.json + weights)"
            ) from exc
        if model_dir is None or not (model_dir / "config.json").is_file():
            raise TtsEngineError(
                f"COLLECTIONS_VOICE_TTS_MODEL_PATH={model_dir}: a Coqui model directory with config.json is required "
                "(Coqui models cannot be downloaded at run time here)")
        self._tts = TTS(model_path=str(_model_file(model_dir)), config_path=str(model_dir / "config.json"),
                        gpu=use_gpu)
        self._speaker = speaker
        self.sample_rate = int(self._tts.synthesizer.output_sample_rate)
        self.languages = languages
        self.voice_id = f"coqui:{model_dir.name}:{speaker or 'default'}"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        text, language = check_request(text, language, self.languages)
        for clause in split_clauses(text):
            yield await asyncio.to_thread(self._render, clause, language)

    def _render(self, clause: str, language: str) -> bytes:
        options = {"language": "zh-cn" if language == "zh" else language} if self._tts.is_multi_lingual else {}
        if self._speaker:
            options["speaker"] = self._speaker
        samples = np.asarray(self._tts.tts(text=clause, **options), dtype=np.float32)
        return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()

"""Synthesis cache: fixed replies (greeting, disclosures, closings) are rendered once and replayed.

Keyed by (voice_id, language, text), so changing the voice never replays another voice's audio.
In memory an LRU bounded by entry count; optionally mirrored on disk so a restart keeps the
pre-warmed templates. Only complete renders are stored: a synthesis cut short by barge-in is not.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import AsyncIterator, Iterable

from voice.tts.base import TtsEngine
from voice.tts.text import check_request, split_sentences

REPLAY_CHUNK_SECONDS = 0.2  # hits are handed out in chunks like live synthesis, so playback can be cut


class CachedTts:
    def __init__(self, engine: TtsEngine, max_entries: int, disk_dir: Path | None = None) -> None:
        self.engine = engine
        self.sample_rate = engine.sample_rate
        self.voice_id = engine.voice_id
        self.languages: frozenset[str] = engine.languages  # type: ignore[attr-defined]
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._disk_dir = disk_dir
        self.hits = 0
        self.misses = 0

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        text, language = check_request(text, language, self.languages)
        key = (self.voice_id, language, text)
        audio = self._lookup(key)
        if audio is not None:
            self.hits += 1
            step = int(self.sample_rate * REPLAY_CHUNK_SECONDS) * 2
            for start in range(0, len(audio), step):
                yield audio[start:start + step]
            return
        self.misses += 1
        rendered: list[bytes] = []
        async for chunk in self.engine.synthesize(text, language):
            rendered.append(chunk)
            yield chunk
        self._store(key, b"".join(rendered))

    async def prewarm(self, phrases: Iterable[tuple[str, str]]) -> int:
        """Render (text, language) pairs not cached yet, sentence by sentence as a call asks for them
        (voice/call.py); returns how many sentences were synthesized."""
        rendered = 0
        for text, language in phrases:
            for sentence in split_sentences(text):
                sentence, canonical = check_request(sentence, language, self.languages)
                if self._lookup((self.voice_id, canonical, sentence)) is None:
                    async for _ in self.synthesize(sentence, canonical):
                        pass
                    rendered += 1
        return rendered

    def _lookup(self, key: tuple[str, str, str]) -> bytes | None:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        path = self._disk_path(key)
        if path is not None and path.is_file():
            audio = path.read_bytes()
            self._remember(key, audio)
            return audio
        return None

    def _store(self, key: tuple[str, str, str], audio: bytes) -> None:
        if not audio:
            return
        self._remember(key, audio)
        path = self._disk_path(key)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                out.write(audio)
            os.replace(temp, path)

    def _remember(self, key: tuple[str, str, str], audio: bytes) -> None:
        if self._max_entries == 0:
            return
        self._entries[key] = audio
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def _disk_path(self, key: tuple[str, str, str]) -> Path | None:
        if self._disk_dir is None:
            return None
        digest = hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()
        return self._disk_dir / f"{digest}-{self.sample_rate}.pcm"

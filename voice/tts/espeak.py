"""Embedded TTS: Debian's espeak-ng run as an async subprocess, Mandarin through tone-numbered pinyin.

Debian's `cmn` voice reads pinyin as English; `cmn-latn-pinyin` reads it as Mandarin, so Chinese
text is converted to pinyin first. Each clause is one espeak-ng process whose WAV stream is
forwarded as it is produced, so the first audio leaves long before the whole reply is rendered.
"""
from __future__ import annotations

import asyncio
import re
import shutil
from typing import AsyncIterator
from xml.sax.saxutils import escape

from voice.tts.base import TtsEngineError
from voice.tts.text import check_request, mandarin_to_pinyin, split_clauses

ESPEAK_SAMPLE_RATE = 22050
_WAV_HEADER_BYTES = 44  # espeak-ng --stdout writes a fixed canonical header, then samples as they come
_READ_BYTES = 4096
_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
# Latin words inside Mandarin ('AI自动应答', '官方App'): the pinyin voice would read 'AI' as 爱.
_LATIN_WORDS = re.compile(r"([A-Za-z]+(?:[ '.-][A-Za-z]+)*)")


def mandarin_ssml(clause: str) -> str:
    """SSML for espeak-ng -m: Chinese as pinyin on the Mandarin voice, embedded Latin words in English.

    Every run is wrapped in its own <voice>: after a bare </voice> espeak-ng mispronounces the next syllable.
    """
    runs = []
    for index, piece in enumerate(_LATIN_WORDS.split(clause)):
        if not piece.strip():
            continue
        voice, spoken = (_VOICES["en"], piece) if index % 2 else (_VOICES["zh"], mandarin_to_pinyin(piece))
        runs.append(f'<voice name="{voice}">{escape(spoken)}</voice>')
    return "<speak>" + "".join(runs) + "</speak>"


class EspeakEngine:
    sample_rate = ESPEAK_SAMPLE_RATE
    languages = frozenset(_VOICES)

    def __init__(self, executable: str = "espeak-ng", words_per_minute: int = 160) -> None:
        resolved = shutil.which(executable)
        if resolved is None:
            raise TtsEngineError(f"{executable} is not installed (apt-get install espeak-ng; scripts/setup.sh does it)")
        self._executable = resolved
        self._words_per_minute = words_per_minute
        self.voice_id = f"espeak-ng:{words_per_minute}wpm"

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        text, language = check_request(text, language, self.languages)
        for clause in split_clauses(text):
            if language == "zh":
                speech = self._speak(mandarin_ssml(clause), _VOICES["zh"], ssml=True)
            else:
                speech = self._speak(clause, _VOICES[language], ssml=False)
            async for chunk in speech:
                yield chunk

    async def _speak(self, text: str, voice: str, ssml: bool) -> AsyncIterator[bytes]:
        # Text goes in on stdin, never argv: a clause starting with '-' must not become an option.
        markup = ["-m"] if ssml else []
        process = await asyncio.create_subprocess_exec(
            self._executable, "-v", voice, *markup, "-s", str(self._words_per_minute), "--stdin", "--stdout",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdin and process.stdout and process.stderr
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
            header = await process.stdout.readexactly(_WAV_HEADER_BYTES)
            if not header.startswith(b"RIFF"):
                raise TtsEngineError("espeak-ng did not produce WAV audio")
            carry = b""
            while chunk := await process.stdout.read(_READ_BYTES):
                chunk = carry + chunk
                even = len(chunk) - len(chunk) % 2  # never split a 16-bit sample across chunks
                carry = chunk[even:]
                if even:
                    yield chunk[:even]
            if await process.wait() != 0:
                error = (await process.stderr.read()).decode("utf-8", "replace").strip()
                raise TtsEngineError(f"espeak-ng exited with {process.returncode}: {error[:200]}")
        except asyncio.IncompleteReadError as exc:
            raise TtsEngineError("espeak-ng exited before producing audio") from exc
        finally:
            if process.returncode is None:  # the listener hung up or barged in: stop rendering
                process.kill()
                await process.wait()

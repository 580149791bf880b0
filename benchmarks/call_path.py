"""What the NLU receives when an utterance is spoken on a phone call, as opposed to when its file is transcribed.

The recording goes in as a carrier sends it: 8 kHz μ-law, 20 ms frames, a moment of line silence before it and
the line's silence after it. It runs through the call's own pipeline (`VoiceCall`: the turn detector, the early
decode started on a pause and its reuse at the end of the turn, the ASR in the decode pool); the text is taken
where the call hands it to the dialogue. Only the conversation service is replaced, by one that records the text
and answers nothing, so what is measured is exactly what a call does with the audio.
"""
from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from configuration.settings import VoiceSettings
from voice.asr import AsrEngine
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.codecs import pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16
from voice.frames import InputAudio

LINE_RATE = 8000
FRAME_BYTES = LINE_RATE * 20 // 1000 * 2   # one 20 ms carrier frame, as PCM16 after the serializer decoded it
LEADING_SILENCE_SECONDS = 0.5              # the line is open before the caller speaks
TRAILING_SILENCE_SECONDS = 2.0             # longer than any end-of-turn setting the benchmark uses
SETTLE_SECONDS = 60.0                      # longest wait for the call to finish the turn (a decode on 2 busy cores)


def telephone_ulaw(pcm16: bytes, rate: int) -> bytes:
    """A recording as a phone line carries it: 8 kHz G.711 μ-law."""
    return pcm16_to_ulaw(resample_pcm16(pcm16, rate, LINE_RATE))


@dataclass
class _Listener:
    """The conversation service's seam (voice.call.Conversations): keeps the words the call hands on, says nothing."""
    heard: list[str] = field(default_factory=list)
    faults: None = None

    async def open(self, borrower_id: str, channel: str, **_: object) -> tuple[object, object]:
        return _Conversation(), _Reply()

    async def handle(self, conversation_id: str, text: str) -> object:
        self.heard.append(text)
        return _Reply()

    async def note_borrower_words(self, conversation_id: str, text: str) -> str:
        return text  # words recorded without a dialogue turn (a read-back's answer): not for the NLU

    async def handle_recorded(self, conversation_id: str, text: str) -> object:
        return _Reply()

    async def say(self, conversation_id: str, texts: list[str], speaker: str = "bot") -> list[object]:
        return []  # "not understood" and re-prompts stay silent: nothing is played on this line

    async def record_interruption(self, conversation_id: str, text: str, heard_text: str) -> None:
        return None


@dataclass(frozen=True)
class _Conversation:
    conversation_id: str = "asr-evaluation"
    language: str = "zh"


@dataclass(frozen=True)
class _Reply:
    messages: tuple = ()
    ended: bool = False
    identity_verified: bool = False
    fault: bool = False
    queued_for_person: bool = False


class CallPath:
    """One engine and decode pool for every utterance; each utterance is a call of its own."""

    def __init__(self, engine: AsrEngine, settings: VoiceSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._pool = ThreadPoolExecutor(max_workers=settings.asr_workers, thread_name_prefix="asr")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def heard(self, ulaw: bytes) -> list[str]:
        """The texts the call hands the dialogue for this 8 kHz μ-law recording, one a turn: none when every
        turn was rejected, several when the turn detector cut the recording at a pause."""
        return asyncio.run(self._call(ulaw))

    async def _call(self, ulaw: bytes) -> list[str]:
        listener = _Listener()
        services = VoiceServices(conversations=listener, asr=self._engine, decode_pool=self._pool, tts=None,
                                 settings=self._settings)
        call = VoiceCall(services, _discard, _discard, LINE_RATE, "phone")
        await call.start(CallParty("asr-evaluation"))
        try:
            line = (bytes(int(LEADING_SILENCE_SECONDS * LINE_RATE) * 2) + ulaw_to_pcm16(ulaw)
                    + bytes(int(TRAILING_SILENCE_SECONDS * LINE_RATE) * 2))
            for offset in range(0, len(line), FRAME_BYTES):
                await call.on_audio(InputAudio(line[offset:offset + FRAME_BYTES]))
                await asyncio.sleep(0)  # the call's other tasks run between frames, as they do between packets
            await _until_turns_taken(call)
        finally:
            await call.close()
        return listener.heard


async def _discard(_: object) -> None:
    return None


async def _until_turns_taken(call: VoiceCall) -> None:
    # The call's own notion of a turn under way (its watchdog reads the same state to stay quiet meanwhile).
    deadline = time.monotonic() + SETTLE_SECONDS
    while call._detector.in_speech or call._turn_in_progress or not call._turns.empty():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the call took no turn within {SETTLE_SECONDS:.0f} s")
        await asyncio.sleep(0.05)

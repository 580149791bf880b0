"""End-of-turn segmentation: webrtcvad decides voiced/unvoiced per frame; a small state machine turns
that into speech-start, barge-in-worthy speech, and finished (or length-capped) utterances."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

from configuration.settings import VoiceSettings

FRAME_MS = 20                 # webrtcvad accepts 10, 20 or 30 ms
SPEECH_START_MS = 60          # a run this long of voiced frames opens an utterance
PRE_ROLL_MS = 200             # audio kept from just before the start run, so first syllables survive
SUPPORTED_RATES = (8000, 16000, 32000, 48000)


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class SpeechConfirmed:
    """The utterance has been voiced long enough to be the borrower talking, not a click or a cough."""


@dataclass(frozen=True)
class TurnEnded:
    pcm16: bytes
    sample_rate: int
    capped: bool  # cut at max_utterance_seconds while the borrower was still talking
    silence_seconds: float = 0.0  # the silence heard after the speech, which ended the turn


@dataclass(frozen=True)
class TurnPaused:
    """A short silence: the turn may be over. Lets ASR start early; a TurnEnded with the same audio follows
    unless the borrower goes on talking."""
    pcm16: bytes
    sample_rate: int


VadEvent = SpeechStarted | SpeechConfirmed | TurnPaused | TurnEnded


class TurnDetector:
    """Feed PCM16 of any chunk size; get events. Memory is bounded by max_utterance_seconds."""

    def __init__(self, sample_rate: int, settings: VoiceSettings) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"VAD needs one of {SUPPORTED_RATES} Hz, got {sample_rate}")
        self.sample_rate = sample_rate
        self._vad = webrtcvad.Vad(settings.vad_aggressiveness)
        self._frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._start_frames = SPEECH_START_MS // FRAME_MS
        self._confirm_frames = max(1, settings.barge_in_min_speech_ms // FRAME_MS)
        self._end_frames = max(1, settings.end_of_turn_silence_ms // FRAME_MS)
        self._pause_frames = settings.speculative_asr_after_ms // FRAME_MS  # 0: no TurnPaused events
        self._max_frames = int(settings.max_utterance_seconds * 1000 // FRAME_MS)
        self._pending = b""
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=(PRE_ROLL_MS // FRAME_MS) + self._start_frames)
        self._utterance: list[bytes] = []
        self._voiced_frames = 0
        self._silent_run = 0
        self._confirmed = False

    @property
    def in_speech(self) -> bool:
        return bool(self._utterance)

    def feed(self, pcm16: bytes) -> list[VadEvent]:
        data = self._pending + pcm16
        usable = len(data) - len(data) % self._frame_bytes
        self._pending = data[usable:]
        events: list[VadEvent] = []
        for offset in range(0, usable, self._frame_bytes):
            events.extend(self._frame(data[offset:offset + self._frame_bytes]))
        return events

    def _frame(self, frame: bytes) -> list[VadEvent]:
        voiced = self._vad.is_speech(frame, self.sample_rate)
        if not self._utterance:
            self._recent.append((frame, voiced))
            run = 0
            for _, was_voiced in reversed(self._recent):
                if not was_voiced:
                    break
                run += 1
            if run < self._start_frames:
                return []
            self._utterance = [f for f, _ in self._recent]
            self._recent.clear()
            self._voiced_frames, self._silent_run, self._confirmed = run, 0, False
            return [SpeechStarted(), *self._confirm_if_long_enough()]
        self._utterance.append(frame)
        if voiced:
            self._voiced_frames += 1
            self._silent_run = 0
        else:
            self._silent_run += 1
        events: list[VadEvent] = list(self._confirm_if_long_enough())
        if 0 < self._pause_frames == self._silent_run < self._end_frames:
            events.append(TurnPaused(b"".join(self._utterance[:-self._silent_run]), self.sample_rate))
        if self._silent_run >= self._end_frames:
            # The trailing silence is not part of what was said.
            silence = self._silent_run * FRAME_MS / 1000
            events.append(self._finish(self._utterance[:-self._silent_run], capped=False, silence_seconds=silence))
        elif len(self._utterance) >= self._max_frames:
            events.append(self._finish(self._utterance, capped=True))
            # Still talking: the next turn opens as soon as the start run is heard again.
            self._utterance, self._voiced_frames, self._confirmed = [], 0, False
            self._recent.clear()
        return events

    def end_paused_turn(self, spoken_bytes: int) -> TurnEnded | None:
        """Ends the turn now, before the end-of-turn silence has run out, if the caller is still silent after
        exactly `spoken_bytes` of the utterance (the audio of a TurnPaused); None when they have spoken since."""
        spoken_frames = len(self._utterance) - self._silent_run
        if not self._utterance or not self._silent_run or spoken_frames * self._frame_bytes != spoken_bytes:
            return None
        silence = self._silent_run * FRAME_MS / 1000
        return self._finish(self._utterance[:spoken_frames], capped=False, silence_seconds=silence)

    def _confirm_if_long_enough(self) -> list[VadEvent]:
        if self._confirmed or self._voiced_frames < self._confirm_frames:
            return []
        self._confirmed = True
        return [SpeechConfirmed()]

    def _finish(self, frames: list[bytes], capped: bool, silence_seconds: float = 0.0) -> TurnEnded:
        turn = TurnEnded(b"".join(frames), self.sample_rate, capped, silence_seconds)
        self._utterance, self._voiced_frames, self._silent_run, self._confirmed = [], 0, 0, False
        return turn

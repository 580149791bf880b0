"""A call's recording: both sides on one timeline, left channel the borrower, right channel the bot, encoded as
Ogg/Opus while the call lasts (memory stays bounded on long calls: only the last seconds are held unencoded).

The timeline is the wall clock since the line opened. The borrower's frames follow one another: carriers send them
continuously and in real time, and frames that queued while the call was busy (its conversation opening, a slow event
loop) arrive late in a burst but belong where they were sent; only a long gap (a browser that stopped sending) is
silence on the timeline. A carrier that timestamps its frames (Twilio's media.timestamp) says where each belongs:
then frames it never sent (a line that fell behind) are silence, not a shift of everything after them. The bot's frames are placed where the line
plays them: the carrier plays what it is sent in order and at real time, so a frame starts when the one before it
has played, or now if the line was idle. A barge-in clears the line: the bot's audio not yet played is dropped from
the recording as it is from the line, so the recording holds what the borrower could hear.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import BinaryIO, Callable

import av
import numpy as np

CODEC = "opus"
CONTAINER = "ogg"
MEDIA_TYPE = "audio/ogg"
BIT_RATE = 32_000              # stereo speech at 8-16 kHz: clear, about 240 kB per minute
JITTER_SECONDS = 1.0           # the bot's frames are placed at now; the part of the timeline this far back is final
GAP_SECONDS = 10.0             # borrower frames later than this are after a gap in them, not a backlog
FLUSH_SECONDS = 1.0            # encode once this much of the timeline can no longer change
BORROWER, BOT = 0, 1           # channels: left, right


@dataclass(frozen=True)
class RecordedAudio:
    seconds: float  # length of the timeline written


class CallRecorder:
    """Fed by the call: `heard` for each inbound frame, `said` for each outbound frame as it is sent, `cleared`
    when the line's queued audio is dropped; `finish` once, when the call is over. Not thread-safe: one event loop."""

    def __init__(self, sink: BinaryIO, sample_rate: int, clock: Callable[[], float] = time.monotonic,
                 started: float | None = None) -> None:
        """`started`: the clock's time the line opened, if before now (frames that queued meanwhile are its start)."""
        self._rate = sample_rate
        self._clock = clock
        self._started = clock() if started is None else started
        self._container = av.open(sink, mode="w", format=CONTAINER)
        self._stream = self._container.add_stream("libopus", rate=sample_rate, layout="stereo")
        self._stream.bit_rate = BIT_RATE
        self._pending = np.zeros((0, 2), dtype="<i2")  # the timeline from self._flushed on, not yet encoded
        self._flushed = 0      # samples of the timeline already encoded
        self._borrower_end = 0  # where the borrower's next frame goes
        self._bot_end = 0       # where the bot's next frame goes (ahead of now while the line plays queued audio)
        self._stream_origin: int | None = None  # the timeline's position of the carrier's stream time zero
        self._finished = False

    def heard(self, pcm16: bytes, stream_ms: int | None = None) -> None:
        """`stream_ms`: the carrier's timestamp of this audio, in ms from its stream's start, if it gives one."""
        samples = _samples(pcm16)
        now = self._now()
        start = self._borrower_end
        if start < now - round(GAP_SECONDS * self._rate):  # the line sent nothing for long: this frame is now
            start = now - len(samples)
        if stream_ms is not None:
            at = stream_ms * self._rate // 1000
            if self._stream_origin is not None:
                placed = self._stream_origin + at
                # Believed only moving forward, never past now: a carrier whose timestamps stand still or run
                # ahead is recorded frame after frame.
                if start <= placed <= now + round(JITTER_SECONDS * self._rate):
                    start = placed
            self._stream_origin = start - at
        self._borrower_end = self._write(BORROWER, start, samples)
        self._flush_stable(now)

    def said(self, pcm16: bytes) -> None:
        samples = _samples(pcm16)
        now = self._now()
        self._bot_end = self._write(BOT, max(self._bot_end, now), samples)
        self._flush_stable(now)

    def cleared(self) -> None:
        """The line dropped the bot's audio it had not played yet."""
        now = max(self._now(), self._flushed)
        if self._bot_end > now:
            self._pending[now - self._flushed:, BOT] = 0
            self._bot_end = now

    def finish(self) -> RecordedAudio:
        """Encodes the rest and closes the container (not the sink). Idempotent."""
        if not self._finished:
            self._finished = True
            end = max(self._borrower_end, self._bot_end, self._flushed)
            self._encode(end)
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            self._container.close()
        return RecordedAudio(self._flushed / self._rate)

    # ---- internals ---------------------------------------------------------------------------------

    def _now(self) -> int:
        return round((self._clock() - self._started) * self._rate)

    def _write(self, channel: int, start: int, samples: np.ndarray) -> int:
        if self._finished:
            return start
        start = max(start, self._flushed)  # never before what is encoded already (a frame very late)
        end = start + len(samples)
        needed = end - self._flushed
        if needed > len(self._pending):
            grown = np.zeros((needed, 2), dtype="<i2")
            grown[:len(self._pending)] = self._pending
            self._pending = grown
        self._pending[start - self._flushed:end - self._flushed, channel] = samples
        return end

    def _flush_stable(self, now: int) -> None:
        """Encodes the part of the timeline nothing can be written into any more: the bot's frames never start
        before now, the borrower's never before their predecessor's end or, after a gap, before now less the gap."""
        stable = min(now - round(JITTER_SECONDS * self._rate),
                     max(self._borrower_end, now - round(GAP_SECONDS * self._rate)))
        if stable - self._flushed >= FLUSH_SECONDS * self._rate:
            self._encode(stable)

    def _encode(self, until: int) -> None:
        count = until - self._flushed
        if count <= 0:
            return
        if count > len(self._pending):  # silence on both sides up to `until`
            self._pending = np.concatenate([self._pending, np.zeros((count - len(self._pending), 2), dtype="<i2")])
        chunk, self._pending = self._pending[:count], self._pending[count:]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = self._rate
        frame.pts = self._flushed
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._flushed = until


def _samples(pcm16: bytes) -> np.ndarray:
    return np.frombuffer(pcm16[: len(pcm16) - len(pcm16) % 2], dtype="<i2")

"""The carrier's side of a Twilio Media Stream, for tests: a real WebSocket speaking Twilio's JSON.

A background "line" sends 20 ms μ-law frames in real time, as a carrier does: the borrower's audio
when they speak, silence otherwise. The bot's audio is collected and "played" at real time; each mark
goes back once the audio sent before it has played (unless the test holds marks back).
"""
from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import redis
import websockets

from voice.codecs import pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "zh"
FRAME_SECONDS = 0.02
ULAW_FRAME_BYTES = 160          # 20 ms at 8 kHz
ULAW_SILENCE = b"\xff" * ULAW_FRAME_BYTES
AUDIBLE_RMS = 300               # the bot's replies are speech, not silence
QUIET_AMPLITUDE = 500           # below this a fixture sample is the recording's silence


def fixture_ulaw(name: str) -> bytes:
    """A 16 kHz fixture WAV as the carrier would send it: 8 kHz μ-law, ending where the voice ends (the
    line's own silence follows), so 'end of speech' in latency measurements is the real one."""
    with wave.open(str(FIXTURES / name)) as wav:
        pcm = resample_pcm16(wav.readframes(wav.getnframes()), wav.getframerate(), 8000)
    loud = np.flatnonzero(np.abs(np.frombuffer(pcm, "<i2")) > QUIET_AMPLITUDE)
    return pcm16_to_ulaw(pcm[: (loud[-1] + 1) * 2])


def rms(pcm16: bytes) -> float:
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0


@dataclass
class Received:
    media_frames: int = 0
    bot_pcm: list[bytes] = field(default_factory=list)  # 8 kHz PCM16 of each bot audio frame, in order
    marks: list[str] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    clears: int = 0
    last_media_at: float = 0.0
    first_media_after: dict[float, float] = field(default_factory=dict)


class FakeCarrier:
    def __init__(self, gateway_url: str, borrower_id: str | None, hold_marks: bool = False) -> None:
        self.url = gateway_url.replace("http://", "ws://") + "/voice/twilio"
        self.borrower_id = borrower_id
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.call_sid = "CA" + uuid.uuid4().hex
        self.hold_marks = hold_marks
        self.received = Received()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._play_until = 0.0
        self._tasks: list[asyncio.Task] = []
        self._speech_ended_at: float | None = None
        self.latencies: list[float] = []  # end of borrower speech → first bot audio after it

    async def __aenter__(self) -> "FakeCarrier":
        self.socket = await websockets.connect(self.url, open_timeout=30, max_size=2**20)
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        parameters = {"borrower_id": self.borrower_id} if self.borrower_id else {}
        await self.send_json({
            "event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid,
            "start": {"accountSid": "AC" + "0" * 32, "streamSid": self.stream_sid, "callSid": self.call_sid,
                      "tracks": ["inbound"], "customParameters": parameters,
                      "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
        })
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._line())]
        return self

    async def __aexit__(self, *_) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.socket.close()

    async def send_json(self, message: dict) -> None:
        await self.socket.send(json.dumps(message))

    async def send_raw(self, raw: str | bytes) -> None:
        await self.socket.send(raw)

    def media_message(self, ulaw: bytes, stream_sid: str | None = None) -> str:
        return json.dumps({"event": "media", "streamSid": stream_sid or self.stream_sid,
                           "media": {"track": "inbound", "chunk": "1", "timestamp": "0",
                                     "payload": base64.b64encode(ulaw).decode()}})

    # ---- the line -----------------------------------------------------------------------------------

    async def _line(self) -> None:
        """Real-time 20 ms frames: queued borrower audio first, silence when there is none."""
        next_at = time.monotonic()
        while not self.closed.is_set():
            frame = self._outgoing.get_nowait() if not self._outgoing.empty() else ULAW_SILENCE
            try:
                await self.socket.send(self.media_message(frame))
            except websockets.ConnectionClosed:
                return
            if frame is not ULAW_SILENCE and self._outgoing.empty():
                self._speech_ended_at = time.monotonic()
            next_at = max(next_at + FRAME_SECONDS, time.monotonic() - FRAME_SECONDS)  # never burst to catch up
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def say(self, ulaw: bytes) -> None:
        """Speaks in real time and returns when the last frame has gone out."""
        for offset in range(0, len(ulaw), ULAW_FRAME_BYTES):
            self._outgoing.put_nowait(ulaw[offset:offset + ULAW_FRAME_BYTES].ljust(ULAW_FRAME_BYTES, b"\xff"))
        while not self._outgoing.empty():
            await asyncio.sleep(FRAME_SECONDS)

    async def say_fixture(self, name: str) -> None:
        await self.say(fixture_ulaw(name))

    # ---- what comes back ----------------------------------------------------------------------------

    async def _receive(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                assert message.get("streamSid") == self.stream_sid, message
                event = message["event"]
                now = time.monotonic()
                if event == "media":
                    pcm = ulaw_to_pcm16(base64.b64decode(message["media"]["payload"]))
                    if self._speech_ended_at is not None:
                        self.latencies.append(now - self._speech_ended_at)
                        self._speech_ended_at = None
                    self.received.media_frames += 1
                    self.received.bot_pcm.append(pcm)
                    self.received.last_media_at = now
                    self._play_until = max(self._play_until, now) + len(pcm) / 2 / 8000
                elif event == "mark":
                    name = message["mark"]["name"]
                    self.received.marks.append(name)
                    if not self.hold_marks:
                        asyncio.get_running_loop().call_later(
                            max(0.0, self._play_until - now), lambda n=name: asyncio.ensure_future(self._ack(n)))
                elif event == "clear":
                    self.received.clears += 1
                    self._play_until = now
        except websockets.ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            self.close_reason = closed.rcvd.reason if closed.rcvd else ""
        finally:
            if self.close_code is None and self.socket.close_code is not None:
                self.close_code, self.close_reason = self.socket.close_code, self.socket.close_reason or ""
            self.closed.set()

    async def _ack(self, name: str) -> None:
        if self.closed.is_set():
            return
        self.received.acked.append(name)
        await self.send_json({"event": "mark", "sequenceNumber": "0", "streamSid": self.stream_sid,
                              "mark": {"name": name}})

    async def release_marks(self) -> None:
        for name in self.received.marks:
            if name not in self.received.acked:
                await self._ack(name)

    async def bot_reply(self, timeout: float = 90.0, quiet: float = 1.5) -> bytes:
        """Waits for the bot's next reply to be sent and played; returns its audio (8 kHz PCM16)."""
        start_frames, start_marks = len(self.received.bot_pcm), len(self.received.marks)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed.is_set():
            await asyncio.sleep(0.1)
            done = (len(self.received.marks) > start_marks
                    and set(self.received.marks) <= set(self.received.acked)
                    and time.monotonic() - self.received.last_media_at > quiet)
            if done:
                break
        else:
            if not self.closed.is_set():
                raise TimeoutError("the bot did not answer")
        return b"".join(self.received.bot_pcm[start_frames:])

    async def wait_closed(self, timeout: float) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout)


def phone_conversation(redis_url: str, borrower_id: str) -> str:
    """The latest phone conversation the gateway opened for this borrower (its id is not on the wire)."""
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    found = []
    for key in store.scan_iter("collections:gateway:*:meta"):
        meta = {k: json.loads(v) for k, v in store.hgetall(key).items()}
        if meta.get("borrower_id") == borrower_id and meta.get("channel") == "phone":
            found.append((meta["started_at"], meta["conversation_id"]))
    assert found, "no phone conversation was opened"
    return max(found)[1]


def transcript(stack, conversation_id: str) -> list[dict]:
    response = httpx.get(f"{stack.gateway_url}/api/conversations/{conversation_id}", timeout=30)
    response.raise_for_status()
    return response.json()["transcript"]

"""The carrier's side of a Twilio call, for tests: the voice webhook, then a real WebSocket speaking Twilio's
JSON, each signed with the test carrier's auth token (X-Twilio-Signature) as Twilio signs them.

The call rings the webhook from the caller's number; the TwiML answer says where to stream and with which
call token, and the stream's start message carries it back, as Twilio's <Parameter> does.
A background "line" sends 20 ms μ-law frames in real time, as a carrier does: the borrower's audio
when they speak, silence otherwise. The bot's audio is collected and "played" at real time; each mark
goes back once the audio sent before it has played (unless the test holds marks back). The bot speaks a reply
sentence by sentence, a mark after each; the last sentence's mark ends the reply (voice.playback.ends_reply).
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
from xml.etree import ElementTree

import httpx
import numpy as np
import redis
import websockets
from twilio.request_validator import RequestValidator

from tests.e2e.chat import CARRIER_AUTH_TOKEN
from voice.codecs import pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16
from voice.playback import ends_reply

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
    frames_before_mark: list[int] = field(default_factory=list)  # len(bot_pcm) when each mark arrived

    def replies_marked(self, since: int = 0) -> int:
        """Replies whose last mark has arrived (among the marks from index `since`)."""
        return sum(ends_reply(mark) for mark in self.marks[since:])
    acked: list[str] = field(default_factory=list)
    clears: int = 0
    last_media_at: float = 0.0
    first_media_after: dict[float, float] = field(default_factory=dict)


def carrier_signature(url: str, form: dict[str, str] | None = None) -> str:
    return RequestValidator(CARRIER_AUTH_TOKEN).compute_signature(url, form or {})


def ring(gateway_url: str, caller_number: str, call_sid: str, direction: str = "inbound") -> ElementTree.Element:
    """The carrier asks the voice webhook what to do with a call from (or, dialled by us, to) this number."""
    url = gateway_url + "/voice/twilio/incoming"
    ours = "+864000000000"
    caller, called = (ours, caller_number) if direction.startswith("outbound") else (caller_number, ours)
    form = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": caller, "To": called,
            "Direction": direction, "CallStatus": "ringing"}
    answer = httpx.post(url, data=form, headers={"X-Twilio-Signature": carrier_signature(url, form)}, timeout=60)
    answer.raise_for_status()
    assert answer.headers["content-type"].startswith("application/xml"), answer.headers
    return ElementTree.fromstring(answer.text)


class FakeCarrier:
    """`borrower_id` is for the test's own lookups (the conversation in Redis); the gateway learns who is
    called only from `caller_number`, the number on file."""

    def __init__(self, gateway_url: str, borrower_id: str, caller_number: str, hold_marks: bool = False,
                 redis_url: str | None = None, answer: ElementTree.Element | None = None,
                 call_sid: str | None = None) -> None:
        """`answer`: the TwiML of a call the gateway already answered (a call our dialer placed: the fake Twilio
        asked /voice/twilio/outbound), instead of ringing the inbound webhook."""
        self.gateway_url = gateway_url
        self.caller_number = caller_number
        self.borrower_id = borrower_id
        # With the gateway's Redis, a bot reply is known complete from the transcript (see bot_reply);
        # without it (the benchmarks), from a quiet gap after the last mark.
        self.redis_url = redis_url
        self.conversation_id: str | None = None
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.answer = answer
        self.hold_marks = hold_marks
        self.received = Received()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.failure: BaseException | None = None  # what stopped the receiver, other than the call closing
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._play_until = 0.0
        self._tasks: list[asyncio.Task] = []
        self._speech_ended_at: float | None = None
        self.latencies: list[float] = []  # end of borrower speech → first bot audio after it

    async def __aenter__(self) -> "FakeCarrier":
        twiml = self.answer if self.answer is not None else await asyncio.to_thread(
            ring, self.gateway_url, self.caller_number, self.call_sid)
        stream = twiml.find("./Connect/Stream")
        assert stream is not None, ElementTree.tostring(twiml, encoding="unicode")
        parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        # No keepalive pings (Twilio's Media Streams documents none from its side): behind a flood of media frames
        # (the monologue test) the gateway reads a ping only after them, and a 20 s pong deadline failed that test
        # on a loaded machine.
        self.socket = await websockets.connect(
            stream.get("url"), open_timeout=30, max_size=2**20, ping_interval=None,
            additional_headers={"X-Twilio-Signature": carrier_signature(stream.get("url"))})
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
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

    async def stop(self) -> None:
        """Twilio ends the stream (the caller hung up, or the call was given new TwiML): "stop", then it closes."""
        if self.closed.is_set():
            return
        try:
            await self.send_json({"event": "stop", "sequenceNumber": "0", "streamSid": self.stream_sid,
                                  "stop": {"accountSid": "AC" + "0" * 32, "callSid": self.call_sid}})
        except websockets.ConnectionClosed:
            pass

    async def send_raw(self, raw: str | bytes) -> None:
        await self.socket.send(raw)

    def media_message(self, ulaw: bytes, stream_sid: str | None = None, timestamp_ms: int = 0) -> str:
        return json.dumps({"event": "media", "streamSid": stream_sid or self.stream_sid,
                           "media": {"track": "inbound", "chunk": "1", "timestamp": str(timestamp_ms),
                                     "payload": base64.b64encode(ulaw).decode()}})

    # ---- the line -----------------------------------------------------------------------------------

    async def _line(self) -> None:
        """Real-time 20 ms frames: queued borrower audio first, silence when there is none."""
        started = next_at = time.monotonic()
        while not self.closed.is_set():
            frame = self._outgoing.get_nowait() if not self._outgoing.empty() else ULAW_SILENCE
            try:  # timestamped as Twilio does, from the stream's start (a line that fell behind skips time)
                await self.socket.send(self.media_message(frame, timestamp_ms=round((next_at - started) * 1000)))
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
                    self.received.frames_before_mark.append(len(self.received.bot_pcm))
                    if not self.hold_marks:
                        asyncio.get_running_loop().call_later(
                            max(0.0, self._play_until - now), lambda n=name: asyncio.ensure_future(self._ack(n)))
                elif event == "clear":
                    self.received.clears += 1
                    self._play_until = now
        except websockets.ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            self.close_reason = closed.rcvd.reason if closed.rcvd else ""
        except Exception as error:  # e.g. a message that is not the protocol: the test must hear of it
            self.failure = error
            raise
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

    async def bot_reply(self, timeout: float = 90.0, quiet: float = 1.5, before: int | None = None) -> bytes:
        """Waits for the bot's next reply to be sent and played; returns its audio (8 kHz PCM16).

        Every utterance the bot speaks (an agent's words too) is in the conversation's transcript before its
        audio starts (the egress records it, then TTS speaks it) and ends with a mark that ends a reply. So the
        reply is complete when the reply-ending marks received since this call match the bot utterances the
        transcript gained, and
        the carrier has played them all: a positive marker, whatever the TTS's pauses between
        utterances on a loaded machine. Without a Redis URL, a quiet gap stands in for it.
        `before`: the transcript's length before the turn was sent, for a reply that may already be in it
        (a fault reply comes at once)."""
        start_frames, start_marks = len(self.received.bot_pcm), len(self.received.marks)
        # The first reply is the opening: the conversation may not exist yet, and all of it is new.
        if before is None:
            before = len(await self.transcript()) if self.conversation_id else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed.is_set():
            await asyncio.sleep(0.1)
            new_marks = self.received.replies_marked(start_marks)
            if not new_marks or not set(self.received.marks) <= set(self.received.acked):
                continue
            if self.redis_url is None:
                if time.monotonic() - self.received.last_media_at > quiet:
                    break
                continue
            spoken = [entry for entry in (await self.transcript())[before:]
                      if entry["speaker"] in ("bot", "agent") and not entry.get("interrupted")]
            if new_marks >= len(spoken) > 0:
                break
        else:
            if not self.closed.is_set():
                raise TimeoutError("the bot did not answer")
        if self.failure is not None:
            raise AssertionError("the carrier stopped receiving") from self.failure
        return b"".join(self.received.bot_pcm[start_frames:])

    async def transcript(self) -> list[dict]:
        """This call's transcript as the gateway stored it (found in Redis once the bot has started speaking)."""
        if self.conversation_id is None:
            self.conversation_id = phone_conversation(self.redis_url, self.borrower_id)
        return stored_transcript(self.redis_url, self.conversation_id)

    async def heard(self, words: str, timeout: float = 90.0) -> bytes:
        """Waits until an utterance containing `words` is in the transcript and everything said so far has been
        played (a reply-ending mark per utterance, all acknowledged); returns that utterance's audio. For words that come
        outside a turn (pushed: a callback offer, an agent's message), whenever they come."""
        deadline = time.monotonic() + timeout
        while True:
            # Looked at once more after the stream closed: words played just before a close (a transfer's sentence,
            # then the carrier's update ends the stream) were heard.
            closed = self.closed.is_set()
            spoken = [entry["text"] for entry in await self.transcript()
                      if entry["speaker"] in ("bot", "agent") and not entry.get("interrupted")]
            found = [index for index, text in enumerate(spoken) if words in text]
            if (found and self.received.replies_marked() >= len(spoken)
                    and set(self.received.marks) <= set(self.received.acked)):
                return self.utterance_audio(found[-1])
            if closed or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{words!r} was not heard on the call (closed: {self.closed.is_set()}; "
                           f"{self.received.replies_marked()} replies marked; said: {spoken[-4:]})")

    def utterance_audio(self, index: int) -> bytes:
        """The bot audio of its `index`-th spoken utterance in this call (all its sentences: up to the mark that
        ends it)."""
        bounds = [0, *(frames for mark, frames in zip(self.received.marks, self.received.frames_before_mark)
                       if ends_reply(mark))]
        return b"".join(self.received.bot_pcm[bounds[index]:bounds[index + 1]])

    async def wait_closed(self, timeout: float) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout)


def phone_conversation(redis_url: str, borrower_id: str, channel: str = "phone") -> str:
    """The latest phone conversation the gateway opened for this borrower (its id is not on the wire)."""
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    found = []
    for key in store.scan_iter("collections:gateway:*:meta"):
        meta = {k: json.loads(v) for k, v in store.hgetall(key).items()}
        if meta.get("borrower_id") == borrower_id and meta.get("channel") == channel:
            found.append((meta["started_at"], meta["conversation_id"]))
    assert found, "no phone conversation was opened"
    return max(found)[1]


def stored_transcript(redis_url: str, conversation_id: str) -> list[dict]:
    """A call's transcript, read where the gateway's session store keeps it: a phone call has no borrower
    secret for the REST API, and the console view (roles, account, tracker summary) is too heavy to poll."""
    with redis.Redis.from_url(redis_url, decode_responses=True) as store:
        assert store.exists(f"collections:gateway:{conversation_id}:meta"), "no such conversation"
        return [json.loads(entry) for entry in store.lrange(f"collections:gateway:{conversation_id}:transcript", 0, -1)]


def transcript(stack, conversation_id: str) -> list[dict]:
    return stored_transcript(stack.config.redis_url, conversation_id)

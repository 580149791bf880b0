"""Twilio Media Streams (bidirectional <Connect><Stream>): JSON text messages, 8 kHz μ-law, base64.

Inbound events: connected, start, media, mark, dtmf, stop. Outbound: media, mark, clear.
The same protocol is spoken by Twilio-compatible bridges for FreeSWITCH and Asterisk.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from voice.codecs import pcm16_to_ulaw, ulaw_to_pcm16
from voice.frames import (
    CallStarted, CallStopped, ClearPlayback, Dtmf, InboundFrame, InputAudio, OutboundFrame, OutputAudio, OutputMark,
    PlaybackMark,
)
from voice.serializers.base import FrameSerializer, ProtocolError

DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_MEDIA_PAYLOAD_BYTES = 8000  # one second of μ-law; Twilio sends 20 ms (160 bytes) per message


class TwilioSerializer(FrameSerializer):
    sample_rate = 8000
    max_message_bytes = 16_384

    def __init__(self) -> None:
        self.stream_sid: str | None = None

    def deserialize(self, raw: str | bytes) -> InboundFrame | None:
        if isinstance(raw, bytes):
            raise ProtocolError("binary_message", "Twilio media streams send JSON text messages")
        if len(raw) > self.max_message_bytes:
            raise ProtocolError("message_too_large", f"message over {self.max_message_bytes} bytes")
        try:
            message = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ProtocolError("malformed_json", f"not JSON: {error.msg}") from None
        if not isinstance(message, dict):
            raise ProtocolError("malformed_message", "a message is a JSON object")
        event = message.get("event")
        if event == "connected":
            return None
        if event == "start":
            return self._start(message)
        if self.stream_sid is None:
            raise ProtocolError("not_started", f"'{event}' before 'start'")
        if message.get("streamSid") != self.stream_sid:
            raise ProtocolError("unknown_stream", "streamSid does not match this call's stream")
        if event == "media":
            return self._media(message)
        if event == "mark":
            name = _field(message, "mark", "name")
            return PlaybackMark(name)
        if event == "dtmf":
            digit = _field(message, "dtmf", "digit")
            if digit not in DTMF_DIGITS:
                raise ProtocolError("bad_dtmf", "dtmf.digit is not a DTMF key")
            return Dtmf(digit)
        if event == "stop":
            return CallStopped()
        raise ProtocolError("unsupported_event", f"unknown event {str(event)[:32]!r}")

    def _start(self, message: dict[str, Any]) -> CallStarted:
        if self.stream_sid is not None:
            raise ProtocolError("already_started", "a second 'start' on one stream")
        start = message.get("start")
        if not isinstance(start, dict):
            raise ProtocolError("malformed_message", "'start' needs a start object")
        stream_sid = start.get("streamSid") or message.get("streamSid")
        call_sid = start.get("callSid")
        if not isinstance(stream_sid, str) or not stream_sid or not isinstance(call_sid, str):
            raise ProtocolError("malformed_message", "'start' needs streamSid and callSid")
        media_format = start.get("mediaFormat") or {}
        if media_format and (media_format.get("encoding") != "audio/x-mulaw" or int(media_format.get("sampleRate", 0)) != 8000):
            raise ProtocolError("unsupported_media_format", "only audio/x-mulaw at 8000 Hz")
        parameters = start.get("customParameters") or {}
        if not isinstance(parameters, dict):
            raise ProtocolError("malformed_message", "customParameters is an object")
        parameters = {str(k): str(v) for k, v in parameters.items()}
        self.stream_sid = stream_sid
        return CallStarted(call_sid, stream_sid, parameters)

    def _media(self, message: dict[str, Any]) -> InputAudio | None:
        media = message.get("media")
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise ProtocolError("malformed_message", "'media' needs media.payload")
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            return None  # our own audio echoed back on an outbound track
        try:
            payload = base64.b64decode(media["payload"], validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("bad_payload", "media.payload is not base64") from None
        if len(payload) > MAX_MEDIA_PAYLOAD_BYTES:
            raise ProtocolError("payload_too_large", f"media over {MAX_MEDIA_PAYLOAD_BYTES} bytes")
        timestamp = media.get("timestamp")  # ms from the stream's start; only the recording places audio by it
        stream_ms = int(timestamp) if isinstance(timestamp, str) and timestamp.isdigit() and len(timestamp) < 13 \
            else None
        return InputAudio(ulaw_to_pcm16(payload), stream_ms)

    def serialize(self, frame: OutboundFrame) -> str | None:
        if self.stream_sid is None:
            return None
        if isinstance(frame, OutputAudio):
            payload = base64.b64encode(pcm16_to_ulaw(frame.pcm16)).decode("ascii")
            return json.dumps({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})
        if isinstance(frame, OutputMark):
            return json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": frame.name}})
        if isinstance(frame, ClearPlayback):
            return json.dumps({"event": "clear", "streamSid": self.stream_sid})
        return None  # texts, notices and endings have no Twilio message; the call ends by closing the socket


def _field(message: dict[str, Any], section: str, key: str) -> str:
    body = message.get(section)
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value or len(value) > 256:
        raise ProtocolError("malformed_message", f"'{section}' needs {section}.{key}")
    return value

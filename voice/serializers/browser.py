"""The browser demo's WebSocket: binary messages are 16 kHz PCM16 mono (both ways); small JSON text
messages carry control and text (transcript, bot text, mark, clear, end, error)."""
from __future__ import annotations

import json

from voice.frames import (
    BorrowerText, BotText, CallEnding, CallStopped, ClearPlayback, Dtmf, InboundFrame, InputAudio, OutboundFrame,
    OutputAudio, OutputMark, PlaybackMark, ProtocolNotice,
)
from voice.serializers.base import FrameSerializer, ProtocolError
from voice.serializers.twilio import DTMF_DIGITS

MAX_CONTROL_BYTES = 1024


class BrowserSerializer(FrameSerializer):
    sample_rate = 16000
    max_message_bytes = 64_000  # two seconds of audio; an AudioWorklet sends ~20–100 ms at a time

    def deserialize(self, raw: str | bytes) -> InboundFrame | None:
        if isinstance(raw, bytes):
            if len(raw) > self.max_message_bytes:
                raise ProtocolError("message_too_large", f"audio message over {self.max_message_bytes} bytes")
            if len(raw) % 2:
                raise ProtocolError("bad_audio", "PCM16 audio has an even number of bytes")
            return InputAudio(raw)
        if len(raw) > MAX_CONTROL_BYTES:
            raise ProtocolError("message_too_large", f"control message over {MAX_CONTROL_BYTES} bytes")
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            raise ProtocolError("malformed_json", "control messages are JSON objects") from None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "mark" and isinstance(message.get("name"), str):
            return PlaybackMark(message["name"])
        if kind == "dtmf" and message.get("digit") in DTMF_DIGITS:
            return Dtmf(message["digit"])
        if kind == "stop":
            return CallStopped()
        raise ProtocolError("unsupported_message", "send binary PCM16, or {type: mark|dtmf|stop}")

    def serialize(self, frame: OutboundFrame) -> str | bytes | None:
        if isinstance(frame, OutputAudio):
            return frame.pcm16
        if isinstance(frame, OutputMark):
            return _json({"type": "mark", "name": frame.name})
        if isinstance(frame, ClearPlayback):
            return _json({"type": "clear"})
        if isinstance(frame, BorrowerText):
            return _json({"type": "transcript", "text": frame.text})
        if isinstance(frame, BotText):
            return _json({"type": "bot", "text": frame.text})
        if isinstance(frame, CallEnding):
            return _json({"type": "end", "reason": frame.reason})
        if isinstance(frame, ProtocolNotice):
            return _json({"type": "error", "error": frame.code, "detail": frame.detail})
        return None


def _json(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)

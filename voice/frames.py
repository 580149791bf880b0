"""Typed frames between a carrier's wire protocol and the call pipeline (which never sees JSON or base64)."""
from __future__ import annotations

from dataclasses import dataclass, field


# Inbound: what the carrier or browser tells us.
@dataclass(frozen=True)
class CallStarted:
    call_id: str
    stream_id: str
    parameters: dict[str, str] = field(default_factory=dict)  # the carrier's custom parameters, as sent


@dataclass(frozen=True)
class InputAudio:
    pcm16: bytes  # mono, at the serializer's sample_rate
    stream_ms: int | None = None  # where the carrier says this audio starts, in ms from the stream's start (if it says)


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class PlaybackMark:
    """The carrier has played everything sent before the mark of this name."""
    name: str


@dataclass(frozen=True)
class CallStopped:
    pass


# Outbound: what the pipeline tells the carrier or browser.
@dataclass(frozen=True)
class OutputAudio:
    pcm16: bytes  # mono, at the serializer's sample_rate


@dataclass(frozen=True)
class OutputMark:
    name: str


@dataclass(frozen=True)
class ClearPlayback:
    """Drop any audio queued but not yet played (barge-in)."""


@dataclass(frozen=True)
class BorrowerText:
    text: str


@dataclass(frozen=True)
class BotText:
    text: str


@dataclass(frozen=True)
class CallEnding:
    reason: str


@dataclass(frozen=True)
class ProtocolNotice:
    """A message from the client was refused; protocols that can say so tell the client."""
    code: str
    detail: str


InboundFrame = CallStarted | InputAudio | Dtmf | PlaybackMark | CallStopped
OutboundFrame = OutputAudio | OutputMark | ClearPlayback | BorrowerText | BotText | CallEnding | ProtocolNotice

"""The one seam between a wire protocol and the call pipeline."""
from __future__ import annotations

from abc import ABC, abstractmethod

from voice.frames import InboundFrame, OutboundFrame


class ProtocolError(ValueError):
    """A message the protocol does not allow; the code goes back to the client or into the log."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class FrameSerializer(ABC):
    sample_rate: int           # the audio rate on the wire, in both directions
    max_message_bytes: int     # larger messages are refused before parsing

    @abstractmethod
    def deserialize(self, raw: str | bytes) -> InboundFrame | None:
        """None for messages that carry nothing for the pipeline (e.g. Twilio's `connected`)."""

    @abstractmethod
    def serialize(self, frame: OutboundFrame) -> str | bytes | None:
        """None for frames this protocol has no way to carry."""

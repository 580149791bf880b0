"""Runs one call over one connection: receive → deserialize → the call pipeline; frames → serialize → send.

Protocol errors are answered (where the protocol can carry an answer) and counted; before the call has
started they close the connection, since there is no call to protect.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from typing import Callable, Mapping, Protocol

from monitoring import metrics
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.frames import CallStarted, CallStopped, Dtmf, InputAudio, OutboundFrame, PlaybackMark, ProtocolNotice
from voice.serializers.base import FrameSerializer, ProtocolError

logger = logging.getLogger("voice.transport")

MAX_PROTOCOL_ERRORS = 50        # per call; a peer that keeps sending garbage is cut off
BORROWER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLOSE_NORMAL, CLOSE_POLICY, CLOSE_ERROR, CLOSE_TRY_AGAIN_LATER = 1000, 1008, 1011, 1013


class Connection(Protocol):
    async def receive(self) -> str | bytes | None:
        """The next message, or None once the peer has gone."""

    async def send(self, message: str | bytes) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...


# Who a carrier's call is for, from its start message's parameters (a signed token); None: nobody we may name.
Identify = Callable[[Mapping[str, str]], "CallParty | None"]


class CallTransport:
    def __init__(self, connection: Connection, serializer: FrameSerializer, services: VoiceServices, channel: str,
                 identify: Identify | None = None) -> None:
        self._connection = connection
        self._identify = identify
        self._serializer = serializer
        self._services = services
        self._channel = channel
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._errors = 0
        self.call: VoiceCall | None = None

    async def send(self, frame: OutboundFrame) -> None:
        message = self._serializer.serialize(frame)
        if message is None or self._closed:
            return
        async with self._send_lock:  # frames from the speaker, the reader and the watchdog never interleave
            await self._connection.send(message)

    async def hang_up(self, reason: str, code: int = CLOSE_NORMAL) -> None:
        if not self._closed:
            self._closed = True
            await self._connection.close(code, reason)

    async def run(self, party: CallParty | None = None) -> None:
        """party: known from the URL (a browser's borrower link, a demo phone's ring); otherwise `identify` finds it
        in the carrier's start message."""
        try:
            if party is not None and not await self._start(party):
                return
            while not self._closed:
                raw = await self._connection.receive()
                if raw is None:
                    return
                try:
                    frame = self._serializer.deserialize(raw)
                except ProtocolError as error:
                    await self._refuse(error)
                    continue
                if frame is None:
                    continue
                if isinstance(frame, CallStopped):
                    return
                if isinstance(frame, CallStarted):
                    await self._start(self._carrier_party(frame))
                elif self.call is not None:
                    await self._dispatch(frame)
                await asyncio.sleep(0)  # a peer sending faster than real time must not starve other calls
        except Exception as error:  # noqa: BLE001 — this call fails alone; the peer learns it was our fault
            logger.error("%s call failed: %s", self._channel, type(error).__name__, exc_info=error)
            metrics.count_error("call_failed")
            await self.hang_up("internal_error", CLOSE_ERROR)
        finally:
            if self.call is not None:
                await self.call.close()
            await self.hang_up("call_over")

    def _carrier_party(self, started: CallStarted) -> CallParty | None:
        """Who the carrier's call is for, and the carrier's id of the call (to transfer it to a person)."""
        party = self._identify(started.parameters) if self._identify else None
        return None if party is None else replace(party, carrier_call_id=started.call_id)

    async def _start(self, party: CallParty | None) -> bool:
        if party is None or not BORROWER_ID.match(party.borrower_id):
            return await self._refuse_start()
        admitted = True
        if party.attempt_id is not None:  # a call the dialer placed: the contact policy has the last word
            outbound = self._services.outbound
            admitted = await outbound.admit(party) if outbound is not None else None
            if admitted is None:
                return await self._refuse_start()
        self.call = VoiceCall(self._services, self.send, self.hang_up, self._serializer.sample_rate, self._channel)
        await self.call.start(party, admitted)
        return True

    async def _refuse_start(self) -> bool:
        await self.send(ProtocolNotice("invalid_call_token", "the call needs a valid call token"))
        await self.hang_up("invalid_call_token", CLOSE_POLICY)
        return False

    async def _dispatch(self, frame: InputAudio | Dtmf | PlaybackMark) -> None:
        if isinstance(frame, InputAudio):
            await self.call.on_audio(frame)
        elif isinstance(frame, PlaybackMark):
            await self.call.on_mark(frame)
        elif isinstance(frame, Dtmf):
            await self.call.on_dtmf(frame)

    async def _refuse(self, error: ProtocolError) -> None:
        self._errors += 1
        logger.warning("%s call: refused message (%s)", self._channel, error.code)
        await self.send(ProtocolNotice(error.code, str(error)))
        if self.call is None:
            await self.hang_up(error.code, CLOSE_POLICY)
        elif self._errors > MAX_PROTOCOL_ERRORS:
            await self.hang_up("too_many_protocol_errors", CLOSE_POLICY)

"""Voice endpoints: the carrier's webhook /voice/twilio/incoming and media stream /voice/twilio (Twilio Media
Streams; both signed by the carrier, the stream naming its borrower only through a call token:
bot.channels.phone_arrival), the webhook and status callback of calls our dialer placed /voice/twilio/outbound and
/voice/twilio/status (signed by the carrier, naming the attempt through a signed ticket: bot.channels.outbound_call),
the end of a transferred call's <Dial> /voice/twilio/transfer-ended (bot.channels.call_transfer), /voice/browser?borrower_link=… (16 kHz PCM16; a browser arrives with a signed
borrower link, as a chat does: bot.links) and the microphone demo page /demo/voice?link=…. ASR and TTS
engines are loaded once, at gateway start (bot.services)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from bot.channels.call_transfer import DIAL_ENDED_PATH, TICKET_PARAMETER as TRANSFER_TICKET
from bot.channels.outbound_call import MalformedCallback
from bot.channels.phone_arrival import SIGNATURE_HEADER
from campaigns.dial_tickets import TICKET_PARAMETER
from campaigns.twilio_dialer import OUTBOUND_WEBHOOK_PATH, STATUS_CALLBACK_PATH
from bot.dependencies import services_of
from bot.links import InvalidLink
from bot.rate_limits import client_address
from campaigns.dialer import ATTEMPT_ID
from voice.serializers.base import FrameSerializer
from voice.serializers.browser import BrowserSerializer
from voice.call import CallParty
from voice.frames import ProtocolNotice
from voice.serializers.twilio import TwilioSerializer
from voice.transport import CLOSE_POLICY, CLOSE_TRY_AGAIN_LATER, CallTransport

logger = logging.getLogger("bot.voice")

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_FILES = {
    "": ("demo_voice.html", "text/html"),
    "/call.js": ("demo_call.js", "text/javascript"),  # the call itself and its look, shared with /demo/phone
    "/call.css": ("demo_call.css", "text/css"),
    "/page.js": ("demo_voice.js", "text/javascript"),
    "/microphone-worklet.js": ("demo_voice_worklet.js", "text/javascript"),
}


class StarletteConnection:
    """voice.transport.Connection over a FastAPI WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def receive(self) -> str | bytes | None:
        try:
            message = await self._websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        return message.get("text") if message.get("text") is not None else message.get("bytes")

    async def send(self, message: str | bytes) -> None:
        """Audio for a carrier that has ended the stream (the caller hung up while the bot spoke) is dropped: the
        reader finds the stream gone and ends the call; that is a call over, not a call failed."""
        if self._websocket.application_state != WebSocketState.CONNECTED:
            return  # a send already found the stream gone
        try:
            if isinstance(message, bytes):
                await self._websocket.send_bytes(message)
            else:
                await self._websocket.send_text(message)
        except (WebSocketDisconnect, OSError):
            pass

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.client_state == WebSocketState.CONNECTED:
            try:
                await self._websocket.close(code, reason)
            except (WebSocketDisconnect, OSError, RuntimeError):
                pass  # the peer closed first


async def carrier_form(request: Request, signatures) -> dict[str, str] | None:
    """The form of a request the carrier signed (bot.channels.phone_arrival.CarrierSignatures); None (after
    logging) for any other. Also the SMS webhook's (bot.channels.sms_inbound)."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    if not signatures.genuine(str(request.url), form, request.headers.get(SIGNATURE_HEADER)):
        logger.warning("%s: refused a request without a valid carrier signature", request.url.path)
        return None
    return form


def voice_router(demo_pages: bool = True) -> APIRouter:
    """`demo_pages`: serve the microphone page /demo/voice too (the demo only: bot.app)."""
    router = APIRouter()

    async def serve(websocket: WebSocket, serializer: FrameSerializer, channel: str, party: CallParty | None,
                    identify=None) -> None:
        await websocket.accept()
        transport = CallTransport(StarletteConnection(websocket), serializer, services_of(websocket).voice, channel,
                                  identify)
        await transport.run(party)

    async def dialled_call(request: Request):
        """(outbound calls, the carrier's form, the call's ticket) of a request about a call our dialer placed,
        or the refusal to send: outbound calls off, not the carrier's signature, no valid ticket."""
        outbound = services_of(request).outbound
        if outbound is None:
            return PlainTextResponse("outbound calls are off (phone calls and Redis are needed)", status_code=503)
        form = await carrier_form(request, outbound.signatures)
        if form is None:
            return PlainTextResponse("not signed by the carrier", status_code=403)
        ticket = services_of(request).dial_tickets.admit(request.query_params.get(TICKET_PARAMETER))
        if ticket is None:
            return PlainTextResponse("the call's ticket is missing, forged or expired", status_code=403)
        return outbound, form, ticket

    @router.post("/voice/twilio/incoming", response_model=None)
    async def incoming_call(request: Request) -> Response:
        """The carrier's voice webhook (form-encoded): TwiML that streams the call to the borrower's conversation."""
        phone = services_of(request).phone
        form = await carrier_form(request, phone.signatures)
        if form is None:
            return PlainTextResponse("not signed by the carrier", status_code=403)
        twiml = await run_in_threadpool(phone.answer, str(request.url), form)
        return Response(twiml, media_type="application/xml")

    @router.post(OUTBOUND_WEBHOOK_PATH, response_model=None)
    async def outbound_call_answered(request: Request) -> Response:
        """The carrier's webhook for a call our dialer placed, once answered: a conversation or, on a machine, a
        limited-content message or nothing (bot.channels.outbound_call)."""
        call = await dialled_call(request)
        if isinstance(call, Response):
            return call
        outbound, form, ticket = call
        twiml = await run_in_threadpool(outbound.answer, str(request.url), form, ticket)
        return Response(twiml, media_type="application/xml")

    @router.post(STATUS_CALLBACK_PATH, response_model=None)
    async def outbound_call_status(request: Request) -> Response:
        """The carrier's status callbacks for a call our dialer placed: the final one is the attempt's outcome."""
        call = await dialled_call(request)
        if isinstance(call, Response):
            return call
        outbound, form, ticket = call
        try:
            return PlainTextResponse(await outbound.report(form, ticket))
        except MalformedCallback as error:
            return PlainTextResponse(str(error), status_code=400)

    @router.post(DIAL_ENDED_PATH, response_model=None)
    async def transfer_ended(request: Request) -> Response:
        """The carrier, once the <Dial> of a call transferred to the agent line has ended (bot.channels.call_transfer):
        nobody answered, so the caller hears when they will be called back."""
        services = services_of(request)
        form = await carrier_form(request, services.phone.signatures)
        if form is None:
            return PlainTextResponse("not signed by the carrier", status_code=403)
        twiml = await services.handover.dial_ended(request.query_params.get(TRANSFER_TICKET),
                                                   form.get("DialCallStatus", ""))
        if twiml is None:
            return PlainTextResponse("the transfer's ticket is missing, forged or expired", status_code=403)
        return Response(twiml, media_type="application/xml")

    @router.websocket("/voice/twilio")
    async def twilio_media_stream(websocket: WebSocket) -> None:
        phone = services_of(websocket).phone
        if not phone.signatures.genuine(str(websocket.url), {}, websocket.headers.get(SIGNATURE_HEADER)):
            logger.warning("media stream: refused a handshake without a valid carrier signature")
            await websocket.close(CLOSE_POLICY, "not_signed_by_the_carrier")  # before accept: HTTP 403
            return
        await serve(websocket, TwilioSerializer(), "phone", None, phone.tokens.party_of)

    @router.websocket("/voice/browser")
    async def browser_audio(websocket: WebSocket) -> None:
        """Limited as chat sockets are: calls opened per minute and sockets open per client address."""
        serializer, services, client = BrowserSerializer(), services_of(websocket), client_address(websocket)

        # Counted before the link is read, so bad links are rate-limited like good ones.
        if await _rate_limited(websocket, serializer, services, client):
            return
        try:
            borrower_id = services.links.admit(websocket.query_params.get("borrower_link"))
        except InvalidLink:  # forged, expired, malformed or missing: one answer for all
            await _refuse(websocket, serializer, "invalid_link", "the call needs a valid borrower link", CLOSE_POLICY)
            return
        if not services.sockets.acquire(client):
            await _refuse(websocket, serializer, "too_many_connections", "too many open connections from this address",
                          CLOSE_TRY_AGAIN_LATER)
            return
        try:
            await serve(websocket, serializer, "browser_voice", CallParty(borrower_id))
        finally:
            services.sockets.release(client)

    @router.websocket("/voice/demo-phone")
    async def demo_phone_answer(websocket: WebSocket) -> None:
        """The demo phone page answers a ring (bot.channels.demo_phone): the browser's audio, as a call the dialer
        placed; when it ends, its outcome is reported as the carrier's final status would be."""
        serializer, services, client = BrowserSerializer(), services_of(websocket), client_address(websocket)

        if await _rate_limited(websocket, serializer, services, client):
            return
        attempt = websocket.query_params.get("attempt", "")
        ring = None
        if services.demo_phone is not None and services.outbound is not None and ATTEMPT_ID.match(attempt):
            ring = await services.demo_phone.answer(attempt)
        if ring is None:  # no demo phone, a malformed id, a ring already taken or rung out: one answer for all
            await _refuse(websocket, serializer, "no_such_ring", "this call is not ringing", CLOSE_POLICY)
            return
        answered = time.monotonic()
        try:
            await serve(websocket, serializer, "phone", CallParty(ring.borrower_id, ring.attempt_id, ring.script))
        finally:
            await services.outbound.report(ring.status("completed", "human", int(time.monotonic() - answered)),
                                           ring.ticket)

    if demo_pages:
        for suffix, (filename, media_type) in PAGE_FILES.items():
            router.add_api_route(f"/demo/voice{suffix}", _static_file(filename, media_type), methods=["GET"],
                                 response_model=None)
    return router


async def _refuse(websocket: WebSocket, serializer: FrameSerializer, code: str, detail: str, close_code: int) -> None:
    """A browser call refused before it starts: the reason as a notice, then the close code."""
    await websocket.accept()
    await websocket.send_text(serializer.serialize(ProtocolNotice(code, detail)))
    await websocket.close(close_code, code)


async def _rate_limited(websocket: WebSocket, serializer: FrameSerializer, services, client: str) -> bool:
    """Calls opened per minute per client address, counted before anything the call names is read."""
    refusal = await services.limits.open(client)
    if refusal is not None:
        await _refuse(websocket, serializer, "rate_limited", f"too many calls; try again in {refusal.retry_after} s",
                      CLOSE_TRY_AGAIN_LATER)
    return refusal is not None


def _static_file(filename: str, media_type: str):
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}

    async def serve_file() -> Response:
        return FileResponse(STATIC_DIR / filename, media_type=media_type, headers=headers)

    return serve_file

"""Voice endpoints: /voice/twilio (Twilio Media Streams), /voice/browser (16 kHz PCM16) and the
microphone demo page /demo/voice. ASR and TTS engines are loaded once, at gateway start."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response
from starlette.websockets import WebSocketState

from voice.asr import make_asr_engine
from voice.call import VoiceServices
from voice.serializers.base import FrameSerializer
from voice.serializers.browser import BrowserSerializer
from voice.serializers.twilio import TwilioSerializer
from voice.settings import VoiceSettings, voice_settings
from voice.transport import CallTransport
from voice.tts import CachedTts, fixed_templates, make_tts_engine

logger = logging.getLogger("bot.voice")
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "media-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_FILES = {
    "": ("demo_voice.html", "text/html"),
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
        if isinstance(message, bytes):
            await self._websocket.send_bytes(message)
        else:
            await self._websocket.send_text(message)

    async def close(self, code: int, reason: str) -> None:
        if self._websocket.client_state == WebSocketState.CONNECTED:
            try:
                await self._websocket.close(code, reason)
            except RuntimeError:
                pass  # the peer closed first


def voice_router(settings: VoiceSettings | None = None) -> APIRouter:
    settings = settings or voice_settings()

    @asynccontextmanager
    async def load_engines(app: FastAPI) -> AsyncIterator[None]:
        asr, tts = await asyncio.gather(asyncio.to_thread(make_asr_engine, settings),
                                        asyncio.to_thread(make_tts_engine, settings))
        app.state.voice = VoiceServices(app.state.conversations, asr, tts, settings)
        # Fixed replies (disclosures, closings, re-prompts) rendered in the background, so calls replay them.
        phrases = [(text, settings.asr_language) for text in
                   [*fixed_templates(), settings.reprompt_text, settings.silence_goodbye_text]]
        prewarm = asyncio.create_task(_prewarm(tts, phrases))
        yield
        prewarm.cancel()

    router = APIRouter(lifespan=load_engines)

    async def serve(websocket: WebSocket, serializer: FrameSerializer, channel: str, borrower_id: str | None) -> None:
        await websocket.accept()
        transport = CallTransport(StarletteConnection(websocket), serializer, websocket.app.state.voice, channel)
        await transport.run(borrower_id)

    @router.websocket("/voice/twilio")
    async def twilio_media_stream(websocket: WebSocket) -> None:
        await serve(websocket, TwilioSerializer(), "phone", None)

    @router.websocket("/voice/browser")
    async def browser_audio(websocket: WebSocket) -> None:
        await serve(websocket, BrowserSerializer(), "browser_voice", websocket.query_params.get("borrower_id", ""))

    for suffix, (filename, media_type) in PAGE_FILES.items():
        router.add_api_route(f"/demo/voice{suffix}", _static_file(filename, media_type), methods=["GET"],
                             response_model=None)
    return router


async def _prewarm(tts: CachedTts, phrases: list[tuple[str, str]]) -> None:
    try:
        await tts.prewarm(phrases)
    except Exception as error:  # noqa: BLE001 — a phrase that cannot be cached is synthesized when spoken
        logger.warning("TTS prewarm stopped: %s", type(error).__name__)


def _static_file(filename: str, media_type: str):
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}

    async def serve_file() -> Response:
        return FileResponse(STATIC_DIR / filename, media_type=media_type, headers=headers)

    return serve_file

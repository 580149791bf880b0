"""FastAPI gateway: WebSocket chat and REST chat, both through ConversationService and the egress."""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from actions.ledger.db import create_schema, make_engine, make_session_factory
from actions.ledger.repository import Ledger
from bot.audit import AuditTrail
from bot.channels.wechat import WeChatChannel
from bot.channels.voice import voice_router
from bot.conversations import (
    ConversationEnded, ConversationService, InvalidMessage, TurnResult, UnknownConversation,
)
from bot.demo import demo_router
from bot.channels.websocket_push import relay_pushes
from bot.console.routes import console_router
from bot.handoff.runtime import handoff_runtime
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.sessions import make_session_store
from bot.settings import GatewaySettings, settings as load_settings
from compliance_filters.check import load_classifier_once

logger = logging.getLogger("bot.gateway")
MAX_FRAME_BYTES = 16_384  # a WebSocket frame larger than this is refused before parsing


class OpenConversation(BaseModel):
    borrower_id: str = Field(min_length=1, max_length=64)
    channel: str = Field(default="rest", pattern=r"^[a-z_]{1,16}$")


class BorrowerMessage(BaseModel):
    text: str = Field(max_length=4000)


def _turn_json(conversation_id: str, result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "messages": [message.as_json() for message in result.messages],
        "ended": result.ended,
    }


def create_app(config: GatewaySettings | None = None, clock: Callable[[], datetime] | None = None) -> FastAPI:
    config = config or load_settings()
    clock = clock or (lambda: config.fixed_now or datetime.now(timezone.utc))
    push_relays: list[Callable[[Any], Any]] = []  # channels that deliver pushed messages (e.g. WeChat)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine()
        create_schema(engine)
        # Load (first time: train, ~3 s) the compliance classifier now, not on a borrower's first turn.
        await asyncio.to_thread(load_classifier_once)
        store = make_session_store(config.redis_url)
        rasa = RasaClient(config.rasa_url, config.rasa_token, config.rasa_timeout_seconds)
        session_factory = make_session_factory(engine)
        ledger = Ledger(session_factory)
        async with handoff_runtime(config, ledger, session_factory) as handoff:
            app.state.conversations = ConversationService(
                store, rasa, ledger, AuditTrail(session_factory), clock,
                config.max_message_chars, config.default_timezone, handoff=handoff.desk, bus=handoff.bus,
            )
            background = [handoff.attach(app, app.state.conversations, rasa, ledger, config, clock)]
            background += [asyncio.create_task(relay(handoff.bus)) for relay in push_relays]
            yield
            for task in background:
                task.cancel()
        await rasa.aclose()
        await store.aclose()
        engine.dispose()

    app = FastAPI(title="Collections assistant gateway", lifespan=lifespan)

    @app.exception_handler(InvalidMessage)
    async def _invalid(_: Request, error: InvalidMessage) -> JSONResponse:
        status = 413 if error.code == "text_too_long" else 422
        return JSONResponse({"error": error.code, "detail": str(error)}, status_code=status)

    @app.exception_handler(UnknownConversation)
    async def _unknown(_: Request, error: UnknownConversation) -> JSONResponse:
        return JSONResponse({"error": "unknown_conversation"}, status_code=404)

    @app.exception_handler(ConversationEnded)
    async def _ended(_: Request, error: ConversationEnded) -> JSONResponse:
        return JSONResponse({"error": "conversation_ended"}, status_code=409)

    @app.exception_handler(RasaUnavailable)
    async def _rasa_down(_: Request, error: RasaUnavailable) -> JSONResponse:
        logger.error("rasa unavailable: %s", error)
        return JSONResponse({"error": "assistant_unavailable"}, status_code=503)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/conversations", status_code=201)
    async def open_conversation(body: OpenConversation, request: Request) -> dict[str, Any]:
        conversation, result = await request.app.state.conversations.open(body.borrower_id, body.channel)
        return _turn_json(conversation.conversation_id, result)

    @app.post("/api/conversations/{conversation_id}/messages")
    async def post_message(conversation_id: str, body: BorrowerMessage, request: Request) -> dict[str, Any]:
        result = await request.app.state.conversations.handle(conversation_id, body.text)
        return _turn_json(conversation_id, result)

    @app.get("/api/conversations/{conversation_id}")
    async def get_conversation(conversation_id: str, request: Request) -> dict[str, Any]:
        service: ConversationService = request.app.state.conversations
        conversation = await service.get(conversation_id)
        return {
            "conversation_id": conversation_id,
            "borrower_id": conversation.borrower_id,
            "channel": conversation.channel,
            "ended": conversation.ended,
            "transcript": await service.transcript(conversation_id),
        }

    @app.websocket("/ws/chat")
    async def chat_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        service: ConversationService = websocket.app.state.conversations
        borrower_id = websocket.query_params.get("borrower_id", "")
        resume_id = websocket.query_params.get("conversation_id")
        try:
            if resume_id:
                conversation = await service.get(resume_id)
                await websocket.send_json({"type": "session", "conversation_id": resume_id, "resumed": True})
            elif 0 < len(borrower_id) <= 64:
                conversation, opening = await service.open(borrower_id, "websocket")
                await websocket.send_json({"type": "session", "conversation_id": conversation.conversation_id})
                await _send_turn(websocket, opening)
            else:
                await websocket.send_json({"type": "error", "error": "missing_borrower_id"})
                await websocket.close(code=4400)
                return
            async with relay_pushes(websocket, websocket.app.state.push_bus, conversation.conversation_id):
                await _chat_loop(websocket, service, conversation.conversation_id)
        except UnknownConversation:
            await websocket.send_json({"type": "error", "error": "unknown_conversation"})
            await websocket.close(code=4404)
        except RasaUnavailable:
            await websocket.send_json({"type": "error", "error": "assistant_unavailable"})
            await websocket.close(code=1011)
        except WebSocketDisconnect:
            return

    app.include_router(demo_router())  # /demo/webchat: the rasa-webchat widget against this gateway
    app.include_router(console_router())  # /console and /api/console: the human agents' side of handoff
    app.include_router(voice_router())  # /voice/twilio, /voice/browser, /demo/voice: phone and browser calls
    if config.wechat_token is not None:  # WeChat Official Account channel: /wechat/callback
        wechat = WeChatChannel(config)
        app.include_router(wechat.router)
        push_relays.append(wechat.relay_pushes)
    return app


async def _send_turn(websocket: WebSocket, result: TurnResult) -> None:
    for message in result.messages:
        await websocket.send_json(message.as_json())
    # Tells the client this turn's replies are all out (and whether the conversation is over).
    await websocket.send_json({"type": "turn_complete", "ended": result.ended})


async def _chat_loop(websocket: WebSocket, service: ConversationService, conversation_id: str) -> None:
    while True:
        raw = await websocket.receive_text()
        if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
            await websocket.send_json({"type": "error", "error": "message_too_large"})
            continue
        try:
            frame = json.loads(raw)
        except json.JSONDecodeError:
            await websocket.send_json({"type": "error", "error": "malformed_json"})
            continue
        if not isinstance(frame, dict) or frame.get("type") != "user":
            await websocket.send_json({"type": "error", "error": "unsupported_frame", "detail": "send {\"type\": \"user\", \"text\": ...}"})
            continue
        try:
            result = await service.handle(conversation_id, frame.get("text"))
        except InvalidMessage as error:
            await websocket.send_json({"type": "error", "error": error.code, "detail": str(error)})
            continue
        except ConversationEnded:
            await websocket.send_json({"type": "error", "error": "conversation_ended"})
            continue
        await _send_turn(websocket, result)



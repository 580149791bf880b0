"""The WebSocket chat: `/ws/chat?borrower_link=…` opens a conversation with a signed borrower link (bot.links)
and sends its secret in the first frame; `/ws/chat?conversation_id=…` resumes one, with the secret as
`Authorization: Bearer <secret>` on the handshake.

A frame {"type": "user", "text", "turn_id"?}: a resent frame with the same turn_id gets the first reply
again, never a second turn. Faults never close the socket: a turn Rasa could not answer ends with the
fault reply ("fault": true on turn_complete), and with storage (Redis) down the unavailable reply says the
message was not recorded."""
from __future__ import annotations

import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from bot.channels.websocket_push import relay_pushes
from bot.conversations import ConversationEnded, ConversationService, InvalidMessage, TurnResult, UnknownConversation
from bot.dependencies import Services
from bot.links import InvalidLink
from bot.services import GatewayServices
from bot.rate_limits import RateLimits, Refusal, client_address
from bot.key_files import presented_secret
from monitoring import metrics

CHANNEL = "websocket"
MAX_FRAME_BYTES = 16_384  # a WebSocket frame larger than this is refused before parsing
TRY_AGAIN_LATER = 1013  # WebSocket close code: a server limit, not the client's fault
router = APIRouter()


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket, services: Services) -> None:
    await websocket.accept()
    client = client_address(websocket)
    if not services.sockets.acquire(client):
        await websocket.send_json({"type": "error", "error": "too_many_connections"})
        await websocket.close(code=TRY_AGAIN_LATER)
        return
    try:
        await _serve(websocket, services, client)
    finally:
        services.sockets.release(client)


async def _serve(websocket: WebSocket, services: GatewayServices, client: str) -> None:
    service = services.conversations
    resume_id = websocket.query_params.get("conversation_id")
    try:
        if resume_id:
            conversation = await service.authorize(resume_id, presented_secret(websocket))
            await websocket.send_json({"type": "session", "conversation_id": resume_id, "resumed": True})
        else:
            # Counted before the link is read, so bad links are rate-limited like good ones.
            if (refusal := await services.limits.open(client)) is not None:
                await _refuse(websocket, refusal)
                await websocket.close(code=TRY_AGAIN_LATER)
                return
            try:
                entry = services.links.admit_chat(websocket.query_params.get("borrower_link"))
            except InvalidLink:
                await websocket.send_json({"type": "error", "error": "invalid_link"})
                await websocket.close(code=4401)
                return
            conversation, opening, secret = await service.open_for_client(entry, CHANNEL)
            await websocket.send_json(
                {"type": "session", "conversation_id": conversation.conversation_id, "secret": secret})
            await _send_turn(websocket, opening)
        async with relay_pushes(websocket, services.bus, conversation.conversation_id):
            await _chat_loop(websocket, service, conversation.conversation_id, services.limits, client)
    except UnknownConversation:
        await websocket.send_json({"type": "error", "error": "unknown_conversation"})
        await websocket.close(code=4404)
    except RedisError:
        # No conversation can be opened or resumed without storage: say so, and let the client come back.
        metrics.count_error("storage_unavailable")
        await _send_turn(websocket, service.faults.unavailable())
        await websocket.close(code=1013)  # try again later
    except WebSocketDisconnect:
        return


async def _send_turn(websocket: WebSocket, result: TurnResult) -> None:
    for message in result.messages:
        await websocket.send_json(message.as_json())
    # Tells the client this turn's replies are all out (and whether the conversation is over).
    # rasa_ms: the REST reply's Server-Timing, for a socket (a turn's round trip minus it is the gateway's share).
    await websocket.send_json({"type": "turn_complete", "ended": result.ended, "fault": result.fault,
                               "rasa_ms": round(result.rasa_seconds * 1000, 1)})


async def _refuse(websocket: WebSocket, refusal: Refusal) -> None:
    await websocket.send_json({"type": "error", **refusal.as_json()})


async def _chat_loop(
    websocket: WebSocket, service: ConversationService, conversation_id: str, limits: RateLimits, client: str,
) -> None:
    while True:
        raw = await websocket.receive_text()
        if (refusal := await limits.message(client, conversation_id)) is not None:
            await _refuse(websocket, refusal)  # answered with an error, never dropped; the socket stays open
            continue
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
            result = await service.handle(conversation_id, frame.get("text"), frame.get("turn_id"))
        except RedisError:
            metrics.count_error("storage_unavailable")
            result = service.faults.unavailable()
        except InvalidMessage as error:
            await websocket.send_json({"type": "error", "error": error.code, "detail": str(error)})
            continue
        except ConversationEnded:
            await websocket.send_json({"type": "error", "error": "conversation_ended"})
            continue
        await _send_turn(websocket, result)



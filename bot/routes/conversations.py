"""REST conversations: open one with a signed borrower link, then send messages and read the transcript
with the conversation's secret (bot.routes.credentials). Staff read transcripts in the console.

A turn Rasa or the action server could not answer is still a 200: the borrower's words are recorded and the
reply is the fixed fault reply, with "fault": true (a slow turn's real reply follows on the push channels
and in the transcript). 503 with the unavailable reply means nothing was recorded (storage down): send again.
An `Idempotency-Key` header makes a retried POST return the first attempt's reply without a second turn (or, if
that turn never reached Rasa, the real answer once Rasa is back: ConversationService.handle)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.conversations import TurnResult
from bot.dependencies import Services
from bot.rate_limits import MessageAllowed, OpenAllowed
from bot.links import MAX_LINK_CHARS, InvalidLink
from bot.routes.credentials import BorrowerConversation

CHANNEL = "rest"  # recorded by the server; a "channel" a client sends is ignored
router = APIRouter(prefix="/api/conversations")


class OpenConversation(BaseModel):
    borrower_link: str = Field(min_length=1, max_length=MAX_LINK_CHARS)


class BorrowerMessage(BaseModel):
    text: str = Field(max_length=4000)


def _turn_json(conversation_id: str, result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "messages": [message.as_json() for message in result.messages],
        "ended": result.ended,
        "fault": result.fault,
    }


def server_timing(result: TurnResult) -> str:
    """The time the turn waited for Rasa, as an HTTP Server-Timing entry: a client's round trip minus this is the
    gateway's own share of the turn."""
    return f"rasa;dur={result.rasa_seconds * 1000:.1f}"


def invalid_link_response() -> JSONResponse:
    # One answer for a forged, expired or malformed link and for a borrower the ledger does not know.
    return JSONResponse({"error": "invalid_link"}, status_code=401)


@router.post("", status_code=201, response_model=None, dependencies=[OpenAllowed])
async def open_conversation(body: OpenConversation, services: Services) -> dict[str, Any] | JSONResponse:
    try:
        entry = services.links.admit_chat(body.borrower_link)
    except InvalidLink:
        return invalid_link_response()
    conversation, result, secret = await services.conversations.open_for_client(entry, CHANNEL)
    # The only time the secret is sent: the client keeps it and presents it as a bearer token.
    return {**_turn_json(conversation.conversation_id, result), "secret": secret}


@router.post("/{conversation_id}/messages", dependencies=[MessageAllowed])
async def post_message(
    conversation: BorrowerConversation, body: BorrowerMessage, services: Services,
    response: Response, idempotency_key: str | None = Header(default=None, max_length=128),
) -> dict[str, Any]:
    conversation_id = conversation.conversation_id
    result = await services.conversations.handle(conversation_id, body.text, idempotency_key)
    response.headers["Server-Timing"] = server_timing(result)
    return _turn_json(conversation_id, result)


@router.get("/{conversation_id}")
async def get_conversation(conversation: BorrowerConversation, services: Services) -> dict[str, Any]:
    """The borrower's own transcript (agents and supervisors read it in the console, by role)."""
    return {
        "conversation_id": conversation.conversation_id,
        "channel": conversation.channel,
        "ended": conversation.ended,
        "transcript": await services.conversations.transcript(conversation.conversation_id),
    }

"""What a borrower's client proves on the borrower endpoints: the conversation's secret, as
`Authorization: Bearer <secret>` on every REST call and on the WebSocket handshake that resumes a chat."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from bot.dependencies import Services
from bot.key_files import presented_secret
from bot.sessions import Conversation


async def borrower_conversation(conversation_id: str, connection: HTTPConnection, services: Services) -> Conversation:
    """The path's conversation if the caller holds its secret; else 404 unknown_conversation, as for an id
    that does not exist."""
    return await services.conversations.authorize(conversation_id, presented_secret(connection))


BorrowerConversation = Annotated[Conversation, Depends(borrower_conversation)]

"""Socket.IO channel speaking the rasa-webchat widget protocol (rasa-webchat 1.x, socket.io-client 3:
Engine.IO v4 / Socket.IO v5).

Events in:
  session_request {"session_id": id | null}
      -> session_confirm <session id as a plain string>, to that socket only. rasa-webchat 1.x accepts a
         plain string or {"session_id": id}; the plain string is what Rasa's own socketio channel sends.
  user_uttered {"message", "customData", "session_id"}
      -> bot_uttered {"text"} or {"text", "quick_replies": [{"content_type": "text", "title", "payload"}]},
         one per OutgoingMessage, in order, to every socket in the session's room (all open tabs).
      -> error {"error": code}, to the sending socket only; the socket stays connected.

Sessions: a webchat session id is issued (or accepted) at session_request, before anything is known
about the borrower (customData only travels with messages). The first user_uttered of a session opens
the gateway conversation with customData.borrower_id and emits its opening; whatever that first message
carried (usually the widget's init payload, or no "message" key at all) is not forwarded as borrower
text. The session id -> conversation id mapping lives in a ChannelState (in-process, or Redis when
REDIS_URL is set, so a restarted gateway can resume).

Every text this channel emits is an OutgoingMessage returned by ConversationService, i.e. it has passed
the compliance check and the audit in bot.egress. The only other things emitted are session ids and
error codes.
"""
from __future__ import annotations

import asyncio
import logging
import re
import uuid
import weakref
from typing import Any, Callable, Iterable

import socketio

from bot.channels.state import ChannelState, InMemoryChannelState, make_channel_state
from bot.conversations import ConversationEnded, ConversationService, InvalidMessage, TurnResult, UnknownConversation
from bot.egress import OutgoingMessage
from bot.handoff.bus import PushBus, each_push
from bot.rasa_client import RasaUnavailable
from bot.sessions import TRANSCRIPT_TTL_SECONDS

logger = logging.getLogger("bot.channels.webchat")

CHANNEL = "webchat"
SOCKETIO_PATH = "socket.io"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BORROWER_ID_CHARS = 64  # as the REST API's OpenConversation
# What a rasa-webchat page typically configures as initPayload. Sent (or a message with no "message"
# key) when the chat opens; never forwarded to Rasa as borrower text.
DEFAULT_INIT_PAYLOADS = frozenset({"/start", "/get_started", "/start_conversation", "/greet"})


SESSION_STATE_PREFIX = "collections:webchat:session"
# conversation id -> session id, for pushed messages (session ids never contain ':')
_PUSH_ROUTE = "push-route:"


def make_session_state(redis_url: str | None) -> ChannelState:
    """Session id -> conversation id links, kept as long as the conversation's transcript."""
    return make_channel_state(redis_url, SESSION_STATE_PREFIX)


def bot_uttered_payload(message: OutgoingMessage) -> dict[str, Any]:
    """An egress OutgoingMessage in rasa-webchat's bot_uttered shape (as Rasa's socketio channel sends)."""
    payload: dict[str, Any] = {"text": message.text}
    quick_replies = [
        {"content_type": "text", "title": button.get("title", ""), "payload": button.get("payload", "")}
        for button in message.buttons if isinstance(button, dict)
    ]
    if quick_replies:
        payload["quick_replies"] = quick_replies
    return payload


class WebchatChannel:
    """Owns the python-socketio AsyncServer and its handlers.

    `conversations` is called on every event (not at construction) because the ConversationService only
    exists once the FastAPI lifespan has started.
    """

    def __init__(
        self,
        conversations: Callable[[], ConversationService],
        sessions: ChannelState | None = None,
        cors_allowed_origins: str | list[str] | None = None,
        init_payloads: Iterable[str] = DEFAULT_INIT_PAYLOADS,
        **server_options: Any,
    ) -> None:
        self._conversations = conversations
        self.sessions: ChannelState = sessions or InMemoryChannelState()
        self._init_payloads = frozenset(init_payloads)
        # One turn at a time per session, so two tabs cannot open two conversations or interleave turns.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # cors_allowed_origins=None is python-engineio's same-origin policy (Origin must match Host).
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins=cors_allowed_origins, **server_options,
        )
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)

    async def aclose(self) -> None:
        await self.sessions.aclose()

    async def relay_pushes(self, bus: PushBus) -> None:
        """Runs while the gateway is up: a message pushed for a webchat conversation (an agent's words, a
        wait or callback notice, already through the egress) goes out as bot_uttered to its session's room.
        Rooms are per process, so each replica emits only to the sockets it has."""
        async def emit(conversation_id: str, message: dict[str, Any]) -> None:
            session_id = await self.sessions.get(_PUSH_ROUTE + conversation_id)
            if session_id and message.get("text"):
                await self.sio.emit("bot_uttered", {"text": message["text"]}, room=session_id)

        await each_push(bus, emit)

    def _lock(self, session_id: str) -> asyncio.Lock:
        lock = self._locks.get(session_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[session_id] = lock
        return lock

    async def _error(self, sid: str, code: str) -> None:
        await self.sio.emit("error", {"error": code}, to=sid)

    async def _emit_turn(self, session_id: str, result: TurnResult) -> None:
        for message in result.messages:
            await self.sio.emit("bot_uttered", bot_uttered_payload(message), room=session_id)

    # --- session_request ---------------------------------------------------------------------------

    async def _session_request(self, sid: str, *args: Any) -> None:
        try:
            data = args[0] if args else None
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = await self._resolve_session(requested)
            previous = (await self.sio.get_session(sid)).get("session_id")
            if previous and previous != session_id:
                await self.sio.leave_room(sid, previous)
            await self.sio.save_session(sid, {"session_id": session_id})
            await self.sio.enter_room(sid, session_id)
            await self.sio.emit("session_confirm", session_id, to=sid)
        except Exception:  # never let a handler crash the socket
            logger.exception("webchat session_request failed")
            await self._error(sid, "internal_error")

    async def _resolve_session(self, requested: Any) -> str:
        """The requested id if it can be kept, else a new one.

        Kept: a session already bound to a live conversation (resume), a webchat conversation id itself
        (resume), or a well-formed id not bound to anything yet (the conversation opens on the first
        message). Replaced: null, malformed ids, and sessions whose conversation has ended or is gone
        (the widget then starts a fresh chat instead of being stuck on a closed one).
        """
        if not isinstance(requested, str) or not _SESSION_ID.match(requested):
            return uuid.uuid4().hex
        service = self._conversations()
        conversation_id = await self.sessions.get(requested)
        if conversation_id is not None:
            try:
                conversation = await service.get(conversation_id)
            except UnknownConversation:
                return uuid.uuid4().hex
            return requested if not conversation.ended else uuid.uuid4().hex
        try:
            conversation = await service.get(requested)
        except UnknownConversation:
            return requested
        if conversation.channel != CHANNEL or conversation.ended:
            # Do not let a web page attach to a REST/WebSocket/WeChat conversation by its id.
            return uuid.uuid4().hex
        await self.sessions.set(requested, requested, TRANSCRIPT_TTL_SECONDS)
        await self.sessions.set(_PUSH_ROUTE + requested, requested, TRANSCRIPT_TTL_SECONDS)
        return requested

    # --- user_uttered ------------------------------------------------------------------------------

    async def _user_uttered(self, sid: str, *args: Any) -> None:
        try:
            await self._handle_utterance(sid, args[0] if args else None)
        except RasaUnavailable as error:
            logger.error("rasa unavailable: %s", error)
            await self._error(sid, "assistant_unavailable")
        except Exception:  # never let a handler crash the socket
            logger.exception("webchat user_uttered failed")
            await self._error(sid, "internal_error")

    async def _handle_utterance(self, sid: str, data: Any) -> None:
        if not isinstance(data, dict):
            await self._error(sid, "invalid_payload")
            return
        # The socket's confirmed session is authoritative; a session_id inside the payload is ignored so a
        # message cannot be steered into another session's conversation.
        session_id = (await self.sio.get_session(sid)).get("session_id")
        if not session_id:
            await self._error(sid, "no_session")
            return
        message = data.get("message")
        service = self._conversations()
        async with self._lock(session_id):
            conversation_id = await self.sessions.get(session_id)
            if conversation_id is None:
                await self._open(sid, session_id, data.get("customData"), service)
                return
            if self._is_init(message):
                return  # the widget re-sends its init payload when a resumed chat is reopened
            try:
                result = await service.handle(conversation_id, message)
            except InvalidMessage as error:
                await self._error(sid, error.code)
                return
            except ConversationEnded:
                await self._error(sid, "conversation_ended")
                return
            except UnknownConversation:
                await self._error(sid, "unknown_conversation")
                return
            await self._emit_turn(session_id, result)

    def _is_init(self, message: Any) -> bool:
        return message is None or (isinstance(message, str) and message.strip() in self._init_payloads)

    async def _open(self, sid: str, session_id: str, custom_data: Any, service: ConversationService) -> None:
        borrower_id = custom_data.get("borrower_id") if isinstance(custom_data, dict) else None
        if not isinstance(borrower_id, str) or not 0 < len(borrower_id.strip()) <= MAX_BORROWER_ID_CHARS:
            await self._error(sid, "missing_borrower_id")
            return
        conversation, opening = await service.open(borrower_id.strip(), CHANNEL)
        await self.sessions.set(session_id, conversation.conversation_id, TRANSCRIPT_TTL_SECONDS)
        await self.sessions.set(_PUSH_ROUTE + conversation.conversation_id, session_id, TRANSCRIPT_TTL_SECONDS)
        await self._emit_turn(session_id, opening)

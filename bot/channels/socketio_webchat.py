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
      A "turn_id" in the payload makes a resent message return the first reply, never a second turn.
      Faults are bot_uttered too: the fault reply when Rasa or an action fails or is slow (a slow turn's
      reply follows as a push), the unavailable reply to the sending socket when Redis is down.

Sessions: only this gateway issues session ids. A session id is a random value signed with the link key
(bot.links' key, salted for this use), issued at session_request before anything is known about the
borrower (customData only travels with messages); rasa-webchat keeps it in sessionStorage and presents it
again when the tab reloads. The first user_uttered of a session opens the gateway conversation for the
borrower named by customData.borrower_link, a signed link (bot.links), and emits its opening; whatever
that first message carried (usually the widget's init payload) is not forwarded as borrower text. The
session id -> conversation id mapping lives in a ChannelState (in-process, or Redis when REDIS_URL is
set, so a restarted gateway can resume).

Who receives a session's messages: holding its signed id is the credential, and on the gateway's own chat page
also the browser's HttpOnly binding cookie (bot.channels.webchat_binding): a session issued to a socket that
carried the cookie is resumed only by a socket carrying the same one. A socket that presents a
valid id joins that session's room, so a reloaded tab (or a duplicated one, which copies sessionStorage)
resumes and every socket of the session gets its replies and pushes. A socket that presents anything
else (an id the client chose, a forged or altered signature, a conversation id, an id whose conversation
ended or is gone) gets a new, empty session: it never receives another session's conversation. The push
route (conversation -> session) is written once, when the session's conversation opens, so no socket can
move it afterwards.

Every text this channel emits is an OutgoingMessage returned by ConversationService, i.e. it has passed
the compliance check and the audit in bot.egress. The only other things emitted are session ids and
error codes.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
import weakref
from typing import Any, Callable, Iterable, Protocol

import socketio
from itsdangerous import BadSignature, Signer
from redis.exceptions import RedisError

from bot.channels import webchat_binding
from bot.channels.state import ChannelState, InMemoryChannelState, make_channel_state
from bot.conversations import ConversationEnded, ConversationService, InvalidMessage, TurnResult, UnknownConversation
from bot.egress import OutgoingMessage
from bot.handoff.bus import PushBus, each_push
from bot.links import BorrowerLinks, InvalidLink
from bot.rate_limits import RateLimits, Refusal, SocketSlots
from bot.sessions import TRANSCRIPT_TTL_SECONDS
from monitoring import metrics

logger = logging.getLogger("bot.channels.webchat")

CHANNEL = "webchat"
SOCKETIO_PATH = "socket.io"
MAX_SESSION_ID_CHARS = 128  # a signed id has 76
_SESSION_SALT = "collections.webchat-session"
# What a rasa-webchat page typically configures as initPayload. Sent (or a message with no "message"
# key) when the chat opens; never forwarded to Rasa as borrower text.
DEFAULT_INIT_PAYLOADS = frozenset({"/start", "/get_started", "/start_conversation", "/greet"})


SESSION_STATE_PREFIX = "collections:webchat:session"
# conversation id -> session id, for pushed messages (session ids never contain ':')
_PUSH_ROUTE = "push-route:"


class WidgetServices(Protocol):
    """What the channel needs of the gateway's services: borrower links, and each client's share."""
    links: BorrowerLinks
    limits: RateLimits
    sockets: SocketSlots


def make_session_state(redis_url: str | None) -> ChannelState:
    """Session id -> conversation id links, kept as long as the conversation's transcript."""
    return make_channel_state(redis_url, SESSION_STATE_PREFIX)


class SessionIds:
    """Issues session ids and recognises its own: a random value, the binding digest of the browser it was
    issued to (webchat_binding; none for an unbound session) and their signature, '<hex>[-<binding>].<signature>'."""

    def __init__(self, key: bytes) -> None:
        self._signer = Signer(key, salt=_SESSION_SALT, digest_method=hashlib.sha256)

    def issue(self, binding: str = webchat_binding.UNBOUND) -> str:
        value = uuid.uuid4().hex + (f"-{binding}" if binding else "")
        return self._signer.sign(value).decode("ascii")

    def issued_here(self, session_id: Any, binding: str = webchat_binding.UNBOUND) -> bool:
        """Signed here, for the same binding: a bound session is no use without its browser's cookie, and a
        socket that carries a cookie never takes over an unbound session."""
        if not isinstance(session_id, str) or len(session_id) > MAX_SESSION_ID_CHARS:
            return False
        try:
            value = self._signer.unsign(session_id).decode("ascii")  # constant-time comparison of the signature
        except BadSignature:
            return False
        _, _, issued_to = value.partition("-")
        return hmac.compare_digest(issued_to, binding)


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

    `conversations` and `services` are called on every event (not at construction) because the services only
    exist once the FastAPI lifespan has started. `session_key` signs session ids (the link key).
    """

    def __init__(
        self,
        conversations: Callable[[], ConversationService],
        services: Callable[[], WidgetServices],
        session_key: bytes,
        sessions: ChannelState | None = None,
        cors_allowed_origins: str | list[str] | None = None,
        init_payloads: Iterable[str] = DEFAULT_INIT_PAYLOADS,
        **server_options: Any,
    ) -> None:
        self._conversations = conversations
        self._services = services
        self._clients: dict[str, str] = {}  # sid -> client address, while connected
        self._bindings: dict[str, str] = {}  # sid -> the binding digest of the cookie it carried, while connected
        self.session_ids = SessionIds(session_key)
        self.sessions: ChannelState = sessions or InMemoryChannelState()
        self._init_payloads = frozenset(init_payloads)
        # One turn at a time per session, so two tabs cannot open two conversations or interleave turns.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # cors_allowed_origins=None is python-engineio's same-origin policy (Origin must match Host).
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins=cors_allowed_origins, **server_options,
        )
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
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

    async def _refuse(self, sid: str, refusal: Refusal) -> None:
        await self.sio.emit("error", refusal.as_json(), to=sid)

    # --- connect / disconnect: open sockets per client address ---------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], *_: Any) -> None:
        scope_client = environ.get("asgi.scope", {}).get("client")
        client = scope_client[0] if scope_client else "unknown"  # engine.io's REMOTE_ADDR is a placeholder
        if not self._services().sockets.acquire(client):
            raise socketio.exceptions.ConnectionRefusedError("too_many_connections")  # connect_error {"message": …}
        self._clients[sid] = client
        self._bindings[sid] = webchat_binding.of_socket(environ)

    async def _disconnect(self, sid: str, *_: Any) -> None:
        self._bindings.pop(sid, None)
        client = self._clients.pop(sid, None)
        if client is not None:
            self._services().sockets.release(client)

    # --- session_request ---------------------------------------------------------------------------

    async def _session_request(self, sid: str, *args: Any) -> None:
        try:
            data = args[0] if args else None
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = await self._resolve_session(requested, self._bindings.get(sid, webchat_binding.UNBOUND))
            previous = (await self.sio.get_session(sid)).get("session_id")
            if previous and previous != session_id:
                await self.sio.leave_room(sid, previous)
            await self.sio.save_session(sid, {"session_id": session_id})
            await self.sio.enter_room(sid, session_id)
            await self.sio.emit("session_confirm", session_id, to=sid)
        except Exception:  # never let a handler crash the socket
            logger.exception("webchat session_request failed")
            await self._error(sid, "internal_error")

    async def _resolve_session(self, requested: Any, binding: str) -> str:
        """The requested id if this gateway issued it to this browser and its conversation (if any) goes on;
        otherwise a new one (null, anything not signed here or for another browser, and sessions whose
        conversation has ended or is gone: the widget then starts a fresh chat instead of being stuck on a
        closed one)."""
        if not self.session_ids.issued_here(requested, binding):
            return self.session_ids.issue(binding)
        conversation_id = await self.sessions.get(requested)
        if conversation_id is None:
            return requested  # issued, no message yet (e.g. the tab reloaded before the chat opened)
        try:
            conversation = await self._conversations().get(conversation_id)
        except UnknownConversation:
            return self.session_ids.issue(binding)
        return requested if not conversation.ended else self.session_ids.issue(binding)

    # --- user_uttered ------------------------------------------------------------------------------

    async def _user_uttered(self, sid: str, *args: Any) -> None:
        try:
            await self._handle_utterance(sid, args[0] if args else None)
        except RedisError as error:
            logger.error("webchat storage unavailable: %s", type(error).__name__)
            metrics.count_error("storage_unavailable")
            for message in self._conversations().faults.unavailable().messages:
                await self.sio.emit("bot_uttered", bot_uttered_payload(message), to=sid)
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
        limits = self._services().limits
        client = self._clients.get(sid, "unknown")
        async with self._lock(session_id):
            conversation_id = await self.sessions.get(session_id)
            if conversation_id is None:
                if (refusal := await limits.open(client)) is not None:
                    await self._refuse(sid, refusal)
                    return
                await self._open(sid, session_id, data.get("customData"), service)
                return
            if self._is_init(message):
                return  # the widget re-sends its init payload when a resumed chat is reopened
            if (refusal := await limits.message(client, conversation_id)) is not None:
                await self._refuse(sid, refusal)  # answered with an error event, never dropped
                return
            try:
                result = await service.handle(conversation_id, message, data.get("turn_id"))
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
        link = custom_data.get("borrower_link") if isinstance(custom_data, dict) else None
        try:
            entry = self._services().links.admit_chat(link)
        except InvalidLink:
            await self._error(sid, "invalid_link")
            return
        conversation, opening = await service.open_chat(entry, CHANNEL)
        await self.sessions.set(session_id, conversation.conversation_id, TRANSCRIPT_TTL_SECONDS)
        await self.sessions.set(_PUSH_ROUTE + conversation.conversation_id, session_id, TRANSCRIPT_TTL_SECONDS)
        await self._emit_turn(session_id, opening)

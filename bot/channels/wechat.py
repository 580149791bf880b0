"""WeChat Official Account (公众号) channel: `/wechat/callback`.

GET  — the console's URL check: sha1 signature over (token, timestamp, nonce); echostr back as text/plain.
POST — a pushed message. Checked in this order: body size (413), signature (403), timestamp within the
       skew window (403), (timestamp, nonce) not seen before (403), safe-mode msg_signature and decryption
       (403/400), XML (400), MsgId not seen before (a WeChat retry gets "success", never a second turn).

Identity: an openid is not a borrower id. An openid with no live conversation and no binding is asked
(fixed text, no account detail) for its borrower reference number; that number opens a conversation,
and the bot then verifies identity by name + ID digits exactly as on every other channel, so an
impostor who guesses a number learns nothing. openid -> conversation is kept while the conversation
lives; once a turn reports `identity_verified`, openid -> borrower is bound so the next conversation
opens straight away (and is verified again by the bot), and a reminder finds the borrower's openid
(bot.channels.wechat_bindings).

Replies: every borrower-facing text is an `OutgoingMessage.text` from ConversationService (so it has
passed the egress), except the fixed protocol texts below. A turn that finishes inside the passive
budget is answered in the HTTP response; a slower one gets "success" and its replies go out through
the customer-service message API when ready.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import unicodedata
import weakref
from typing import Any, Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.channels.wechat_api import WeChatApiClient
from bot.channels.wechat_bindings import STATE_PREFIX, WeChatBindings
from bot.channels.state import ChannelState, make_channel_state
from bot.conversations import (
    ConversationEnded, ConversationService, InvalidMessage, TurnResult, UnknownConversation,
)
from bot.handoff.bus import PushBus, each_push
from bot.rate_limits import SLOW_DOWN_TEXT
from configuration.settings import Settings

logger = logging.getLogger("bot.channels.wechat")

CHANNEL = "wechat"
MAX_BODY_BYTES = 64 * 1024
MSGID_TTL_SECONDS = 3600            # WeChat retries within ~15 s; an hour is plenty
CONVERSATION_TTL_SECONDS = 24 * 3600  # openid -> live conversation, refreshed on every turn
ATTEMPT_WINDOW_SECONDS = 24 * 3600
SUCCESS = "success"                  # WeChat's "received, nothing to say (now)"
_SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

# Fixed protocol texts: none says what the account is about or anything about a debt.
ASK_REFERENCE = "您好！为保护您的信息安全，请先发送您的客户编号（例如 B000001）。身份核实之前，我们不会透露任何账户信息。"
TEXT_ONLY = "抱歉，目前只能处理文字消息，请直接输入文字。"
TOO_MANY_ATTEMPTS = "尝试次数过多，请明天再试，或联系人工客服。"
UNAVAILABLE = "系统繁忙，请稍后再试。"
EMPTY_TEXT = "请输入文字内容。"


def _too_long(max_chars: int) -> str:
    return f"消息太长了，请精简到{max_chars}字以内后重新发送。"


class WeChatChannel:
    def __init__(
        self, config: Settings, *, state: ChannelState | None = None, api: WeChatApiClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if config.wechat.token is None:
            raise ValueError("the WeChat channel needs COLLECTIONS_WECHAT_TOKEN")
        self._token = config.wechat.token.get_secret_value()
        self._skew = config.wechat.max_timestamp_skew_seconds
        self._budget = config.wechat.passive_reply_budget_seconds
        self._max_chars = config.gateway.max_message_chars
        self._reference = re.compile(config.wechat.borrower_reference_pattern)
        self._max_attempts = config.wechat.max_reference_attempts_per_day
        self._clock = clock
        self._state = state or make_channel_state(config.redis_url, STATE_PREFIX)
        self._bindings = WeChatBindings(self._state)  # openid <-> borrower, after the bot verified identity
        self._crypto: WeChatCrypto | None = None
        if config.wechat.encoding_aes_key is not None:
            if not config.wechat.app_id:
                raise ValueError("WeChat safe mode (COLLECTIONS_WECHAT_ENCODING_AES_KEY) needs COLLECTIONS_WECHAT_APP_ID")
            self._crypto = WeChatCrypto(self._token, config.wechat.encoding_aes_key.get_secret_value(), config.wechat.app_id)
        if api is None and config.wechat.app_id and config.wechat.app_secret is not None:
            api = WeChatApiClient(config.wechat.api_base, config.wechat.app_id, config.wechat.app_secret.get_secret_value())
        self._api = api
        # One turn at a time per openid in this process (a slow turn may still be running when the next message comes).
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._background: set[asyncio.Task[Any]] = set()
        self.router = self._build_router()

    # ---- HTTP -------------------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/wechat/callback", include_in_schema=False)
        async def verify(request: Request) -> Response:
            q = request.query_params
            if not self._signed(q.get("signature"), q.get("timestamp"), q.get("nonce")):
                return PlainTextResponse("forbidden", status_code=403)
            return PlainTextResponse(q.get("echostr", ""))

        @router.post("/wechat/callback", include_in_schema=False)
        async def receive(request: Request) -> Response:
            return await self._receive(request)

        return router

    def _signed(self, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
        if not signature or not timestamp or not nonce:
            return False
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            return False
        return True

    async def _read_body(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return None
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                return None
        return bytes(body)

    async def _receive(self, request: Request) -> Response:
        q = request.query_params
        body = await self._read_body(request)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        timestamp, nonce = q.get("timestamp"), q.get("nonce")
        if not self._signed(q.get("signature"), timestamp, nonce):
            return PlainTextResponse("forbidden", status_code=403)
        assert timestamp is not None and nonce is not None
        try:
            stamp = int(timestamp)
        except ValueError:
            return PlainTextResponse("forbidden", status_code=403)
        if abs(self._clock() - stamp) > self._skew:
            return PlainTextResponse("stale", status_code=403)
        # A (timestamp, nonce) may be accepted while timestamp is within the skew of now: up to 2*skew from now.
        if not await self._state.first_seen(f"nonce:{stamp}:{nonce[:64]}", 2 * self._skew + 1):
            return PlainTextResponse("replayed", status_code=403)
        if _DTD.search(body):
            return PlainTextResponse("malformed", status_code=400)

        encrypted = q.get("encrypt_type", "raw").lower() == "aes"
        if self._crypto is not None:
            if not encrypted or not q.get("msg_signature"):
                return PlainTextResponse("safe mode required", status_code=403)
            try:
                plain = self._crypto.decrypt_message(body, q["msg_signature"], timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                return PlainTextResponse("forbidden", status_code=403)
            except Exception:  # noqa: BLE001 - garbage from the network must never become a 500
                return PlainTextResponse("malformed", status_code=400)
            xml = plain.encode("utf-8") if isinstance(plain, str) else plain
            if _DTD.search(xml):
                return PlainTextResponse("malformed", status_code=400)
        elif encrypted:
            return PlainTextResponse("safe mode not configured", status_code=400)
        else:
            xml = body

        parsed = _parse(xml)
        if parsed is None:
            return PlainTextResponse("malformed", status_code=400)
        message, msg_type, dedupe_key = parsed
        if not await self._state.first_seen(f"msg:{dedupe_key}", MSGID_TTL_SECONDS):
            return PlainTextResponse(SUCCESS)  # a WeChat retry of a message already taken: never a second turn

        services = request.app.state.services
        # WeChat's servers are the peer, so the limit is per user (openid), not per address.
        if msg_type == "text" and await services.limits.message(None, f"wechat:{message.source}") is not None:
            return self._reply(message, SLOW_DOWN_TEXT, nonce)  # refused with words, never dropped
        service: ConversationService = services.conversations
        task = asyncio.create_task(self._dispatch(service, message, msg_type))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self._budget)
        except asyncio.TimeoutError:
            self._deliver_later(message.source, task)
            return PlainTextResponse(SUCCESS)
        if not reply:
            return PlainTextResponse(SUCCESS)
        return self._reply(message, reply, nonce)

    def _reply(self, message: Any, text: str, nonce: str) -> Response:
        """A passive reply in the HTTP response (encrypted in safe mode)."""
        rendered = TextReply(message=message, content=text).render()
        if self._crypto is not None:
            rendered = self._crypto.encrypt_message(rendered, nonce, str(int(self._clock())))
        return Response(rendered, media_type="application/xml")

    # ---- messages ---------------------------------------------------------------------------------

    async def _dispatch(self, service: ConversationService, message: Any, msg_type: str) -> str | None:
        """The reply text for one message, or None for "success". Never raises."""
        openid: str = message.source
        try:
            if msg_type == "text":
                return await self._on_text(service, openid, message.content)
            if msg_type == "event":
                event = str(message._data.get("Event", "")).lower()
                if event in _SUBSCRIBE_EVENTS:
                    return await self._on_subscribe(service, openid)
                if event == "unsubscribe":
                    await self._forget(openid)
                return None
            return TEXT_ONLY
        except Exception as error:  # noqa: BLE001 - Rasa down, Redis down...: a fixed answer, never a 500
            logger.error("wechat turn failed: %s", type(error).__name__)
            return UNAVAILABLE

    async def _on_text(self, service: ConversationService, openid: str, text: Any) -> str | None:
        async with self._lock(openid):
            live = await self._state.get(f"conv:{openid}")
            if live:
                conversation_id, borrower_id = json.loads(live)
                try:
                    result = await service.handle(conversation_id, text)
                except (ConversationEnded, UnknownConversation):
                    await self._state.delete(f"conv:{openid}")
                except InvalidMessage as error:
                    return _too_long(self._max_chars) if error.code == "text_too_long" else EMPTY_TEXT
                else:
                    return await self._after_turn(openid, conversation_id, borrower_id, result)
            bound = await self._bindings.borrower_of(openid)
            if bound:
                return await self._open(service, openid, bound)
            reference = unicodedata.normalize("NFKC", text).strip().upper() if isinstance(text, str) else ""
            if not self._reference.fullmatch(reference):
                return ASK_REFERENCE
            if await self._state.incr(f"attempts:{openid}", ATTEMPT_WINDOW_SECONDS) > self._max_attempts:
                return TOO_MANY_ATTEMPTS
            return await self._open(service, openid, reference)

    async def _on_subscribe(self, service: ConversationService, openid: str) -> str | None:
        async with self._lock(openid):
            if await self._state.get(f"conv:{openid}"):
                return None
            bound = await self._bindings.borrower_of(openid)
            return await self._open(service, openid, bound) if bound else ASK_REFERENCE

    async def _open(self, service: ConversationService, openid: str, borrower_id: str) -> str | None:
        conversation, result = await service.open(borrower_id, CHANNEL)
        return await self._after_turn(openid, conversation.conversation_id, borrower_id, result)

    async def _after_turn(self, openid: str, conversation_id: str, borrower_id: str, result: TurnResult) -> str | None:
        if result.ended:
            await self._state.delete(f"conv:{openid}")
            await self._state.delete(f"push-to:{conversation_id}")
        else:
            await self._state.set(f"conv:{openid}", json.dumps([conversation_id, borrower_id]), CONVERSATION_TTL_SECONDS)
            await self._state.set(f"push-to:{conversation_id}", openid, CONVERSATION_TTL_SECONDS)
        if getattr(result, "identity_verified", False):
            await self._bindings.bind(openid, borrower_id)
        return "\n".join(message.text for message in result.messages) or None

    async def _forget(self, openid: str) -> None:
        """An unfollow drops the live conversation and the binding."""
        async with self._lock(openid):
            await self._state.delete(f"conv:{openid}")
            await self._bindings.forget(openid)

    def _lock(self, openid: str) -> asyncio.Lock:
        lock = self._locks.get(openid)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[openid] = lock
        return lock

    async def relay_pushes(self, bus: PushBus) -> None:
        """Runs while the gateway is up: a message pushed for a WeChat conversation (an agent's words, a
        wait or callback notice, already through the egress) goes out as a customer-service message.
        Every replica hears every push; the first to claim the message id sends it."""
        async def send(conversation_id: str, message: dict[str, Any]) -> None:
            openid = await self._state.get(f"push-to:{conversation_id}")
            if not openid or not message.get("text") or not await self._state.first_seen(
                    f"pushed:{message.get('id')}", MSGID_TTL_SECONDS):
                return
            if self._api is None:
                logger.error("wechat push not delivered: no app id/secret for the customer-service API")
                return
            await self._api.send_text(openid, message["text"])

        await each_push(bus, send)

    def _deliver_later(self, openid: str, turn: asyncio.Task[str | None]) -> None:
        async def deliver() -> None:
            reply = await turn  # _dispatch never raises
            if not reply:
                return
            if self._api is None:
                logger.error("wechat reply missed the passive budget and no app id/secret is set: not delivered")
                return
            try:
                await self._api.send_text(openid, reply)
            except Exception as error:  # noqa: BLE001 - already logged per attempt by the client
                logger.error("wechat customer-service delivery failed: %s", type(error).__name__)

        task = asyncio.create_task(deliver())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _parse(xml: bytes) -> tuple[Any, str, str] | None:
    """(message, MsgType, dedupe key), or None for anything that is not a well-formed WeChat message."""
    try:
        message = parse_message(xml.decode("utf-8"))
        data = message._data
        msg_type = data["MsgType"].lower()
        source = data["FromUserName"]
        if not isinstance(source, str) or not source or len(source) > 128 or not isinstance(msg_type, str):
            return None
        msg_id = message.id
        create_time = str(data.get("CreateTime", ""))
    except Exception:  # noqa: BLE001 - xmltodict/expat errors, missing or nested fields, bad MsgId
        return None
    # Events have no MsgId: WeChat's own advice is to dedupe them by FromUserName + CreateTime.
    key = f"id:{msg_id}" if msg_id else f"ev:{source}:{create_time}:{data.get('Event', '')}"
    return message, msg_type, key

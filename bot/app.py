"""FastAPI gateway: one lifespan builds every service (bot.services) and runs the background loops;
routes come from their own modules and reach services through bot.dependencies."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from bot.body_limit import BodySizeLimit
from bot.channels.sms_inbound import sms_router
from bot.channels.voice import voice_router
from bot.channels.wechat import WeChatChannel
from bot.console.protection import ConsoleProtection
from bot.console.campaigns import campaigns_router
from bot.console.claims import claims_router
from bot.console.dashboard import dashboard_router
from bot.console.recordings import recordings_router
from bot.console.review import review_router
from bot.console.routes import console_router
from bot.conversations import ConversationEnded, InvalidMessage, UnknownConversation
from bot.demo import demo_router
from bot.handoff.bus import PushBus
from bot.metrics_endpoint import PATH as METRICS_PATH, exposition
from bot.rasa_client import RasaUnavailable
from bot.rate_limits import RateLimited
from bot.routes import chat_socket, conversations, payments
from bot.channels.demo_phone import demo_phone_router
from campaigns.demo_inbox import demo_inbox_router
from bot.services import gateway_services
from configuration.settings import Settings
from chinese_text.language import written_language
from ledger.notices import call_notices
from monitoring import metrics
from voice.tts import fixed_templates

logger = logging.getLogger("bot.gateway")
PushRelay = Callable[[PushBus], Awaitable[None]]


def create_app(
    settings: Settings, clock: Callable[[], datetime] | None = None, push_relays: list[PushRelay] | None = None,
) -> FastAPI:
    """`push_relays` deliver pushed messages (agents' words, handoff notices) on channels mounted
    around this app (the web chat widget's Socket.IO server)."""
    clock = clock or (lambda: settings.gateway.fixed_now or datetime.now(timezone.utc))
    relays: list[PushRelay] = list(push_relays or [])
    wechat = WeChatChannel(settings) if settings.wechat.token is not None else None
    if wechat is not None:
        relays.append(wechat.relay_pushes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with gateway_services(settings, clock) as services:
            app.state.services = services
            voice = settings.voice
            # Fixed replies (disclosures, closings, re-prompts) rendered in the background, so calls replay them.
            phrases = [(text, written_language(text) or voice.asr_language)
                       for text in [*fixed_templates(), *call_notices()]]
            background = [
                asyncio.create_task(services.voice.tts.prewarm(phrases)),
                asyncio.create_task(services.callback_offers.run(settings.handoff.check_interval_seconds)),
                *(asyncio.create_task(relay(services.bus)) for relay in relays),
            ]
            try:
                yield
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)

    app = FastAPI(title="Collections assistant gateway", lifespan=lifespan)
    app.add_middleware(ConsoleProtection)  # CSP, no framing, no cross-site writes on /console and /api/console
    app.add_middleware(BodySizeLimit, max_bytes=settings.gateway.max_request_body_bytes)  # 413, never read whole
    _add_error_handlers(app)

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        """Up (200) while the gateway runs; the Rasa circuit says whether turns reach Rasa right now."""
        return {"status": "ok", "rasa_circuit": request.app.state.services.rasa.circuit.state()}

    @app.get(METRICS_PATH, include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """For Prometheus, with the metrics token (bot.metrics_endpoint); the handoff queue is read now."""
        services = request.app.state.services
        return await exposition(request, services.metrics_key, services.desk.note_queue_metrics)

    app.include_router(conversations.router)  # REST: /api/conversations
    app.include_router(chat_socket.router)  # WebSocket: /ws/chat
    app.include_router(payments.router)  # REST: /api/payments, the lender's payment reports
    # /console/review and /api/console/review: quality review (before the console's /console/{asset} would catch it)
    app.include_router(review_router())
    app.include_router(recordings_router())  # /api/console/recordings: call recordings, for reviewers and supervisors
    # Before console_router: its /console/{asset} would answer /console/kpis with a 404.
    app.include_router(dashboard_router())  # /console/kpis and /api/console/kpis: the supervisor's KPI dashboard
    app.include_router(console_router())  # /console and /api/console: the human agents' side of handoff
    app.include_router(campaigns_router())  # /api/console/campaigns: the supervisor's outbound view
    app.include_router(claims_router())  # /api/console/claims: a supervisor closes a dispute or hardship claim
    # /voice/twilio, /voice/browser: phone and browser calls (and the demo's /demo/voice page)
    app.include_router(voice_router(demo_pages=settings.demo))
    if settings.demo:
        # The demo pages, only while no provider is real: /demo/inbox lists borrowers' reminders and signed chat
        # links to anyone, /demo/phone their calls; with a real provider those would be real borrowers'.
        app.include_router(demo_router())  # /demo/webchat: the rasa-webchat widget against this gateway
        app.include_router(demo_inbox_router())  # reminders kept by the demo messenger (campaigns.demo_inbox)
        app.include_router(demo_phone_router())  # the worker's calls ring here (campaigns.demo_phone)
    if settings.messenger.sms_configured():  # /sms/twilio/incoming: STOP and START texted to our SMS sender
        app.include_router(sms_router(settings))
    if wechat is not None:  # WeChat Official Account channel: /wechat/callback
        app.include_router(wechat.router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def invalid(_: Request, error: Any) -> JSONResponse:
        status = 413 if error.code == "text_too_long" else 422
        return JSONResponse({"error": error.code, "detail": str(error)}, status_code=status)

    async def unknown(_: Request, __: Any) -> JSONResponse:
        return JSONResponse({"error": "unknown_conversation"}, status_code=404)

    async def ended(_: Request, __: Any) -> JSONResponse:
        return JSONResponse({"error": "conversation_ended"}, status_code=409)

    async def rasa_down(_: Request, error: Any) -> JSONResponse:
        logger.error("rasa unavailable: %s", error)
        return JSONResponse({"error": "assistant_unavailable"}, status_code=503)

    async def storage_down(request: Request, error: Exception) -> JSONResponse:
        # Redis down: nothing could be recorded, so the borrower is told to send again (never a bare 500).
        logger.error("storage unavailable: %s", type(error).__name__)
        metrics.count_error("storage_unavailable")
        body: dict[str, Any] = {"error": "storage_unavailable"}
        if request.url.path.startswith("/api/conversations"):
            unavailable = request.app.state.services.conversations.faults.unavailable()
            body.update(messages=[message.as_json() for message in unavailable.messages], fault=True)
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    async def malformed_request(_: Request, error: RequestValidationError) -> JSONResponse:
        # Where and what, never the input itself: an echo could be megabytes, or text that cannot be encoded.
        problems = [{"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
                    for item in error.errors()]
        return JSONResponse({"error": "invalid_request", "detail": problems}, status_code=422)

    async def rate_limited(_: Request, error: RateLimited) -> JSONResponse:
        return JSONResponse(error.refusal.as_json(), status_code=429,
                            headers={"Retry-After": str(error.refusal.retry_after)})

    app.add_exception_handler(RateLimited, rate_limited)
    app.add_exception_handler(RequestValidationError, malformed_request)
    app.add_exception_handler(InvalidMessage, invalid)
    app.add_exception_handler(UnknownConversation, unknown)
    app.add_exception_handler(ConversationEnded, ended)
    app.add_exception_handler(RasaUnavailable, rasa_down)
    app.add_exception_handler(RedisError, storage_down)

"""GET /metrics in Prometheus' text format, for the scraper alone: `Authorization: Bearer <token>` on every request.

The token is COLLECTIONS_METRICS_TOKEN, or else the text of COLLECTIONS_METRICS_TOKEN_FILE (var/metrics.key: 64
hex characters, created with mode 0600 on first start; bot.key_files). The gateway serves it on its own port (which
may face the internet behind the operator's proxy, hence the token); the campaign worker on its own small port,
bound to 127.0.0.1 by default (`metrics_app`). Without the token, or with a wrong one: 401, and nothing is read.
"""
from __future__ import annotations

from typing import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.key_files import BearerKey, load_bearer_text, presented_secret
from configuration.settings import MetricsSettings

PATH = "/metrics"


def load_metrics_key(settings: MetricsSettings) -> BearerKey:
    return BearerKey(load_bearer_text(settings.token, settings.token_file, "COLLECTIONS_METRICS_TOKEN"))


def refused() -> JSONResponse:
    return JSONResponse({"error": "invalid_metrics_token",
                         "detail": "send the metrics token (COLLECTIONS_METRICS_TOKEN, or the text of "
                                   "var/metrics.key) as Authorization: Bearer"},
                        status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def exposition(request: Request, key: BearerKey,
                     before_scrape: Callable[[], Awaitable[None]] | None = None) -> Response:
    """The metrics, after `before_scrape` has set the gauges read at scrape time."""
    if not key.admits(presented_secret(request)):
        return refused()
    if before_scrape is not None:
        await before_scrape()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def metrics_app(key: BearerKey) -> Starlette:
    """A process's /metrics alone, for a process without a web app of its own (the campaign worker)."""
    async def metrics(request: Request) -> Response:
        return await exposition(request, key)

    return Starlette(routes=[Route(PATH, metrics, methods=["GET"])])

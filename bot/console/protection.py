"""Browser-side protections for the agent console (/console, /api/console/...), as one ASGI middleware.

- Every console response says where its page may load things from and that no other site may frame it
  (Content-Security-Policy with frame-ancestors 'none', and X-Frame-Options for older browsers): the
  console shows borrowers' data and acts on their accounts, so it must not be clickjacked or run
  injected script.
- A console write (any method but GET/HEAD/OPTIONS) that a browser sends from another site is refused
  (403 cross_origin): browsers name the page's site in Origin; the session cookie is already
  SameSite=Strict, this also covers Bearer-token clients and lax proxies. Requests without Origin (the
  API from scripts) are not browser cross-site requests and pass.
"""
from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_PREFIXES = ("/console", "/api/console")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def _own_origin(scope: Scope, headers: Headers) -> str:
    # The scheme as uvicorn resolved it (X-Forwarded-Proto from a trusted proxy included).
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


class ConsoleProtection:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CONSOLE_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cross_site = headers.get("sec-fetch-site") == "cross-site"
        if scope["method"] not in SAFE_METHODS and (cross_site or (origin and origin != _own_origin(scope, headers))):
            await self._refuse(send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    async def _refuse(send: Send) -> None:
        body = json.dumps({"detail": "cross_origin"}).encode()
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS,
        ]})
        await send({"type": "http.response.body", "body": body})

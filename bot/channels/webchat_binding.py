"""Binds a web chat session to the browser that opened it, with a cookie page scripts cannot read.

The widget keeps its session id in sessionStorage, where any script on the page (an injected one too) can
read it, and anyone holding a session id used to hold the chat. The gateway's own chat page therefore sets
an HttpOnly, SameSite=Strict cookie with a random value (path / : the page must see it to keep it); a session issued
to a socket that carried it is bound to it (its id embeds a digest of the value), and is resumed only by a
socket carrying the same cookie. A session id copied out of the page is worth nothing elsewhere.

A widget on a lender's own site is served from another origin, where this cookie would be a third-party
cookie browsers refuse: its sessions are unbound, protected by the signed session id alone.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from fastapi import Request, Response
from starlette.requests import cookie_parser

COOKIE = "webchat_binding"
COOKIE_PATH = "/"  # the page must see it too, or every reload would replace it and lose the sessions
_VALUE_BYTES = 32
DIGEST_CHARS = 16  # 64 bits of SHA-256: finding a value for a copied session id means inverting the hash
UNBOUND = ""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]


def of_socket(environ: dict[str, Any]) -> str:
    """The binding digest of the cookie a connecting socket carried; UNBOUND without one."""
    value = cookie_parser(environ.get("HTTP_COOKIE", "")).get(COOKIE)  # the parser FastAPI's requests use
    return digest(value) if value else UNBOUND


def give_browser(request: Request, response: Response) -> None:
    """Sets the cookie on a page response unless the browser has it (a reload keeps its sessions)."""
    if request.cookies.get(COOKIE):
        return
    response.set_cookie(
        COOKIE, secrets.token_urlsafe(_VALUE_BYTES), httponly=True, samesite="strict", path=COOKIE_PATH,
        secure=request.url.scheme == "https",  # a browser session cookie: gone when the browser closes
    )

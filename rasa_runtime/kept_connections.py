"""Rasa 3.6 opens a new aiohttp session, and so a new TCP connection, for every call to an HTTP endpoint
(`EndpointConfig.request`: `async with self.session()`, closed after the call): several connections a turn to the
action server, whose set-up was about 3 % of a replica's CPU under load (py-spy), and the action server's accept and
close too. This keeps one session per endpoint and event loop, configured as Rasa's own (headers, basic auth, the
request timeout), whose idle connections are closed after KEEPALIVE_SECONDS, well before the action server's own
keep-alive (Sanic's 120 s) would close them under a request.

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

KEEPALIVE_SECONDS = 2.0


class _KeptSession:
    """`async with` gives the endpoint's open session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: Any) -> None:
        return None


def kept_session(endpoint: EndpointConfig) -> _KeptSession:
    loop = asyncio.get_running_loop()
    session, session_loop = getattr(endpoint, "_kept_session", (None, None))
    if session is None or session.closed or session_loop is not loop:
        # As Rasa's EndpointConfig.session, with a connector that keeps idle connections briefly.
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        endpoint._kept_session = (session, loop)
    return _KeptSession(session)


def install() -> None:
    EndpointConfig.session = kept_session

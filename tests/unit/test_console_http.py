"""The agent console over real HTTP, against the gateway as it starts (bot.asgi, every service built by
bot.services), served by uvicorn in this test's event loop: sign-in under attack (issue 10, finding 9)
and the browser-side protections (finding 14).

Clients at different addresses, and HTTPS, are played the way a reverse proxy on the same host would
present them: uvicorn trusts X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 (its default, as the
launcher runs it).
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import AsyncIterator

import httpx
from argon2.exceptions import VerifyMismatchError
import pytest
import pytest_asyncio

from bot.console import agents as console_agents
from bot.console.agents import AgentDirectory
from configuration.settings import Settings
from tests.unit.gateway_server import gateway_client
from ledger.db import create_schema, make_engine, make_session_factory

PASSWORD = "the real agent's password"
AGENTS = ("li.na", "wang.fang", "zhang.wei", "chen.jie", "zhao.lei")
# One gateway for the module (it takes a while to start); each test plays its own agent and addresses.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    directory = tmp_path_factory.mktemp("sign-in")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    for name in AGENTS:
        AgentDirectory(make_session_factory(engine)).add(name, "agent", PASSWORD)
    engine.dispose()
    return Settings(
        _env_file=None, redis_url=None,
        ledger={"database_url": url},
        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
        rasa={"url": "http://127.0.0.1:9"},  # signing in never asks Rasa
        console={"max_failed_sign_ins": 3, "max_failed_sign_ins_per_address": 8},  # argon2 is slow on purpose
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as http:
        yield http


async def sign_in(client: httpx.AsyncClient, address: str, name: str, password: str) -> int:
    response = await client.post("/api/console/login", json={"name": name, "password": password},
                                 headers={"X-Forwarded-For": address})
    return response.status_code


async def test_failures_from_one_address_do_not_lock_the_agent_out_from_another(client, settings):
    attacker, agent = "203.0.113.1", "198.51.100.1"
    failures = [await sign_in(client, attacker, "li.na", f"guess {n}")
                for n in range(settings.console.max_failed_sign_ins)]
    assert set(failures) == {401}
    assert await sign_in(client, attacker, "li.na", PASSWORD) == 429  # locked, even with the right password
    assert await sign_in(client, agent, "li.na", PASSWORD) == 200


async def test_an_agent_locked_by_their_own_typos_is_cleared_by_a_success(client, settings):
    agent = "198.51.100.2"
    for n in range(settings.console.max_failed_sign_ins - 1):
        assert await sign_in(client, agent, "wang.fang", f"typo {n}") == 401
    assert await sign_in(client, agent, "wang.fang", PASSWORD) == 200
    assert await sign_in(client, agent, "wang.fang", "one more typo") == 401  # the count started again


async def test_one_address_spraying_many_names_is_stopped(client, settings):
    attacker, agent = "203.0.113.3", "198.51.100.3"
    statuses = [await sign_in(client, attacker, f"agent{n}", "Winter2026!")
                for n in range(settings.console.max_failed_sign_ins_per_address)]
    assert set(statuses) == {401}
    assert await sign_in(client, attacker, "zhang.wei", PASSWORD) == 429
    assert await sign_in(client, agent, "zhang.wei", PASSWORD) == 200


async def test_agents_signing_in_from_one_office_address_are_not_throttled(client, settings):
    office = "198.51.100.5"
    for _ in range(settings.console.max_failed_sign_ins_per_address + 2):
        assert await sign_in(client, office, "li.na", PASSWORD) == 200


async def test_concurrent_guesses_cannot_slip_under_the_limit(client, settings):
    attacker = "203.0.113.4"
    statuses = await asyncio.gather(*(sign_in(client, attacker, "chen.jie", f"guess {n}") for n in range(20)))
    assert statuses.count(401) == settings.console.max_failed_sign_ins
    assert statuses.count(429) == 20 - settings.console.max_failed_sign_ins


async def test_a_flood_of_sign_ins_leaves_the_default_executor_to_the_borrowers(client, monkeypatch):
    """40 sign-ins from 40 addresses (more than the default executor's 32 threads at most), their hashes
    held mid-check: a borrower's turn still gets the default executor (audit appends, ledger reads)."""
    release, hashing = threading.Event(), threading.Semaphore(0)

    class HeldHasher:
        def verify(self, stored: str, password: str) -> bool:
            hashing.release()
            release.wait(30)
            raise VerifyMismatchError()

    monkeypatch.setattr(console_agents, "_hasher", HeldHasher())
    flood = [asyncio.create_task(sign_in(client, f"192.0.2.{n}", "zhao.lei", f"guess {n}")) for n in range(40)]
    try:
        deadline = time.monotonic() + 30
        while not hashing.acquire(blocking=False):  # the flood is hashing
            assert time.monotonic() < deadline, "no sign-in reached the password check"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # and has taken every thread it will get
        borrower_work = await asyncio.wait_for(asyncio.to_thread(lambda: "turn"), timeout=3)
    finally:
        release.set()
        statuses = await asyncio.gather(*flood)
    assert borrower_work == "turn"
    assert set(statuses) == {401}


async def test_console_pages_and_answers_forbid_framing_and_foreign_scripts(client):
    for path in ("/console", "/console/console.js", "/api/console/me"):
        response = await client.get(path)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" not in (await client.get("/health")).headers


async def test_a_console_write_from_another_site_is_refused(client):
    login = {"name": "wang.fang", "password": PASSWORD}
    foreign = await client.post("/api/console/login", json=login, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json() == {"detail": "cross_origin"}
    fetch_metadata = await client.post("/api/console/login", json=login, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_metadata.status_code == 403
    own = await client.post("/api/console/login", json=login, headers={"Origin": str(client.base_url).rstrip("/")})
    assert own.status_code == 200
    assert (await client.post("/api/console/login", json=login)).status_code == 200  # scripts send no Origin


async def test_the_session_cookie_is_secure_when_the_console_is_served_over_https(client):
    login = {"name": "wang.fang", "password": PASSWORD}
    over_https = await client.post("/api/console/login", json=login, headers={"X-Forwarded-Proto": "https"})
    assert "secure" in over_https.headers["set-cookie"].lower()
    over_http = await client.post("/api/console/login", json=login)
    assert "secure" not in over_http.headers["set-cookie"].lower()

"""The gateway's /metrics over real HTTP: the gateway as it starts (bot.asgi, every service built by bot.services, the
metrics key file created), served by uvicorn in this test's event loop, a SQLite ledger, and a scripted Rasa behind
the gateway channel's HTTP protocol (Rasa itself cannot run in a unit test; the e2e suite drives the real one).
Each test scrapes, does something real, scrapes again, and finds the counts moved by exactly that."""
from __future__ import annotations

import asyncio
import re
import socket
import stat
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, AsyncIterator

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.console.agents import AgentDirectory
from bot.links import BorrowerLinks, load_link_key
from bot.rasa_client import TURN_WEBHOOK
from compliance_filters import check
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.seed import seed_demo_portfolio
from tests.unit.gateway_server import gateway_client
from tests.unit.metrics_scrape import moved, scrape, value

pytestmark = pytest.mark.asyncio(loop_scope="module")
GREETING = "您好，这里是客户服务中心。"
THREAT = "再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。"  # always blocked
SUPERVISOR, PASSWORD = "sup.metrics", "the supervisor's password"


class ScriptedRasa:
    """Rasa's side of the gateway channel (rasa_channels/gateway.py): answers each turn with the next scripted
    reply (a body, or an HTTP status to fail with), else a greeting."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any] | int] = []

    async def webhook(self, request: Request) -> JSONResponse:
        reply = self.replies.pop(0) if self.replies else {}
        if isinstance(reply, int):
            return JSONResponse({"error": "scripted failure"}, status_code=reply)
        return JSONResponse({"messages": [{"recipient_id": "x", "text": GREETING}], "identity_verified": False,
                             "conversation_ended": False, "handoff_reasons": [], "language": "zh", **reply})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        app = Starlette(routes=[Route(TURN_WEBHOOK, self.webhook, methods=["POST"])])
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            server.should_exit = True
            await serving
            listener.close()


@pytest.fixture(scope="module")
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateway(tmp_path_factory, rasa) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    directory = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=6, as_of=date(2026, 11, 23))
    AgentDirectory(make_session_factory(engine)).add(SUPERVISOR, "supervisor", PASSWORD)
    engine.dispose()
    async with rasa.serving() as rasa_url:
        settings = Settings(
            _env_file=None, redis_url=None, ledger={"database_url": url}, rasa={"url": rasa_url, "token": "scripted-rasa-token"},
            gateway={"link_key_file": directory / "link.key", "payments_api_key_file": directory / "payments.key"},
            audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
            metrics={"token_file": directory / "metrics.key"},
        )
        async with gateway_client(settings) as client:
            yield client, settings


@pytest.fixture(scope="module")
def token(gateway) -> str:
    """What Prometheus is given: the key file's text."""
    return gateway[1].metrics.token_file.read_text().strip()


async def open_conversation(gateway, borrower_id: str) -> tuple[str, dict[str, str]]:
    client, settings = gateway
    link = BorrowerLinks(load_link_key(settings.gateway)).issue(borrower_id)
    opened = await client.post("/api/conversations", json={"borrower_link": link})
    assert opened.status_code == 201, opened.text
    body = opened.json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['secret']}"}


async def say(gateway, conversation_id: str, secret: dict[str, str], text: str) -> dict[str, Any]:
    sent = await gateway[0].post(f"/api/conversations/{conversation_id}/messages", json={"text": text}, headers=secret)
    assert sent.status_code == 200, sent.text
    return sent.json()


async def test_the_token_file_is_created_private(gateway, token):
    assert stat.S_IMODE(gateway[1].metrics.token_file.stat().st_mode) == 0o600
    assert len(token) == 64


@pytest.mark.parametrize("authorization", [None, "Bearer not-the-metrics-token", "Bearer {token}0", "Basic {token}",
                                           "Bearer", "{token}"])
async def test_without_the_token_nothing_is_shown(gateway, token, authorization):
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}
    refused = await gateway[0].get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == "invalid_metrics_token"
    assert "collections_" not in refused.text


async def test_a_rest_turn_is_timed_once_and_its_rasa_round_trips_counted(gateway, token):
    before = await scrape(gateway[0], token)
    conversation_id, secret = await open_conversation(gateway, "B000001")  # the opening asks Rasa, but is no turn
    await say(gateway, conversation_id, secret, "我想问一下")
    await say(gateway, conversation_id, secret, "好的")
    after = await scrape(gateway[0], token)
    assert moved(before, after, "collections_turn_seconds_count", channel="rest") == 2
    assert moved(before, after, "collections_turn_seconds_count", channel="websocket") == 0
    assert moved(before, after, "collections_turn_seconds_sum", channel="rest") > 0
    assert moved(before, after, "collections_rasa_seconds_count", outcome="answered") == 3
    # Every turn took less than 30 s here: all in the buckets up to 30.
    assert moved(before, after, "collections_turn_seconds_bucket", channel="rest", le="30.0") == 2


async def test_a_blocked_reply_is_counted_per_rule_that_fired_for_the_bot(gateway, token, rasa):
    conversation_id, secret = await open_conversation(gateway, "B000002")
    before = await scrape(gateway[0], token)
    rasa.replies.append({"messages": [{"recipient_id": "x", "text": THREAT}]})
    reply = await say(gateway, conversation_id, secret, "你们想怎么样")
    after = await scrape(gateway[0], token)
    assert THREAT not in [message["text"] for message in reply["messages"]]
    fired = check(THREAT, {"identity_verified": False, "channel": "rest"}).rules
    assert fired
    for rule in fired:
        assert moved(before, after, "collections_compliance_blocks_total", rule=rule, speaker="bot") == 1
    assert moved(before, after, "collections_compliance_blocks_total", rule=fired[0], speaker="agent") == 0


async def test_rasa_failing_is_an_error_of_its_kind_and_the_turn_still_answered(gateway, token, rasa):
    conversation_id, secret = await open_conversation(gateway, "B000003")
    before = await scrape(gateway[0], token)
    rasa.replies.append(500)
    reply = await say(gateway, conversation_id, secret, "在吗")
    after = await scrape(gateway[0], token)
    assert reply["fault"] is True
    assert moved(before, after, "collections_errors_total", kind="rasa_error") == 1
    assert moved(before, after, "collections_rasa_seconds_count", outcome="error") == 1
    assert moved(before, after, "collections_rasa_seconds_count", outcome="answered") == 0
    assert moved(before, after, "collections_turn_seconds_count", channel="rest") == 1


async def test_the_handoff_queue_depth_an_agents_take_and_their_blocked_words(gateway, token, rasa):
    client = gateway[0]
    conversation_id, secret = await open_conversation(gateway, "B000004")
    before = await scrape(client, token)
    rasa.replies.append({"handoff_reasons": ["requested"]})
    await say(gateway, conversation_id, secret, "我要找人工")
    queued = await scrape(client, token)
    assert moved(before, queued, "collections_handoff_queue_depth") == 1
    assert value(queued, "collections_handoff_oldest_wait_seconds") >= 0
    signed_in = await client.post("/api/console/login", json={"name": SUPERVISOR, "password": PASSWORD})
    agent = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    taken = await client.post(f"/api/console/conversations/{conversation_id}/take", headers=agent)
    assert taken.status_code == 200, taken.text
    after = await scrape(client, token)
    assert moved(queued, after, "collections_handoff_queue_depth") == -1
    assert moved(queued, after, "collections_handoff_wait_seconds_count", reason="requested") == 1
    assert moved(queued, after, "collections_handoff_wait_seconds_count", reason="distress") == 0
    # The agent's own words pass the same egress: a blocked message is counted for the agent, per rule.
    withheld = await client.post(f"/api/console/conversations/{conversation_id}/messages", json={"text": THREAT},
                                 headers=agent)
    assert withheld.status_code == 422, withheld.text
    blocked = await scrape(client, token)
    for rule in check(THREAT, {"identity_verified": False, "channel": "rest"}).rules:
        assert moved(after, blocked, "collections_compliance_blocks_total", rule=rule, speaker="agent") == 1
        assert moved(after, blocked, "collections_compliance_blocks_total", rule=rule, speaker="bot") == 0


async def test_labels_are_from_short_lists_never_a_borrower_or_a_conversation(gateway, token):
    conversation_id, secret = await open_conversation(gateway, "B000005")
    await say(gateway, conversation_id, secret, "你好")
    ours = {key: found for key, found in (await scrape(gateway[0], token)).items() if key[0].startswith("collections_")}
    assert ours
    labels = {name: label for _, pairs in ours for name, label in pairs}
    assert set(labels) <= {"channel", "outcome", "rule", "speaker", "reason", "kind", "le"}
    for _, pairs in ours:
        for name, label in pairs:
            assert re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", label), (name, label)
            assert not label.startswith("B0") and label != conversation_id

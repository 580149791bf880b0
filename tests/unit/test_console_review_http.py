"""Quality review over real HTTP, against the gateway as it starts (bot.asgi, every service built by bot.services):
who may use it (agents 403, reviewers and supervisors yes, reviewers take no conversations), what a reviewer sees,
that every opening is logged, the one review per item, and bad input refused with nothing saved."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from bot.audit import AuditTrail
from bot.audit_seal import load_audit_key
from bot.console.agents import AgentDirectory
from bot.recordings import call_recordings
from ledger.recordings import RecordingBook
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.quality_review import REVIEW_ZONE
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.unit.gateway_server import gateway_client

PASSWORD = "the reviewers' password"
ACCOUNTS = (("agent.a", "agent"), ("rev.a", "reviewer"), ("rev.b", "reviewer"), ("sup.a", "supervisor"))
MARKS = {"identity_before_detail": "pass", "ai_disclosed": "pass", "no_pressure": "fail", "correct_figures": "na",
         "handoff_when_asked": "na"}
# One gateway for the module (it takes a while to start).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    directory = tmp_path_factory.mktemp("review")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    settings = Settings(
        _env_file=None, redis_url=None, ledger={"database_url": url},
        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
        recordings={"directory": directory / "recordings"},
        rasa={"url": "http://127.0.0.1:9"},  # Rasa is not running: the summary falls back to the ledger's
    )
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=8)
    for name, role in ACCOUNTS:
        AgentDirectory(sessions).add(name, role, PASSWORD)
    # A conversation two hours ago in which the filter blocked the bot once, then the borrower disputed the debt.
    trail = AuditTrail(sessions, load_audit_key(settings.audit))
    at = datetime.now(UTC) - timedelta(hours=2)
    trail.append("c-review", "B000001", "chat", "borrower", "这钱不是我借的", at=at)
    trail.append("c-review", "B000001", "chat", "bot", "不还钱就去你单位", allowed=False, rules=["threat_of_visit"], at=at)
    trail.append("c-review", "B000001", "chat", "bot", "我们会把您的异议转给专人核实。", allowed=True, at=at)
    ledger = Ledger(sessions)
    ledger.record_claim("B000001", None, "c-review", "dispute", "不是我借的")
    ledger.finish_conversation("c-review", "dispute", "借款人对欠款提出异议。", True, at, "chat")
    # Its recording (as if it had been a call): a second of tone on each side.
    recording = call_recordings(settings, sessions, trail).start("c-review", "B000001", "phone", 8000)
    recording.heard(bytes(range(256)) * 62)
    recording.said(bytes(range(256)) * 62)
    asyncio.run(recording.finish())
    engine.dispose()
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as http:
        yield http


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tokens(client) -> dict[str, dict[str, str]]:
    """Bearer headers per account; cookies are dropped so no request rides on another's session."""
    headers = {}
    for name, _ in ACCOUNTS:
        response = await client.post("/api/console/login", json={"name": name, "password": PASSWORD})
        assert response.status_code == 200
        headers[name] = {"Authorization": f"Bearer {response.json()['token']}"}
    client.cookies.clear()
    return headers


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def item_id(client, tokens) -> int:
    today = datetime.now(REVIEW_ZONE).date()
    filled = await client.post("/api/console/review/fill", headers=tokens["rev.a"], json={
        "first_day": (today - timedelta(days=1)).isoformat(), "last_day": today.isoformat()})
    assert filled.status_code == 200 and filled.json() == {"added": 1}
    [item] = (await client.get("/api/console/review/items", headers=tokens["rev.a"])).json()["items"]
    return item["item_id"]


async def test_agents_are_refused_reviewers_and_supervisors_admitted(client, tokens, item_id):
    agent = tokens["agent.a"]
    for method, path, body in (("GET", "/api/console/review/items", None),
                               ("GET", f"/api/console/review/items/{item_id}", None),
                               ("POST", f"/api/console/review/items/{item_id}/review", {"marks": MARKS}),
                               ("POST", "/api/console/review/fill", {"first_day": "2026-12-01", "last_day": "2026-12-01"}),
                               ("GET", "/api/console/review/results?first_day=2026-12-01&last_day=2026-12-02", None)):
        response = await client.request(method, path, headers=agent, json=body)
        assert response.status_code == 403, path
        assert (await client.request(method, path, json=body)).status_code == 401, path
    for name in ("rev.b", "sup.a"):
        assert (await client.get("/api/console/review/items?status=all", headers=tokens[name])).status_code == 200
    assert (await client.get("/console/review")).status_code == 200
    assert (await client.get("/console/review/review.js")).status_code == 200
    assert (await client.get("/console/review/other.js")).status_code == 404


async def test_reviewers_sign_in_but_do_not_handle_conversations(client, tokens):
    reviewer = tokens["rev.a"]
    assert (await client.get("/api/console/me", headers=reviewer)).json() == {"name": "rev.a", "role": "reviewer"}
    assert (await client.get("/api/console/queue", headers=reviewer)).status_code == 403
    assert (await client.post("/api/console/conversations/c-review/take", headers=reviewer)).status_code == 403
    assert (await client.get("/api/console/live", headers=reviewer)).status_code == 403


async def test_the_reviewer_sees_transcript_reasons_and_summary_and_each_opening_is_logged(client, tokens, item_id):
    first = (await client.get(f"/api/console/review/items/{item_id}", headers=tokens["rev.a"])).json()
    assert first["conversation_id"] == "c-review"
    assert [r["rule"] for r in first["reasons"]] == ["compliance_block", "dispute"]
    assert [(line["speaker"], line["allowed"]) for line in first["transcript"]] == [
        ("borrower", None), ("bot", False), ("bot", True)]
    assert first["transcript"][1]["rules"] == ["threat_of_visit"]
    assert first["summary"] == "借款人对欠款提出异议。"  # Rasa is down: the one the action server saved
    assert first["recording"]["audio_url"] == f"/api/console/recordings/{first['recording']['recording_id']}/audio"
    assert (first["recording"]["channels"], first["recording"]["codec"]) == (2, "opus")
    assert first["account"]["name"] == "张伟先生"
    assert [(a["account_id"], a["status"]) for a in first["accounts"]] == [("A000001-1", "paused")]  # the dispute
    second = (await client.get(f"/api/console/review/items/{item_id}", headers=tokens["sup.a"])).json()
    assert [view["viewer"] for view in second["views"]][-2:] == ["rev.a", "sup.a"]


async def test_bad_input_is_refused_and_nothing_is_saved(client, tokens, item_id):
    reviewer = tokens["rev.b"]
    path = f"/api/console/review/items/{item_id}/review"
    for body in ({"marks": {**MARKS, "no_pressure": "good"}},
                 {"marks": {k: v for k, v in MARKS.items() if k != "ai_disclosed"}},
                 {"marks": {**MARKS, "tone": "pass"}},
                 {"marks": MARKS, "notes": "x" * 4001},
                 {"marks": MARKS, "notes": 12},
                 {"marks": "all pass"}):
        response = await client.post(path, headers=reviewer, json=body)
        assert response.status_code == 422, body
    assert (await client.post(path, headers=reviewer, content=b"{not json",
                              )).status_code == 422
    assert (await client.post("/api/console/review/items/999999/review", headers=reviewer,
                              json={"marks": MARKS})).status_code == 404
    assert (await client.get("/api/console/review/items/999999", headers=reviewer)).status_code == 404
    assert (await client.get("/api/console/review/items/0", headers=reviewer)).status_code == 422
    assert (await client.post("/api/console/review/fill", headers=reviewer,
                              json={"first_day": "2026-12-05", "last_day": "2026-11-01"})).status_code == 422
    pending = (await client.get("/api/console/review/items", headers=reviewer)).json()["items"]
    assert [item["item_id"] for item in pending] == [item_id]


async def test_a_second_reviewers_save_is_refused_and_the_first_stands(client, tokens, item_id):
    path = f"/api/console/review/items/{item_id}/review"
    saved = await client.post(path, headers=tokens["rev.a"], json={"marks": MARKS, "notes": "威胁去单位"})
    assert saved.status_code == 201 and saved.json()["reviewer"] == "rev.a"
    second = await client.post(path, headers=tokens["rev.b"], json={"marks": {**MARKS, "no_pressure": "pass"}})
    assert second.status_code == 409 and second.json() == {"error": "already_reviewed", "reviewer": "rev.a"}
    [done] = (await client.get("/api/console/review/items?status=reviewed", headers=tokens["rev.b"])).json()["items"]
    assert done["review"]["marks"]["no_pressure"] == "fail" and done["review"]["notes"] == "威胁去单位"
    today = datetime.now(REVIEW_ZONE).date()
    results = (await client.get(f"/api/console/review/results?first_day={today - timedelta(days=1)}&last_day={today}",
                                headers=tokens["sup.a"])).json()["results"]
    assert [(r["agent"], r["script"], r["chosen"], r["reviewed"], r["failed"]) for r in results] == [
        ("bot", "inbound", 1, 1, 1)]


async def test_a_recording_streams_by_range_to_reviewers_and_supervisors_only_each_fetch_logged(client, tokens,
                                                                                                 item_id, settings):
    recording = (await client.get(f"/api/console/review/items/{item_id}", headers=tokens["rev.a"])).json()["recording"]
    path, size = recording["audio_url"], recording["size_bytes"]
    assert (await client.get(path, headers=tokens["agent.a"])).status_code == 403
    assert (await client.get(path)).status_code == 401
    missing = f"/api/console/recordings/{recording['recording_id'] + 1000}/audio"
    assert (await client.get(missing, headers=tokens["rev.a"])).status_code == 404
    whole = await client.get(path, headers=tokens["rev.b"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/ogg" and len(whole.content) == size
    assert hashlib.sha256(whole.content).hexdigest() == recording["sha256"]
    for asked, first, last in (("bytes=10-", 10, size - 1), ("bytes=-50", size - 50, size - 1),
                               ("bytes=5-9", 5, 9), (f"bytes=0-{size * 2}", 0, size - 1)):
        part = await client.get(path, headers={**tokens["sup.a"], "Range": asked})
        assert part.status_code == 206 and part.content == whole.content[first:last + 1], asked
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
    refused = await client.get(path, headers={**tokens["sup.a"], "Range": f"bytes={size}-"})
    assert refused.status_code == 416 and refused.headers["content-range"] == f"bytes */{size}"
    # Five fetches returned audio, each logged; the refusals and the 416 were not playbacks.
    again = (await client.get(f"/api/console/review/items/{item_id}", headers=tokens["rev.a"])).json()
    assert "played by" not in str(again["transcript"])  # the chain's notes are not the conversation
    playbacks = await asyncio.to_thread(_playbacks, settings, recording["recording_id"])
    assert [(viewer, byte_range) for viewer, byte_range, _ in playbacks] == [
        ("rev.b", f"0-{size - 1}/{size}"), ("sup.a", f"10-{size - 1}/{size}"), ("sup.a", f"{size - 50}-{size - 1}/{size}"),
        ("sup.a", f"5-9/{size}"), ("sup.a", f"0-{size - 1}/{size}")]


def _playbacks(settings: Settings, recording_id: int) -> list:
    engine = make_engine(settings.ledger.url())
    try:
        return RecordingBook(make_session_factory(engine)).playbacks_of(recording_id)
    finally:
        engine.dispose()

"""The payments API over real HTTP: the gateway as it starts (bot.asgi, every service built by bot.services,
the key file created), served by uvicorn in this test's event loop, against a real SQLite ledger."""
from __future__ import annotations

import asyncio
import stat
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from configuration.settings import Settings
from tests.unit.gateway_server import gateway_client
from ledger.campaign_records import CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import LoanAccount
from tests.unit.ledger_accounts import add_account

pytestmark = pytest.mark.asyncio(loop_scope="module")
PAID_AT = "2026-11-23T10:00:00+08:00"


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    directory = tmp_path_factory.mktemp("payments")
    url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    for account_id in ("A1", "A2", "A3", "A4"):
        add_account(sessions, account_id, fees=5_000, interest=20_000, principal=100_000)
    engine.dispose()
    return Settings(
        _env_file=None, redis_url=None,
        ledger={"database_url": url},
        gateway={"payments_api_key_file": directory / "payments.key", "link_key_file": directory / "link.key",
                 "max_request_body_bytes": 4096},
        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
        rasa={"url": "http://127.0.0.1:9"},  # payments never ask Rasa
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as http:
        yield http


@pytest.fixture(scope="module")
def lender(settings) -> dict[str, str]:
    """The lender's header: the key file's text, as the README tells the lender."""
    return {"Authorization": f"Bearer {settings.gateway.payments_api_key_file.read_text().strip()}"}


def payment(**change) -> dict:
    return {"payment_id": "PAY-1", "account_id": "A1", "amount_cents": 30_000, "currency": "CNY",
            "paid_at": PAID_AT} | change


def balance(settings, account_id):
    engine = make_engine(settings.ledger.database_url)
    with make_session_factory(engine)() as session:
        found = session.get(LoanAccount, account_id).balance_cents
    engine.dispose()
    return found


async def test_the_key_file_is_created_private_at_start(client, settings):
    path = settings.gateway.payments_api_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64


@pytest.mark.parametrize("authorization", [
    None, "Bearer wrong-key-of-some-length", "Bearer {key}0", "Bearer {short}", "Basic {key}", "Bearer", "{key}"])
async def test_without_the_right_key_nothing_is_read_or_recorded(client, settings, lender, authorization):
    key = lender["Authorization"].removeprefix("Bearer ")
    headers = {} if authorization is None else {"Authorization": authorization.format(key=key, short=key[:-1])}
    for body in (payment(payment_id="PAY-UNAUTH"), "{not json"):
        sent = await client.post("/api/payments", headers=headers,
                                 **({"json": body} if isinstance(body, dict) else {"content": body}))
        assert sent.status_code == 401 and sent.headers["www-authenticate"] == "Bearer"
        assert sent.json()["error"] == "invalid_api_key"
    assert (await client.get("/api/payments/PAY-UNAUTH", headers=headers)).status_code == 401
    assert (await client.get("/api/payments/PAY-UNAUTH", headers=lender)).status_code == 404


async def test_a_payment_is_recorded_once_and_a_retry_returns_the_same_answer(client, settings, lender):
    first = await client.post("/api/payments", json=payment(), headers=lender)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["allocation"] == [{"component": "fees", "amount_cents": 5_000},
                                  {"component": "interest", "amount_cents": 20_000},
                                  {"component": "principal", "amount_cents": 5_000}]
    assert (body["applied_cents"], body["credit_cents"], body["balance_after_cents"]) == (30_000, 0, 95_000)
    assert body["paid_at"] == "2026-11-23T02:00:00+00:00" and body["source"] == "api"
    retry = await client.post("/api/payments", json=payment(paid_at="2026-11-23T02:00:00Z"), headers=lender)
    assert retry.status_code == 200 and retry.json() == body
    read = await client.get("/api/payments/PAY-1", headers=lender)
    assert read.status_code == 200 and read.json() == body
    assert balance(settings, "A1") == 95_000

    conflict = await client.post("/api/payments", json=payment(amount_cents=30_001), headers=lender)
    assert conflict.status_code == 409 and conflict.json()["error"] == "payment_conflict"
    assert balance(settings, "A1") == 95_000


async def test_concurrent_deliveries_make_one_payment(client, settings, lender):
    sent = await asyncio.gather(*(client.post("/api/payments", json=payment(payment_id="PAY-RACE", account_id="A2"),
                                              headers=lender) for _ in range(10)))
    assert sorted(response.status_code for response in sent) == [200] * 9 + [201]
    assert len({response.text for response in sent}) == 1
    assert balance(settings, "A2") == 95_000


def segment_history(settings, borrower_id):
    engine = make_engine(settings.ledger.database_url)
    found = CampaignRecords(make_session_factory(engine)).segment_history(borrower_id)
    engine.dispose()
    return [(change.segment, change.reason) for change in found]


async def test_a_payment_places_the_borrower_again_at_once_with_the_reason(client, settings, lender):
    """Not at the campaign worker's next tick: the answer to the lender comes after the move is on the record."""
    assert segment_history(settings, "B-A4") == []
    part = await client.post("/api/payments", json=payment(payment_id="PAY-SEG-1", account_id="A4",
                                                           amount_cents=25_000), headers=lender)
    assert part.status_code == 201
    [(segment, reason)] = segment_history(settings, "B-A4")
    assert segment != "closed" and reason.startswith("payment PAY-SEG-1 received; days past due ")
    assert "balance 1000.00" in reason  # what the borrower looked like after the payment
    retry = await client.post("/api/payments", json=payment(payment_id="PAY-SEG-1", account_id="A4",
                                                            amount_cents=25_000), headers=lender)
    assert retry.status_code == 200 and len(segment_history(settings, "B-A4")) == 1  # nothing new happened
    rest = await client.post("/api/payments", json=payment(payment_id="PAY-SEG-2", account_id="A4",
                                                           amount_cents=100_000), headers=lender)
    assert rest.json()["balance_after_cents"] == 0
    assert segment_history(settings, "B-A4")[-1] == ("closed", "payment PAY-SEG-2 received; nothing left to collect")


@pytest.mark.parametrize(("body", "where"), [
    (payment(amount_cents=300.0), "amount_cents"),  # a float, even a whole one
    (payment(amount_cents=300.5), "amount_cents"),
    (payment(amount_cents="30000"), "amount_cents"),
    (payment(amount_cents=-100), "amount_cents"),
    (payment(amount_cents=0), "amount_cents"),
    (payment(amount_cents=10**20), "amount_cents"),
    (payment(amount_cents=True), "amount_cents"),
    (payment(paid_at="2026-11-23T10:00:00"), "paid_at"),  # no offset
    (payment(paid_at=1763863200), "paid_at"),  # a Unix time is not ISO 8601
    (payment(paid_at="yesterday"), "paid_at"),
    (payment(payment_id="1' OR '1'='1"), "payment_id"),
    (payment(payment_id="PAY-1; DROP TABLE payments;--"), "payment_id"),
    (payment(payment_id=""), "payment_id"),
    (payment(payment_id="x" * 65), "payment_id"),
    (payment(currency="cny"), "currency"),
    (payment(account_id=""), "account_id"),
    (payment(amount=300), "amount"),  # unknown field: the API takes amount_cents
    ({"payment_id": "PAY-9"}, "account_id"),
])
async def test_malformed_payments_are_refused_with_where(client, settings, lender, body, where):
    sent = await client.post("/api/payments", json=body, headers=lender)
    assert sent.status_code == 422, sent.text
    assert sent.json()["error"] == "invalid_request"
    assert where in {part for problem in sent.json()["detail"] for part in problem["loc"]}
    assert "DROP TABLE" not in sent.text  # the input is never echoed
    assert balance(settings, "A3") == 125_000


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b"null", "{\"payment_id\": \"\xff\"}".encode("latin-1")])
async def test_bodies_that_are_not_a_json_object_are_refused(client, lender, raw):
    sent = await client.post("/api/payments", content=raw, headers=lender | {"Content-Type": "application/json"})
    assert sent.status_code == 422 and sent.json()["error"] == "invalid_request"


async def test_refusals_from_the_ledger(client, settings, lender):
    unknown = await client.post("/api/payments", json=payment(payment_id="PAY-U", account_id="NO-SUCH"), headers=lender)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_account"
    currency = await client.post("/api/payments", json=payment(payment_id="PAY-C", account_id="A3", currency="USD"),
                                 headers=lender)
    assert currency.status_code == 422 and currency.json()["error"] == "currency_mismatch"
    future = await client.post("/api/payments", json=payment(payment_id="PAY-F", account_id="A3",
                                                             paid_at="2999-01-01T00:00:00+00:00"), headers=lender)
    assert future.status_code == 422 and future.json()["error"] == "paid_at_in_future"
    for payment_id in ("PAY-U", "PAY-C", "PAY-F", "1'%20OR%20'1'='1", "..%2F..%2Fetc"):
        assert (await client.get(f"/api/payments/{payment_id}", headers=lender)).status_code == 404
    assert balance(settings, "A3") == 125_000


async def test_an_oversized_body_is_refused_unread(client, settings, lender):
    sent = await client.post("/api/payments", json=payment(payment_id="PAY-BIG", account_id="A3", note="x" * 5000),
                             headers=lender)
    assert sent.status_code == 413
    assert balance(settings, "A3") == 125_000

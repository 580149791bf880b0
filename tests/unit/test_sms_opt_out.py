"""A borrower texts STOP (or 退订) to our SMS sender: the gateway as it starts (bot.asgi, real HTTP) takes Twilio's
signed webhook, and the worker as `python -m campaigns` builds it sends that number no more SMS, the refusal on the
record; START clears only that. The carrier's own word (Twilio 21610) is honoured the same way. A forged webhook
records nothing."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from bot.channels.sms_inbound import WEBHOOK_PATH
from campaigns.services import campaign_services
from configuration.settings import Settings
from ledger.campaign_records import ContactPlan
from ledger.db import make_engine, make_session_factory
from ledger.models import Borrower, SmsOptOut
from ledger.repository import Ledger
from tests.fakes.sms_api import FakeTwilioSms
from tests.unit.gateway_server import gateway_client
from tests.unit.seeded_ledger import seeded_sqlite

ACCOUNT_SID, AUTH_TOKEN, SENDER = "AC0123456789abcdef0123456789abcdef", "twilio-token-for-tests", "+15005550006"
CHAT_PAGE = "https://chat.example.com/chat"
FIXED_NOW = datetime.fromisoformat("2026-11-23T10:30:00+08:00")
NUMBERS = {"B000001": "+8613800015210", "B000002": "+8613900027781", "B000003": "+8618600030932"}
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def fake_sms():
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def ledger_setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sms-opt-out")
    with seeded_sqlite(directory, count=6, us_count=0) as (url, sessions):
        with sessions.begin() as session:  # the lender's borrowers here: a real provider may reach them
            session.execute(update(Borrower).values(source="portfolio"))
    return directory, url


def _settings(directory, url, fake: FakeTwilioSms, **sections) -> Settings:
    return Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                    audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                    rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": FIXED_NOW,
                                                                 "link_key_file": directory / "link.key"},
                    messenger={"sms_account_sid": ACCOUNT_SID, "sms_auth_token": AUTH_TOKEN, "sms_from": SENDER,
                               "sms_api_base": fake.base_url, "chat_page_url": CHAT_PAGE}, **sections)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def webhook(ledger_setup, fake_sms) -> AsyncIterator[str]:
    directory, url = ledger_setup
    async with gateway_client(_settings(directory, url, fake_sms)) as http:
        yield f"{http.base_url}{WEBHOOK_PATH}"


@pytest.fixture
def ledger(ledger_setup):
    engine = make_engine(ledger_setup[1])
    yield Ledger(make_session_factory(engine))
    engine.dispose()


def _opt_outs(ledger: Ledger) -> list[tuple]:
    with ledger._sessions() as session:
        return [(row.number, row.source, row.keyword, row.cleared_keyword)
                for row in session.scalars(select(SmsOptOut).order_by(SmsOptOut.id))]


async def _text(fake: FakeTwilioSms, webhook: str, sender: str, body: str, **kwargs):
    return await asyncio.to_thread(fake.text_us, webhook, sender, body, **kwargs)


async def _contact(ledger_setup, fake, unit_redis_url: str, borrower_id: str, key: str):
    directory, url = ledger_setup
    settings = _settings(directory, url, fake, campaigns={"redis_url": unit_redis_url})
    async with campaign_services(settings) as services:
        return await services.contactor.contact(ContactPlan(
            borrower_id, f"A{borrower_id[1:]}-1", "early_overdue", "dpd_1_30", key, "message", "overdue_gentle"))


async def test_a_forged_or_unsigned_text_is_refused_and_records_nothing(webhook, fake_sms, ledger):
    forged = await _text(fake_sms, webhook, NUMBERS["B000001"], "STOP", signature="bm90IFR3aWxpbydzIHNpZ25hdHVyZQ==")
    unsigned = await _text(fake_sms, webhook, NUMBERS["B000001"], "STOP", signature="")
    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert _opt_outs(ledger) == []


async def test_a_number_on_no_file_gets_200_and_nothing_is_recorded(webhook, fake_sms, ledger):
    answer = await _text(fake_sms, webhook, "+8613700000000", "STOP")
    assert answer.status_code == 200 and "<Response" in answer.text
    assert _opt_outs(ledger) == []


async def test_other_words_are_left_alone(webhook, fake_sms, ledger):
    assert (await _text(fake_sms, webhook, NUMBERS["B000002"], "stop calling me at work please")).status_code == 200
    assert _opt_outs(ledger) == []


async def test_stop_texted_to_our_sender_stops_every_sms_to_that_number(webhook, fake_sms, ledger, ledger_setup,
                                                                        unit_redis_url):
    assert (await _text(fake_sms, webhook, NUMBERS["B000001"], " Stop! ")).status_code == 200
    assert _opt_outs(ledger) == [(NUMBERS["B000001"], "sms_keyword", "STOP", None)]
    sent_before = len(fake_sms.requests)
    refused = await _contact(ledger_setup, fake_sms, unit_redis_url, "B000001", "sms-opt-out:after-stop")
    assert (refused.status, refused.reason) == ("refused", "sms_opted_out")
    assert len(fake_sms.requests) == sent_before  # nothing asked of the provider
    assert not ledger.get_borrower("B000001").do_not_contact  # a call is another matter: SMS only


@pytest.mark.parametrize("word", ["退订", "td", "UNSUBSCRIBE", "quit"])
async def test_the_chinese_and_other_stop_words_are_honoured(webhook, fake_sms, ledger, word):
    number = NUMBERS["B000002"]
    ledger.clear_sms_opt_out(number, "START")
    assert (await _text(fake_sms, webhook, number, word)).status_code == 200
    assert ledger.sms_opted_out(number)
    assert _opt_outs(ledger)[-1][:3] == (number, "sms_keyword", word.upper())


async def test_start_clears_the_sms_opt_out_and_nothing_else(webhook, fake_sms, ledger, ledger_setup, unit_redis_url):
    number = NUMBERS["B000003"]
    await _text(fake_sms, webhook, number, "CANCEL")
    ledger.set_do_not_contact("B000003", "requested_in_conversation", "chat:borrower")
    assert (await _text(fake_sms, webhook, number, "START")).status_code == 200
    assert not ledger.sms_opted_out(number)
    assert ledger.is_do_not_contact("B000003")  # what the borrower asked for in a conversation stands
    assert _opt_outs(ledger)[-1] == (number, "sms_keyword", "CANCEL", "START")
    # UNSTOP likewise, for the first borrower: texts go again (the worker's contact is sent, to that number).
    assert (await _text(fake_sms, webhook, NUMBERS["B000001"], "unstop")).status_code == 200
    sent = await _contact(ledger_setup, fake_sms, unit_redis_url, "B000001", "sms-opt-out:after-unstop")
    assert (sent.status, sent.reason) == ("sent", "sms")
    assert fake_sms.delivered[-1]["To"] == NUMBERS["B000001"]


async def test_the_carriers_opt_out_is_recorded_and_honoured(fake_sms, ledger, ledger_setup, unit_redis_url):
    """The number texted STOP where we could not see it (another of the lender's systems, Twilio's console):
    Twilio refuses the send with 21610, and that is the opt-out."""
    number = "+8613800050000"
    with ledger._sessions.begin() as session:
        session.get(Borrower, "B000005").phone = number
    fake_sms.unsubscribe(number)
    refused = await _contact(ledger_setup, fake_sms, unit_redis_url, "B000005", "sms-opt-out:carrier-1")
    assert (refused.status, refused.reason) == ("refused", "sms_opted_out")
    assert _opt_outs(ledger)[-1] == (number, "carrier_opt_out", "", None)
    asked = len(fake_sms.requests)
    again = await _contact(ledger_setup, fake_sms, unit_redis_url, "B000005", "sms-opt-out:carrier-2")
    assert (again.status, again.reason) == ("refused", "sms_opted_out") and len(fake_sms.requests) == asked


async def test_the_webhook_is_off_without_an_sms_provider(ledger_setup):
    directory, url = ledger_setup
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"})
    async with gateway_client(settings) as http:
        assert (await http.post(WEBHOOK_PATH, data={"From": NUMBERS["B000001"], "Body": "STOP"})).status_code == 404

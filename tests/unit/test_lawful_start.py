"""A lender imports its portfolio, sets a real provider and runs the start command: no made-up borrower is added or
contacted, and no /demo page shows anyone's reminders or calls. Without a real provider the demo works as before."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from campaigns.messenger import Invitation, NoRecipient, make_messenger
from campaigns.services import campaign_services
from configuration.settings import Settings
from ledger.__main__ import main as ledger_cli
from ledger.campaign_records import ContactPlan
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Borrower
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.fakes.sms_api import FakeTwilioSms

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ACCOUNT_SID, AUTH_TOKEN, SENDER = "AC0123456789abcdef0123456789abcdef", "twilio-token-for-tests", "+15005550006"
LENDER_CHAT_PAGE = "https://chat.example.com/chat"  # a link naming a lender is refused before verification
SMS_ENV = {"COLLECTIONS_MESSENGER_SMS_ACCOUNT_SID": ACCOUNT_SID, "COLLECTIONS_MESSENGER_SMS_AUTH_TOKEN": AUTH_TOKEN,
           "COLLECTIONS_MESSENGER_SMS_FROM": SENDER}
FIXED_NOW = datetime.fromisoformat("2026-11-23T10:30:00+08:00")
DEMO_PAGES = ("/demo/inbox", "/demo/inbox/messages", "/demo/phone", "/demo/phone/rings", "/demo/webchat",
              "/demo/voice")


def _sms_only(**sections) -> Settings:
    messenger = {"sms_account_sid": ACCOUNT_SID, "sms_auth_token": AUTH_TOKEN, "sms_from": SENDER,
                 "chat_page_url": LENDER_CHAT_PAGE, **sections.pop("messenger", {})}
    return Settings(_env_file=None, messenger=messenger, **sections)


def _borrowers(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Borrower))
    finally:
        engine.dispose()


@pytest.fixture
def clean_env(monkeypatch):
    for name in SMS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_start_command_seeds_an_empty_ledger_for_the_demo_once(tmp_path, clean_env, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    assert ledger_cli(["--url", url, "seed", "--count", "10", "--us-count", "2", "--for-demo"]) == 0
    assert capsys.readouterr().out.strip() == "seeded 12 borrowers, 12 accounts"
    with make_session_factory(make_engine(url))() as session:
        assert set(session.scalars(select(Borrower.source))) == {"demo"}
    assert ledger_cli(["--url", url, "seed", "--count", "20", "--for-demo"]) == 0
    assert "the ledger already holds 12 borrowers" in capsys.readouterr().out
    assert _borrowers(url) == 12


def test_a_lenders_imported_portfolio_gets_no_demo_borrowers(tmp_path, clean_env, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    assert ledger_cli(["--url", url, "import", str(FIXTURES / "portfolio_good.csv")]) == 0
    imported = _borrowers(url)
    assert ledger_cli(["--url", url, "seed", "--count", "1000", "--for-demo"]) == 0
    assert f"already holds {imported} borrowers" in capsys.readouterr().out
    assert _borrowers(url) == imported
    with make_session_factory(make_engine(url))() as session:
        assert set(session.scalars(select(Borrower.source))) == {"portfolio"}


def test_with_a_real_sms_provider_nothing_is_seeded_even_into_an_empty_ledger(tmp_path, clean_env, capsys):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    for name, value in SMS_ENV.items():
        clean_env.setenv(name, value)
    assert ledger_cli(["--url", url, "seed", "--count", "10", "--for-demo"]) == 0  # the start command goes on
    assert "not seeding demo borrowers: a real provider is configured (SMS" in capsys.readouterr().out
    assert ledger_cli(["--url", url, "seed", "--count", "10"]) == 1  # asked for by hand: refused, saying why
    assert "a real provider is configured" in capsys.readouterr().err
    assert _borrowers(url) == 0


def test_the_start_script_seeds_only_for_the_demo():
    start = (Path(__file__).resolve().parents[2] / "scripts" / "start.sh").read_text()
    seeds = [line for line in start.splitlines() if "-m ledger seed" in line]
    assert seeds == [".venv/bin/python -m ledger seed --count 1000 --for-demo"]


@pytest.mark.parametrize("real", [
    pytest.param({"messenger": {"sms_account_sid": ACCOUNT_SID, "sms_auth_token": AUTH_TOKEN, "sms_from": SENDER,
                                "chat_page_url": LENDER_CHAT_PAGE}}, id="sms only"),
    pytest.param({"dialer": {"account_sid": ACCOUNT_SID, "from_number": "+864000000000"}}, id="carrier only"),
    pytest.param({"wechat": {"app_id": "wx1", "app_secret": "s"},
                  "messenger": {"wechat_template_id": "tmpl", "chat_page_url": LENDER_CHAT_PAGE}}, id="wechat only"),
])
def test_every_demo_page_is_off_once_any_provider_is_real(real):
    settings = Settings(_env_file=None, **real)
    assert not settings.demo
    # No `with`: the lifespan never starts; a route that is not there answers 404 before any service is asked.
    client = TestClient(create_app(settings))
    assert {path: client.get(path).status_code for path in DEMO_PAGES} == {path: 404 for path in DEMO_PAGES}


def test_the_demo_pages_are_there_while_no_provider_is_real():
    client = TestClient(create_app(Settings(_env_file=None)))
    pages = ("/demo/inbox", "/demo/phone", "/demo/voice", "/demo/webchat")  # the pages themselves need no service
    assert {path: client.get(path).status_code for path in pages} == {path: 200 for path in pages}


def test_with_sms_real_a_wechat_reminder_goes_nowhere_instead_of_the_demo_inbox(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=4, us_count=0, as_of=date(2026, 11, 23))
    messenger = make_messenger(_sms_only(), Ledger(sessions), sessions)
    with pytest.raises(NoRecipient) as refused:
        asyncio.run(messenger.send(Invitation("B000001", "wechat", "zh", "overdue", LENDER_CHAT_PAGE + "?link=x")))
    assert refused.value.reason == "no_provider"
    engine.dispose()


def test_real_reminders_must_not_link_to_the_demo_chat_page(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    with pytest.raises(ValueError, match="COLLECTIONS_MESSENGER_CHAT_PAGE_URL .* demo page"):
        make_messenger(_sms_only(messenger={"chat_page_url": "http://127.0.0.1:8000/demo/webchat"}),
                       Ledger(sessions), sessions)
    engine.dispose()


def test_the_worker_refuses_demo_borrowers_and_texts_the_lenders_once_sms_is_real(tmp_path, unit_redis_url):
    """The worker as `python -m campaigns` builds it (campaign_services), on a ledger the old start command seeded
    before the lender imported its portfolio: the seeded borrower's contact is refused with the reason, nothing
    reaches the SMS provider for them; the lender's borrower gets the SMS."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=4, us_count=0, as_of=date(2026, 11, 23))
    assert ledger_cli(["--url", url, "import", str(FIXTURES / "portfolio_good.csv")]) == 0
    with sessions.begin() as session:  # the fixture's numbers are masked: give the lender's borrower a real one
        session.get(Borrower, "C100003").phone = "+1-202-555-0199"
    files = {"key_file": tmp_path / "audit.key", "anchor_file": tmp_path / "audit.anchor"}

    async def contact_both(sms_api_base: str):
        settings = _sms_only(messenger={"sms_api_base": sms_api_base}, ledger={"database_url": url},
                             campaigns={"redis_url": unit_redis_url}, audit=files,
                             gateway={"link_key_file": tmp_path / "link.key", "fixed_now": FIXED_NOW})
        async with campaign_services(settings) as services:
            demo = await services.contactor.contact(ContactPlan(
                "B000001", "A000001-1", "early_overdue", "dpd_1_30", "lawful-start:demo", "message", "overdue_gentle"))
            lender = await services.contactor.contact(ContactPlan(
                "C100003", "CA100003-1", "late_overdue", "dpd_90_plus", "lawful-start:lender", "message",
                "overdue_firm"))
        return demo, lender

    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        demo, lender = asyncio.run(contact_both(fake.base_url))
    assert (demo.status, demo.reason) == ("refused", "demo_borrower_with_real_provider")
    assert (lender.status, lender.reason) == ("sent", "sms")
    assert [form["To"] for form in fake.delivered] == ["+12025550199"]
    engine.dispose()


def test_the_documented_demo_console_passwords_are_not_created_once_a_provider_is_real(tmp_path, clean_env, capsys):
    from bot.console.__main__ import main as console_cli
    from bot.console.agents import AgentDirectory

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    for name, value in SMS_ENV.items():
        clean_env.setenv(name, value)
    assert console_cli(["--url", url, "seed-demo"]) == 0  # the start command goes on
    assert "no demo console accounts: a real provider is configured" in capsys.readouterr().out
    engine = make_engine(url)
    assert AgentDirectory(make_session_factory(engine)).get("supervisor1") is None
    for name in SMS_ENV:
        clean_env.delenv(name)
    assert console_cli(["--url", url, "seed-demo"]) == 0
    assert AgentDirectory(make_session_factory(engine)).get("supervisor1") is not None
    engine.dispose()


def test_a_reminder_sent_by_hand_does_not_reach_a_demo_borrower_once_sms_is_real(tmp_path):
    """campaigns.send_reminder asks no contact policy: the messenger itself refuses the made-up borrower."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=4, us_count=0, as_of=date(2026, 11, 23))
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        messenger = make_messenger(_sms_only(messenger={"sms_api_base": fake.base_url}), Ledger(sessions), sessions)
        with pytest.raises(NoRecipient) as refused:
            asyncio.run(messenger.send(Invitation("B000001", "sms", "zh", "overdue", LENDER_CHAT_PAGE + "?link=x")))
    assert refused.value.reason == "demo_borrower_with_real_provider" and fake.requests == []
    engine.dispose()


def test_the_start_command_offers_the_demo_borrowers_chat_only_when_the_demo_portfolio_is_there(tmp_path, clean_env):
    """A lender who imported its portfolio and starts without a real provider (the demo phone and inbox) is not told
    to chat as 张伟, who is not in its ledger; the demo's start is."""
    from bot.launcher import _how_to_reach

    lenders, demo = (f"sqlite:///{tmp_path / name}" for name in ("lender.sqlite3", "demo.sqlite3"))
    assert ledger_cli(["--url", lenders, "import", str(FIXTURES / "portfolio_good.csv")]) == 0
    assert ledger_cli(["--url", demo, "seed", "--count", "5", "--for-demo"]) == 0
    told = {url: _how_to_reach("http://127.0.0.1:8000", Settings(_env_file=None, ledger={"database_url": url},
                                                               gateway={"link_key": "a link key for this test"}))
            for url in (lenders, demo)}
    assert "张伟" not in told[lenders] and "python -m bot.links <borrower id> --gateway" in told[lenders]
    assert "张伟" in told[demo] and "/demo/webchat?link=" in told[demo]
    for said in told.values():
        assert "/demo/phone" in said and "/demo/inbox" in said

"""The issue's "done means", in a browser: a lender imports a portfolio CSV (the README's `python -m ledger import`)
into an empty ledger and starts the system as the start command does (bot.launcher: action server, Rasa, gateway and
the campaign worker, no real carrier, SMS or WeChat provider, so the demo ones are on). The worker calls the overdue
borrower on /demo/phone: the page rings, a person answers, says who they are into the microphone (fixture audio),
keys the ID digits on the page's keypad and hears the reason for the call; the call and its outcome are on the
ledger. The borrower whose due date is tomorrow gets a reminder in /demo/inbox, whose link opens a chat that is that
reminder's.

Its own stack (its own ledger, Redis and Rasa process), because the worker contacts everyone due in the ledger it
is given: on the shared stack's it would call the other tests' borrowers. The clock is fixed at a Monday morning in
the borrowers' preferred hours and the worker ticks every 5 s (the least it may), so "within the hour" is seconds.
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.launcher import Stack, StackConfig
from ledger.__main__ import main as ledger_cli
from ledger.campaign_records import CampaignRecords
from ledger.db import make_engine, make_session_factory
from ledger.models import ConversationRecord
from ledger.repository import Ledger
from tests.browser.conftest import HEARD_TIMEOUT_MS, TURN_TIMEOUT_MS
from tests.e2e.chat import ARRIVAL_SECRETS_ENV
from tests.stack import METRICS_TEST_TOKEN, PrivateRedis, _free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Monday 23 November 2026, 10:30 in Shanghai: inside the reminder's and the calls' preferred hours.
NOW = "2026-11-23T10:30:00+08:00"
TODAY = datetime.fromisoformat(NOW).date()
DAYS_OVERDUE = 10
CALLED, REMINDED = "C300001", "C300002"
CALLED_ID_LAST4 = "4721"
RING_TIMEOUT_MS = 60_000  # the worker's first tick comes within its 5 s interval of its start; the page polls every 2 s
DEADLINE_SECONDS = 60  # waits for the ledger end on the outcome; the deadline only stops a hang


def _portfolio(due_overdue: date, due_tomorrow: date) -> str:
    """The lender's file: a tier-C borrower ten days overdue (the strategy calls first) and one due tomorrow (a
    reminder message)."""
    return (
        "borrower_id,full_name,honorific,id_number_masked,date_of_birth,phone,timezone,language,account_id,"
        "lender_name,product,principal,interest,fees,due_date,days_past_due,risk_tier\n"
        f"{CALLED},林晓,女士,110101********{CALLED_ID_LAST4},1990-05-17,13800138001,Asia/Shanghai,zh,CA300001-1,"
        f"安信消费金融,信用消费贷,8000.00,320.50,150,{due_overdue.isoformat()},{DAYS_OVERDUE},C\n"
        f"{REMINDED},周强,先生,310101********5630,1985-03-02,13900139002,Asia/Shanghai,zh,CA300002-1,"
        f"安信消费金融,信用消费贷,3000,90,0,{due_tomorrow.isoformat()},0,A\n")


@pytest.fixture(scope="module")
def lenders_stack(model_path, tmp_path_factory) -> Iterator[tuple[Stack, str]]:
    directory = tmp_path_factory.mktemp("lender")
    ledger_url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    portfolio = directory / "portfolio.csv"
    portfolio.write_text(_portfolio(TODAY - timedelta(days=DAYS_OVERDUE), TODAY + timedelta(days=1)), encoding="utf-8")
    assert ledger_cli(["--url", ledger_url, "import", str(portfolio)]) == 0  # `python -m ledger import`, in-process
    campaign_redis = PrivateRedis(directory, durable=False)  # what scripts/redis.sh gives the start command
    campaign_redis.start()
    config = StackConfig(
        model=model_path, rasa_port=_free_port(), action_port=_free_port(), gateway_port=_free_port(),
        ledger_url=ledger_url, fixed_now=NOW, log_dir=directory / "logs",
        campaign_worker=True, campaign_redis_url=campaign_redis.url, campaign_metrics_port=_free_port(),
        extra_env={
            **ARRIVAL_SECRETS_ENV,  # the link key, so no key file is written under var/
            "COLLECTIONS_METRICS_TOKEN": METRICS_TEST_TOKEN,
            "COLLECTIONS_AUDIT_KEY_FILE": str(directory / "audit.key"),
            "COLLECTIONS_AUDIT_ANCHOR_FILE": str(directory / "audit.anchor"),
            "COLLECTIONS_RECORDINGS_DIRECTORY": str(directory / "recordings"),
            "COLLECTIONS_CAMPAIGNS_TICK_SECONDS": "5",
        })
    stack = Stack(config)
    try:
        stack.start()
        yield stack, ledger_url
    finally:
        stack.stop()
        campaign_redis.stop()


def _wait_for(condition, what: str, stack: Stack):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (result := condition()):
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                             for log in sorted(Path(stack.config.log_dir).glob("*.log")))
            pytest.fail(f"{what} within {DEADLINE_SECONDS} s\n{logs}")
        time.sleep(0.2)
    return result


def test_the_worker_calls_the_overdue_borrower_on_the_demo_phone_and_reminds_the_other_in_the_demo_inbox(
        lenders_stack, voice_page: Page, screenshot):
    stack, ledger_url = lenders_stack
    sessions = make_session_factory(make_engine(ledger_url))
    ledger, records = Ledger(sessions), CampaignRecords(sessions)
    phone = voice_page
    phone.goto(f"{stack.gateway_url}/demo/phone")

    ring = phone.locator("#rings li", has_text=CALLED)
    expect(ring).to_be_visible(timeout=RING_TIMEOUT_MS)  # placed by the worker, not by the test
    expect(phone.locator("#rings li")).to_have_count(1)  # the borrower due tomorrow gets a message, not a call
    ring.get_by_role("button", name="接听").click()
    expect(phone.locator("#status")).to_have_text("通话中", timeout=TURN_TIMEOUT_MS)
    # The bot speaks first, naming no debt; the microphone answers that it is the borrower ...
    expect(phone.locator(".line.bot").first).to_contain_text("AI自动应答", timeout=TURN_TIMEOUT_MS)
    expect(phone.locator(".line.borrower").first).to_be_visible(timeout=HEARD_TIMEOUT_MS)
    expect(phone.locator(".line.bot", has_text="后四位")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    # ... who keys the last four of the ID, and hears the reason for the call: the gentle overdue script's.
    for digit in CALLED_ID_LAST4:
        phone.locator("#keypad button", has_text=digit).click()
    expect(phone.locator(".line.bot", has_text="核实通过")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(phone.locator(".line.bot", has_text=f"已逾期{DAYS_OVERDUE}天")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    screenshot(phone, "call")
    phone.locator("#hang-up").click()
    expect(phone.locator("#status")).to_have_text("通话已结束")

    # On the ledger: the campaign's call, answered, and the policy's record of the call from answer to end.
    call = _wait_for(lambda: [c for c in records.contacts_for(CALLED) if c.status == "answered"],
                     "the answered call on the ledger", stack)[0]
    assert (call.campaign, call.channel, call.script) == ("early_overdue", "call", "overdue_gentle"), call
    outcomes = _wait_for(lambda: (o := [a.outcome for a in ledger.contact_attempts_for(CALLED)
                                        if a.conversation_id == call.attempt_id]) and "call_completed" in o and o,
                         "the call's end on the ledger", stack)
    assert outcomes == ["allowed_by_policy", "answered", "right_party_verified", "call_completed"], outcomes

    # The other borrower's reminder, in the demo inbox: an invitation with no debt detail, and a link into a chat
    # that is that reminder's.
    (reminder,) = _wait_for(lambda: [c for c in records.contacts_for(REMINDED) if c.status == "sent"],
                            "the reminder on the ledger", stack)
    assert (reminder.campaign, reminder.channel, reminder.script) == ("pre_due_reminders", "message", "reminder")
    inbox = phone.context.new_page()
    inbox.goto(f"{stack.gateway_url}/demo/inbox")
    card = inbox.locator("#inbox section", has_text=REMINDED).locator("article.message")
    expect(card).to_have_count(1)
    expect(card.locator(".meta")).to_contain_text("SMS")
    assert "逾期" not in card.locator(".text").inner_text() and "元" not in card.locator(".text").inner_text()
    screenshot(inbox, "inbox")
    card.locator("a.link").click()  # the borrower opens the chat from the reminder
    inbox.locator(".rw-launcher").click()
    expect(inbox.locator(".rw-messages-container")).to_contain_text("本人吗", timeout=TURN_TIMEOUT_MS)
    chat = _wait_for(lambda: _conversations_opened_by(sessions, reminder.attempt_id),
                     "the chat recorded as the reminder's", stack)
    assert [(c.borrower_id, c.channel) for c in chat] == [(REMINDED, "webchat")], chat
    # Its dialogue knows the reminder's script variant, as a call's knows the call's.
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{chat[0].conversation_id}/tracker",
                        params={"token": stack.config.rasa_token}, timeout=30).json()
    assert {event["metadata"].get("call_script") for event in tracker["events"] if event["event"] == "user"} \
        == {"reminder"}


def _conversations_opened_by(sessions, attempt_id: str) -> list[ConversationRecord]:
    with sessions() as session:
        return list(session.scalars(select(ConversationRecord).where(ConversationRecord.campaign_attempt_id == attempt_id)))

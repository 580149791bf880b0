"""The supervisor's KPI dashboard in headless Chromium, against a real gateway over the session's simulated month
(tests/month.py: calls, messages, conversations, promises, payments, handoffs taken by named agents, complaints,
verification lockouts, the daily review fill and reviewers' scores). Every figure the test looks for is counted here
with its own SQL on the month's SQLite file (not ledger.kpis) and must be on the page as the page formats it, in
total, by agent and by channel; the CSV the page links to says the same. An agent is refused the page.
Screenshots: $COLLECTIONS_SCREENSHOT_DIR (default /tmp/screens)."""
from __future__ import annotations

import csv
import json
import math
import sqlite3
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import sessionmaker

from bot.console.agents import AgentDirectory
from configuration.settings import Settings
from tests.browser.in_thread_gateway import serve_gateway
from ledger.db import make_engine
from tests.month import MONTH_LEDGER

pytestmark = pytest.mark.browser
PASSWORD = "a supervisor's long password"
# The month runs 2026-12-01 00:00 UTC to 2026-12-31 00:00 UTC; Shanghai days 1 to 31 December hold all of it.
FIRST, LAST = date(2026, 12, 1), date(2026, 12, 31)
SINCE, UNTIL = "2026-11-30 16:00:00", "2026-12-31 16:00:00"  # those days' bounds in UTC, as SQLite stores them
CONTACTED = ("sent", "dialled", "answered", "no_answer", "busy", "failed", "canceled", "machine")
CHECKLIST = ("identity_before_detail", "ai_disclosed", "no_pressure", "correct_figures", "handoff_when_asked")


def failed_any(table: str) -> str:
    """A review with at least one checklist item failed."""
    return "(" + " OR ".join(f"{table}.{item} = 'fail'" for item in CHECKLIST) + ")"


@pytest.fixture(scope="module")
def month_gateway(simulated_month, tmp_path_factory) -> Iterator[tuple[str, sqlite3.Connection]]:
    directory = tmp_path_factory.mktemp("kpi-gateway")
    engine = make_engine(simulated_month.ledger_url)
    agents = AgentDirectory(sessionmaker(engine))
    agents.add("boss", "supervisor", PASSWORD)
    agents.add("agent.li", "agent", PASSWORD)
    engine.dispose()
    settings = Settings(_env_file=None, redis_url=None, ledger={"database_url": simulated_month.ledger_url},
                        audit={"key_file": directory / "audit.key", "anchor_file": directory / "audit.anchor"},
                        rasa={"url": "http://127.0.0.1:9"}, gateway={"fixed_now": "2026-12-31T08:00:00+00:00"})
    database = sqlite3.connect(simulated_month.directory / MONTH_LEDGER)
    with serve_gateway(settings) as url:
        yield url, database
    database.close()


# --- the figures, counted from the database with this file's own SQL -----------------------------------------

def one(db: sqlite3.Connection, sql: str, *args) -> int:
    return db.execute(sql, args).fetchone()[0] or 0


def expected(db: sqlite3.Connection) -> dict:
    in_range = "BETWEEN ? AND ?"
    placeholders = ",".join("?" * len(CONTACTED))
    calls = one(db, f"SELECT count(*) FROM campaign_contacts WHERE channel = 'call' AND status IN ({placeholders}) "
                    f"AND planned_at >= ? AND planned_at < ?", *CONTACTED, SINCE, UNTIL)
    answered = one(db, "SELECT count(*) FROM campaign_contacts WHERE channel = 'call' AND status = 'answered' "
                       "AND planned_at >= ? AND planned_at < ?", SINCE, UNTIL)
    conversations = one(db, f"SELECT count(*) FROM conversations WHERE started_at {in_range}", SINCE, UNTIL)
    verified = one(db, f"SELECT count(*) FROM conversations WHERE identity_verified AND started_at {in_range}",
                   SINCE, UNTIL)
    with_promise = one(db, "SELECT count(DISTINCT c.conversation_id) FROM conversations c JOIN promises_to_pay p "
                           f"ON p.conversation_id = c.conversation_id WHERE c.identity_verified AND c.started_at {in_range}",
                       SINCE, UNTIL)
    kept = one(db, f"SELECT count(*) FROM promises_to_pay WHERE status = 'kept' AND created_at {in_range}", SINCE, UNTIL)
    broken = one(db, f"SELECT count(*) FROM promises_to_pay WHERE status = 'broken' AND created_at {in_range}",
                 SINCE, UNTIL)
    promised = one(db, f"SELECT sum(amount_cents) FROM promises_to_pay WHERE created_at {in_range}", SINCE, UNTIL)
    recovered = one(db, f"SELECT sum(applied_cents) FROM payments WHERE paid_at {in_range}", SINCE, UNTIL)
    handed = one(db, "SELECT count(DISTINCT c.conversation_id) FROM conversations c JOIN handoff_requests h "
                     f"ON h.conversation_id = c.conversation_id WHERE c.started_at {in_range}", SINCE, UNTIL)
    waits = []
    for conversation_id, asked in db.execute(
            f"SELECT conversation_id, min(created_at) FROM handoff_requests GROUP BY conversation_id "
            f"HAVING min(created_at) {in_range}", (SINCE, UNTIL)):
        first = db.execute("SELECT min(created_at) FROM audit_records WHERE speaker = 'agent' AND conversation_id = ? "
                           "AND created_at >= ?", (conversation_id, asked)).fetchone()[0]
        if first:
            waits.append((_moment(first) - _moment(asked)).total_seconds())
    rules, speakers = Counter(), Counter()
    for speaker, listed in db.execute(f"SELECT speaker, rules FROM audit_records WHERE allowed = 0 AND created_at "
                                      f"{in_range}", (SINCE, UNTIL)):
        speakers[speaker] += 1
        rules.update(json.loads(listed))
    disputes = (one(db, f"SELECT count(*) FROM claims WHERE kind = 'dispute' AND created_at {in_range}", SINCE, UNTIL)
                + one(db, f"SELECT count(*) FROM review_requests WHERE kind = 'dispute' AND created_at {in_range}",
                      SINCE, UNTIL))
    stops = one(db, f"SELECT count(*) FROM do_not_contact WHERE created_at {in_range}", SINCE, UNTIL)
    cures = [days for (days,) in db.execute(
        "SELECT julianday(date(f.occurred_at, '+8 hours')) - julianday(a.due_date) FROM follow_up_events f "
        f"JOIN loan_accounts a ON a.account_id = f.account_id WHERE f.kind = 'account_settled' AND f.occurred_at {in_range}",
        (SINCE, UNTIL)) if days > 0]
    complaints = one(db, "SELECT count(*) FROM complaints WHERE created_at >= ? AND created_at < ?", SINCE, UNTIL)
    reviews = one(db, "SELECT count(*) FROM quality_reviews WHERE reviewed_at >= ? AND reviewed_at < ?", SINCE, UNTIL)
    reviews_failed = one(db, f"SELECT count(*) FROM quality_reviews WHERE {failed_any('quality_reviews')} "
                             "AND reviewed_at >= ? AND reviewed_at < ?", SINCE, UNTIL)
    return {"calls": calls, "answered": answered, "conversations": conversations, "verified": verified,
            "with_promise": with_promise, "kept": kept, "judged": kept + broken, "promised": promised,
            "recovered": recovered, "handed": handed, "waits": waits, "rules": rules, "speakers": speakers,
            "disputes": disputes, "stops": stops, "cures": cures, "complaints": complaints, "reviews": reviews,
            "reviews_passed": reviews - reviews_failed}


def takers(db: sqlite3.Connection) -> dict[str, str]:
    """Conversation -> the agent who first took its handoff."""
    first: dict[str, str] = {}
    for conversation_id, agent in db.execute("SELECT conversation_id, taken_by FROM handoff_requests WHERE taken_by "
                                             "IS NOT NULL ORDER BY created_at, id"):
        first.setdefault(conversation_id, agent)
    return first


def by_agent(db: sqlite3.Connection) -> dict[str, Counter]:
    """Per named agent: the conversations they took, the words of theirs the filter stopped, the complaints in their
    conversations, and the reviews (passed or not) of their conversations, in the range."""
    taken, figures = takers(db), {}
    for agent in set(taken.values()):
        mine = [conversation for conversation, taker in taken.items() if taker == agent]
        marks = ",".join("?" * len(mine))
        figures[agent] = Counter(
            conversations=one(db, f"SELECT count(*) FROM conversations WHERE conversation_id IN ({marks}) AND "
                                  "started_at >= ? AND started_at < ?", *mine, SINCE, UNTIL),
            blocks=one(db, f"SELECT count(*) FROM audit_records WHERE conversation_id IN ({marks}) AND allowed = 0 "
                           "AND speaker = 'agent' AND created_at >= ? AND created_at < ?", *mine, SINCE, UNTIL),
            complaints=one(db, f"SELECT count(*) FROM complaints WHERE conversation_id IN ({marks}) AND "
                               "created_at >= ? AND created_at < ?", *mine, SINCE, UNTIL),
            reviews=one(db, f"SELECT count(*) FROM quality_reviews r JOIN review_items i ON i.id = r.item_id WHERE "
                            f"i.conversation_id IN ({marks}) AND r.reviewed_at >= ? AND r.reviewed_at < ?",
                        *mine, SINCE, UNTIL),
            reviews_failed=one(db, "SELECT count(*) FROM quality_reviews r JOIN review_items i ON i.id = r.item_id "
                                   f"WHERE i.conversation_id IN ({marks}) AND {failed_any('r')} "
                                   "AND r.reviewed_at >= ? AND r.reviewed_at < ?", *mine, SINCE, UNTIL))
    return figures


def by_channel(db: sqlite3.Connection) -> dict[str, Counter]:
    """Per channel as the page names them: calls placed and reminder messages sent (campaign contacts),
    conversations and complaints (their own channel: phone, webchat)."""
    figures: dict[str, Counter] = defaultdict(Counter)
    contacted = ",".join("?" * len(CONTACTED))
    for channel, name, count in db.execute(
            f"SELECT channel, CASE channel WHEN 'call' THEN 'calls_placed' ELSE 'messages_sent' END, count(*) "
            f"FROM campaign_contacts WHERE status IN ({contacted}) AND planned_at >= ? AND planned_at < ? "
            "GROUP BY channel", (*CONTACTED, SINCE, UNTIL)):
        figures["phone" if channel == "call" else channel][name] = count
    for table, moment, name in (("conversations", "started_at", "conversations"),
                                ("complaints", "created_at", "complaints")):
        for channel, count in db.execute(f"SELECT channel, count(*) FROM {table} WHERE {moment} >= ? AND {moment} < ? "
                                         "GROUP BY channel", (SINCE, UNTIL)):
            figures[channel][name] = count
    return figures


def _moment(stored: str) -> datetime:
    return datetime.fromisoformat(stored)


def expected_roll_1_30(db: sqlite3.Connection) -> tuple[int, int]:
    """Accounts 1-30 days past due on the first day (not settled before it), and those 31-60 on the last day."""
    settled = dict(db.execute("SELECT account_id, occurred_at FROM follow_up_events WHERE kind = 'account_settled'"))
    start = rolled = 0
    for account_id, due in db.execute("SELECT account_id, due_date FROM loan_accounts"):
        due = date.fromisoformat(due)
        when = settled.get(account_id)
        if when is not None and when < SINCE:
            continue
        if 1 <= (FIRST - due).days <= 30:
            start += 1
            if not (when is not None and when < UNTIL) and 31 <= (LAST - due).days <= 60:
                rolled += 1
    return start, rolled


# --- as the page writes them (kpis.js) -------------------------------------------------------------------

def fixed(value: float, digits: int = 1) -> str:
    """JavaScript's toFixed: the exact binary value, halves away from zero."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def percent(numerator: float, denominator: float) -> str:
    return "—" if not denominator else f"{fixed(numerator / denominator * 100)}%"


def yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def signed_in(page: Page, gateway: str, name: str) -> None:
    page.goto(f"{gateway}/console")
    page.fill("#login-name", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#who")).to_contain_text(name)


def show(page: Page, by: str = "day", **filters: str) -> None:
    expect(page.locator("body[data-loaded]")).to_have_count(1)  # the page's first load (the last 30 days) is in
    page.fill("#kpi-start", FIRST.isoformat())
    page.fill("#kpi-end", LAST.isoformat())
    page.select_option("#kpi-by", by)
    for dimension in ("segment", "channel", "campaign", "agent"):
        page.select_option(f"#kpi-{dimension}", filters.get(dimension, ""))
    page.click("#kpi-submit")
    wanted = "&".join(f"{name}={value}" for name, value in filters.items())
    expect(page.locator("body")).to_have_attribute("data-loaded", f"{FIRST}/{LAST}/{by}/{wanted}")


def card(page: Page, name: str):
    return page.locator(f"#kpi-{name}")


def test_every_figure_on_the_dashboard_is_the_databases(month_gateway, page: Page, screenshot):
    gateway, db = month_gateway
    want = expected(db)
    # A month worth showing: agents' drafts stopped, complaints, reviews that passed and some that failed.
    assert want["calls"] > 100 and want["handed"] > 0 and want["speakers"]["agent"] > 0
    assert want["complaints"] > 0 and want["reviews"] > want["reviews_passed"] > 0
    signed_in(page, gateway, "boss")
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.click("#kpis-link")
    expect(page).to_have_url(f"{gateway}/console/kpis")
    show(page)

    expect(card(page, "contact_rate").locator(".kpi-value")).to_have_text(percent(want["answered"], want["calls"]))
    expect(card(page, "contact_rate").locator(".kpi-detail")).to_have_text(f"{want['answered']} / {want['calls']}")
    expect(card(page, "contact_rate")).to_contain_text("有人接听的外呼 / 拨出的外呼")
    expect(card(page, "right_party_contact_rate").locator(".kpi-value")).to_have_text(
        percent(want["verified"], want["conversations"]))
    expect(card(page, "promise_to_pay_rate").locator(".kpi-value")).to_have_text(
        percent(want["with_promise"], want["verified"]))
    expect(card(page, "kept_promise_rate").locator(".kpi-value")).to_have_text(percent(want["kept"], want["judged"]))
    expect(card(page, "kept_promise_rate").locator(".kpi-detail")).to_have_text(f"{want['kept']} / {want['judged']}")
    expect(card(page, "recovery_rate").locator(".kpi-detail")).to_have_text(
        f"{yuan(want['recovered'])} / {yuan(want['promised'])}")
    expect(card(page, "recovery_rate").locator(".kpi-value")).to_have_text(percent(want["recovered"], want["promised"]))
    expect(card(page, "handoff_rate").locator(".kpi-value")).to_have_text(percent(want["handed"], want["conversations"]))
    wait = sum(want["waits"]) / len(want["waits"])
    expect(card(page, "average_handoff_wait_seconds").locator(".kpi-value")).to_have_text(f"{math.floor(wait + 0.5)} 秒")
    expect(card(page, "average_days_to_cure").locator(".kpi-value")).to_have_text(
        f"{fixed(sum(want['cures']) / len(want['cures']))} 天" if want["cures"] else "—")
    expect(card(page, "blocks").locator(".kpi-value")).to_have_text(str(sum(want["speakers"].values())))
    expect(card(page, "blocks").locator(".kpi-detail")).to_have_text(
        f"机器人 bot {want['speakers']['bot']} · 坐席 agent {want['speakers']['agent']}")
    for rule, count in want["rules"].items():
        expect(page.locator(f'#kpi-rules tr[data-rule="{rule}"] td').nth(1)).to_have_text(str(count))
    expect(card(page, "disputes").locator(".kpi-value")).to_have_text(str(want["disputes"]))
    expect(card(page, "stop_requests").locator(".kpi-value")).to_have_text(str(want["stops"]))
    expect(card(page, "complaint_rate").locator(".kpi-value")).to_have_text(
        percent(want["complaints"], want["conversations"]))
    expect(card(page, "complaint_rate").locator(".kpi-detail")).to_have_text(
        f"{want['complaints']} / {want['conversations']}")
    expect(card(page, "compliant_review_rate").locator(".kpi-value")).to_have_text(
        percent(want["reviews_passed"], want["reviews"]))
    expect(card(page, "compliant_review_rate").locator(".kpi-detail")).to_have_text(
        f"{want['reviews_passed']} / {want['reviews']}")
    start, rolled = expected_roll_1_30(db)
    expect(page.locator('#kpi-roll tr[data-bucket="dpd_1_30"] .roll-rate')).to_have_text(percent(rolled, start))
    # One row a day; the chart draws the same calls per day the table lists.
    expect(page.locator("#kpi-rows tbody tr")).to_have_count(31 + 1)
    first_day = one(db, f"SELECT count(*) FROM campaign_contacts WHERE channel = 'call' AND status IN "
                        f"({','.join('?' * len(CONTACTED))}) AND planned_at >= ? AND planned_at < ?",
                    *CONTACTED, SINCE, "2026-12-01 16:00:00")
    expect(page.locator('#kpi-rows tr[data-key="2026-12-01"] td[data-column="calls_placed"]')).to_have_text(str(first_day))
    drawn = page.evaluate("Chart.getChart('chart-activity').data.datasets[0].data")
    assert len(drawn) == 31 and sum(drawn) == want["calls"]
    assert not script_errors
    screenshot(page.locator("#kpi-cards"), "cards")
    screenshot(page.locator(".kpi-panels"), "charts")
    screenshot(page.locator(".kpi-tables"), "tables")


def test_slices_and_the_csv_export(month_gateway, page: Page, screenshot):
    gateway, db = month_gateway
    signed_in(page, gateway, "boss")
    page.goto(f"{gateway}/console/kpis")
    show(page, by="campaign")
    for campaign, calls in db.execute(
            "SELECT campaign, count(*) FROM campaign_contacts WHERE channel = 'call' AND status IN "
            f"({','.join('?' * len(CONTACTED))}) AND planned_at >= ? AND planned_at < ? GROUP BY campaign",
            (*CONTACTED, SINCE, UNTIL)):
        expect(page.locator(f'#kpi-rows tr[data-key="{campaign}"] td[data-column="calls_placed"]')).to_have_text(str(calls))
    screenshot(page.locator(".kpi-tables"), "by-campaign")
    # By agent: each named agent's row (the conversations they took, their drafts stopped, complaints, reviews).
    agents = by_agent(db)
    assert len(agents) > 1 and sum(figures["blocks"] for figures in agents.values()) > 0
    show(page, by="agent")
    for agent, figures in agents.items():
        row = page.locator(f'#kpi-rows tr[data-key="{agent}"]')
        for column in ("conversations", "blocks", "complaints"):
            expect(row.locator(f'td[data-column="{column}"]')).to_have_text(str(figures[column]))
        expect(row.locator('td[data-column="compliant_review_rate"]')).to_have_text(
            percent(figures["reviews"] - figures["reviews_failed"], figures["reviews"]))
    screenshot(page.locator(".kpi-tables"), "by-agent")
    # One agent alone: the cards say the same as that agent's row.
    agent, figures = max(agents.items(), key=lambda entry: (entry[1]["blocks"], entry[1]["reviews"], entry[0]))
    show(page, by="day", agent=agent)
    expect(card(page, "blocks").locator(".kpi-value")).to_have_text(str(figures["blocks"]))
    expect(card(page, "blocks").locator(".kpi-detail")).to_have_text(f"机器人 bot 0 · 坐席 agent {figures['blocks']}")
    expect(card(page, "complaint_rate").locator(".kpi-detail")).to_have_text(
        f"{figures['complaints']} / {figures['conversations']}")
    expect(card(page, "compliant_review_rate").locator(".kpi-detail")).to_have_text(
        f"{figures['reviews'] - figures['reviews_failed']} / {figures['reviews']}")
    screenshot(page.locator("#kpi-cards"), "one-agent-cards")
    # By channel: calls on the phone row, reminders on the message row, conversations and complaints where they were.
    channels = by_channel(db)
    assert channels["phone"]["complaints"] > 0 and channels["webchat"]["conversations"] > 0
    show(page, by="channel")
    for channel, figures in channels.items():
        row = page.locator(f'#kpi-rows tr[data-key="{channel}"]')
        for column in ("calls_placed", "messages_sent", "conversations", "complaints"):
            expect(row.locator(f'td[data-column="{column}"]')).to_have_text(str(figures[column]))
    screenshot(page.locator(".kpi-tables"), "by-channel")
    # The CSV the page links to: the same range, grouping and filter.
    show(page, by="segment")
    with page.expect_download() as download:
        page.click("#kpi-csv")
    path = download.value.path()
    assert download.value.suggested_filename == f"kpis-{FIRST}-{LAST}-by-segment.csv"
    rows = {row["segment"]: row for row in csv.DictReader(open(path, encoding="utf-8"))}
    want = expected(db)
    assert (rows["total"]["calls_placed"], rows["total"]["calls_answered"]) == (str(want["calls"]), str(want["answered"]))
    assert (rows["total"]["promised_cents"], rows["total"]["recovered_cents"]) == (
        str(want["promised"]), str(want["recovered"]))
    assert rows["total"]["blocks"] == str(sum(want["speakers"].values()))
    assert (rows["total"]["complaints"], rows["total"]["reviews"], rows["total"]["reviews_passed"]) == (
        str(want["complaints"]), str(want["reviews"]), str(want["reviews_passed"]))
    assert rows["total"]["complaint_rate"] == f"{want['complaints'] / want['conversations']:.6g}"
    assert rows["total"]["compliant_review_rate"] == f"{want['reviews_passed'] / want['reviews']:.6g}"
    segment_calls = dict(db.execute(
        "SELECT segment, count(*) FROM campaign_contacts WHERE channel = 'call' AND status IN "
        f"({','.join('?' * len(CONTACTED))}) AND planned_at >= ? AND planned_at < ? GROUP BY segment",
        (*CONTACTED, SINCE, UNTIL)))
    for segment, calls in segment_calls.items():
        assert rows[segment]["calls_placed"] == str(calls)


def test_an_agent_is_refused_the_dashboard(month_gateway, page: Page):
    gateway, _ = month_gateway
    signed_in(page, gateway, "agent.li")
    expect(page.locator("#kpis-link")).to_be_hidden()
    assert page.goto(f"{gateway}/console/kpis").status == 403
    assert page.request.get(f"{gateway}/api/console/kpis").status == 403

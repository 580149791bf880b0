"""Human handoff over the real stack: a borrower asks for a person, waits in the queue, an agent takes
the conversation in the console (the bot goes silent), talks to the borrower (a threat is blocked and
never arrives), uses the quick actions, and hands back to the bot, which still knows who it is talking to."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from ledger.wording import yuan
from ledger.db import make_engine, make_session_factory
from ledger.models import AuditRecord
from ledger.notices import notice

from tests.stack import HANDOFF_WAIT_TIMEOUT_SECONDS, TODAY
from tests.e2e.console_client import PASSWORD, Console, add_console_accounts
from tests.e2e.widget import Widget

TAKEN_NOTICE, HANDED_BACK_NOTICE = notice("zh", "taken"), notice("zh", "handed_back")

pytestmark = pytest.mark.e2e
THREAT = "再不还钱就告诉你全家"


@pytest.fixture(scope="session")
def console_accounts(ledger_url):
    add_console_accounts(ledger_url)


@pytest.fixture
def console(stack, console_accounts):
    opened: list[Console] = []

    def _open(name: str = "e2e-agent-a") -> Console:
        client = Console(stack.gateway_url, name, PASSWORD)
        opened.append(client)
        return client

    yield _open
    for client in opened:
        client.close()


def audit_rows(ledger_url: str, conversation_id: str) -> list[AuditRecord]:
    with make_session_factory(make_engine(ledger_url)).begin() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.conversation_id == conversation_id)
                                    .order_by(AuditRecord.id)))


def test_agent_takes_talks_records_a_promise_and_hands_back_to_a_bot_that_still_knows_the_borrower(
        verified_chat, console, ledger, ledger_url, stack):
    chat, borrower, account = verified_chat()
    waiting = chat.say("我要转人工")
    assert "排队等候人工专员" in waiting and "无法保证" in waiting
    agent = console()
    entry = agent.waiting(chat.conversation_id)
    assert entry and entry["reason"] == "requested" and entry["position"] >= 1

    assert agent.take(chat.conversation_id).status_code == 200
    assert chat.next_push() == {"type": "push", "speaker": "bot", "text": TAKEN_NOTICE}
    assert agent.waiting(chat.conversation_id) is None
    supervisor = console("e2e-supervisor")
    held = supervisor.http.get("/api/console/live").json()["held"]
    assert {"conversation_id": chat.conversation_id, "agent": "e2e-agent-a"} in held
    assert supervisor.view(chat.conversation_id).json()["holder"] == "e2e-agent-a"  # supervisors see every one
    assert supervisor.send(chat.conversation_id, "你好").status_code == 409  # but only the holder writes

    # The bot is silent while the agent holds the conversation; the agent reads the borrower's words.
    assert chat.say("你好，我想问问能不能少还一点") == ""
    view = agent.view(chat.conversation_id).json()
    assert view["holder"] == "e2e-agent-a" and view["identity_verified"] is True
    assert view["transcript"][-1] == {**view["transcript"][-1], "speaker": "borrower", "text": "你好，我想问问能不能少还一点"}
    assert "身份已核实" in view["summary"] and "要求转人工" in view["summary"]
    assert view["account"]["account"]["balance_cents"] == account.balance_cents
    assert view["account"]["id_number"].endswith(borrower.id_last4) and view["account"]["id_number"].startswith("*")

    sent = agent.send(chat.conversation_id, "您好，我是人工专员，我来帮您看看还款安排。")
    assert sent.status_code == 200 and sent.json()["delivered"] is True
    assert chat.next_push() == {"type": "push", "speaker": "agent", "text": "您好，我是人工专员，我来帮您看看还款安排。"}

    blocked = agent.send(chat.conversation_id, THREAT)
    assert blocked.status_code == 422
    assert blocked.json()["error"] == "blocked" and blocked.json()["rules"]
    promise_day = TODAY + timedelta(days=3)
    promised = agent.http.post(f"/api/console/conversations/{chat.conversation_id}/promise",
                               json={"amount_cents": 100_000, "promised_date": promise_day.isoformat()})
    assert promised.status_code == 200 and promised.json()["delivered"], promised.text
    # The next thing on the borrower's socket is the promise confirmation: the threat never arrived.
    confirmation = chat.next_push()
    assert confirmation["speaker"] == "agent" and "1,000元" in confirmation["text"] and THREAT not in confirmation["text"]
    assert [(p.amount_cents, p.promised_date, p.conversation_id) for p in ledger.promises_for(account.account_id)] == [
        (100_000, promise_day, chat.conversation_id)]
    transcript = chat.transcript()
    assert not any(THREAT in entry["text"] or THREAT in entry.get("blocked_text", "") for entry in transcript)
    attempt = [row for row in audit_rows(ledger_url, chat.conversation_id) if row.text == THREAT]
    assert len(attempt) == 1 and attempt[0].speaker == "agent" and attempt[0].allowed is False and attempt[0].rules != "[]"

    assert agent.hand_back(chat.conversation_id).status_code == 200
    assert chat.next_push() == {"type": "push", "speaker": "bot", "text": HANDED_BACK_NOTICE}
    # The bot answers again, with the slots it had: still verified, so it may state the balance.
    assert yuan(account.balance_cents) in chat.say("我现在还欠多少钱")
    assert agent.take(chat.conversation_id).json()["error"] == "not_waiting"  # not queued again for the same request
    assert [(h.reason, h.status) for h in ledger.handoffs_for(chat.conversation_id)] == [("requested", "served")]


def test_distress_while_an_agent_holds_the_conversation_is_recorded_for_review_and_the_bot_stays_silent(
        open_chat, borrowers, console, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("我要转人工客服")
    agent = console("e2e-agent-b")
    assert agent.take(chat.conversation_id).status_code == 200
    assert chat.say("我真的不想活了") == ""
    view = agent.view(chat.conversation_id).json()
    assert view["transcript"][-1]["distress"] == "self_harm"
    # Not verified, so not flagged on the caller's word: the agent sees the request and, having talked to the
    # person, applies it.
    assert ledger.active_flags(borrower.borrower_id) == ()
    [request] = view["review_requests"]
    assert (request["kind"], request["status"]) == ("distress", "pending") and "不想活" in request["said"]
    assert console("e2e-agent-a").http.post(
        f"/api/console/review-requests/{request['request_id']}/apply").status_code == 403  # not their conversation
    applied = agent.http.post(f"/api/console/review-requests/{request['request_id']}/apply")
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    assert ledger.active_flags(borrower.borrower_id) == ("distress",)
    assert agent.hand_back(chat.conversation_id).status_code == 200


def test_a_supervisor_sees_every_pending_review_request_and_may_dismiss_one(open_chat, borrowers, console, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("你们别再给我打电话了")
    assert chat.ended
    supervisor = console("e2e-supervisor")
    pending = supervisor.http.get("/api/console/review-requests").json()["review_requests"]
    [request] = [r for r in pending if r["conversation_id"] == chat.conversation_id]
    assert request["kind"] == "do_not_contact" and request["borrower"] != borrower.borrower_id  # masked
    assert console("e2e-agent-a").http.get("/api/console/review-requests").status_code == 403
    dismissed = supervisor.http.post(f"/api/console/review-requests/{request['request_id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json()["reviewed_by"] == "e2e-supervisor"
    assert supervisor.http.post(f"/api/console/review-requests/{request['request_id']}/apply").status_code == 409
    assert not ledger.is_do_not_contact(borrower.borrower_id)


def test_of_many_agents_taking_one_conversation_at_once_exactly_one_gets_it(open_chat, borrowers, console):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("帮我转人工")
    takers = [console(name) for name in ("e2e-agent-a", "e2e-agent-b", "e2e-supervisor") for _ in range(4)]
    with ThreadPoolExecutor(max_workers=len(takers)) as pool:
        responses = list(pool.map(lambda taker: taker.take(chat.conversation_id), takers))
    assert sorted(r.status_code for r in responses) == [200] + [409] * (len(takers) - 1)
    winner = takers[[r.status_code for r in responses].index(200)]
    assert all(r.json()["holder"] == winner.name for r in responses if r.status_code == 409)
    assert winner.hand_back(chat.conversation_id).status_code == 200


def test_nobody_takes_it_in_time_so_a_callback_is_offered_and_booked(open_chat, borrowers, console, ledger):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("我要找人工")
    started = time.monotonic()
    notice = chat.next_push(timeout=HANDOFF_WAIT_TIMEOUT_SECONDS + 30)
    assert time.monotonic() - started >= HANDOFF_WAIT_TIMEOUT_SECONDS - 3
    assert notice["speaker"] == "bot" and "预约" in notice["text"] and "回电" in notice["text"]
    [callback] = [c for c in ledger.callbacks_for(borrower.borrower_id) if c.conversation_id == chat.conversation_id]
    assert callback.callback_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M") in notice["text"]
    assert console().waiting(chat.conversation_id)["callback_offered"] is True  # an agent may still take it
    assert [h.status for h in ledger.handoffs_for(chat.conversation_id)] == ["callback_offered"]


def test_sign_in_roles_and_bad_requests(stack, console, open_chat, borrowers):
    http = httpx.Client(base_url=stack.gateway_url, timeout=30)
    assert http.post("/api/console/login", json={"name": "e2e-agent-a", "password": "wrong password"}).status_code == 401
    assert http.post("/api/console/login", json={"name": "nobody-here", "password": PASSWORD}).status_code == 401
    assert http.post("/api/console/login", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert http.get("/api/console/queue").status_code == 401
    assert http.get("/api/console/queue", headers={"Authorization": "Bearer forged-token"}).status_code == 401
    assert http.get("/console").status_code == 200 and "坐席登录" in http.get("/console").text
    assert http.get("/console/console.js").status_code == 200
    assert http.get("/console/secrets.py").status_code == 404 and http.get("/console/..%2Froutes.py").status_code == 404
    guesses = [http.post("/api/console/login", json={"name": "e2e-guessed", "password": f"guess {n}"}).status_code
               for n in range(11)]
    assert guesses == [401] * 10 + [429]  # the account name is locked for a while; others are not

    agent, supervisor = console("e2e-agent-a"), console("e2e-supervisor")
    assert agent.http.get("/api/console/live").status_code == 403
    live = supervisor.http.get("/api/console/live")
    assert live.status_code == 200 and {"queue", "held"} <= live.json().keys()

    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    assert agent.view(chat.conversation_id).status_code == 403  # not waiting, not theirs
    assert agent.take(chat.conversation_id).json()["error"] == "not_waiting"
    assert agent.send(chat.conversation_id, "您好").status_code == 409  # not held by them
    assert agent.view("0000000000000000").status_code == 404
    assert agent.take("0000000000000000").status_code == 404
    assert agent.take("../../etc").status_code == 404

    chat.say("转人工")
    assert agent.take(chat.conversation_id).status_code == 200
    assert agent.send(chat.conversation_id, "好" * 600).status_code == 413
    assert agent.send(chat.conversation_id, 42).status_code == 422
    malformed = agent.http.post(f"/api/console/conversations/{chat.conversation_id}/messages", content=b"{oops",
                                headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422
    assert console("e2e-agent-b").take(chat.conversation_id).status_code == 409
    assert console("e2e-agent-b").hand_back(chat.conversation_id).status_code == 409
    assert supervisor.hand_back(chat.conversation_id).status_code == 200  # a supervisor may release anyone's
    http.close()


def test_an_agent_message_reaches_a_webchat_borrower_as_bot_uttered(stack, borrowers, console):
    borrower, _ = borrowers.take()
    widget = Widget(stack.gateway_url)
    try:
        widget.open(borrower.borrower_id)
        widget.say("我要转人工", "排队等候")
        agent = console()
        masked = borrower.borrower_id[:1] + "***" + borrower.borrower_id[-3:]
        [entry] = [e for e in agent.queue() if e["channel"] == "webchat" and e["borrower"] == masked]
        assert agent.take(entry["conversation_id"]).status_code == 200
        assert widget.next(30) == ("bot_uttered", {"text": TAKEN_NOTICE})
        assert agent.send(entry["conversation_id"], "您好，我是人工专员。").status_code == 200
        assert widget.next(30) == ("bot_uttered", {"text": "您好，我是人工专员。"})
        assert agent.hand_back(entry["conversation_id"]).status_code == 200
    finally:
        widget.close()


def test_a_borrower_in_distress_is_served_before_an_earlier_request(open_chat, borrowers, console):
    first, _ = borrowers.take()
    second, _ = borrowers.take()
    asked = open_chat(first.borrower_id)
    asked.say("我要转人工")
    distressed = open_chat(second.borrower_id)
    distressed.say("是我")
    reply = distressed.say("我真的不想活了")
    assert "排队等候人工专员" in reply
    order = [entry["conversation_id"] for entry in console().queue()]
    assert order.index(distressed.conversation_id) < order.index(asked.conversation_id)


def test_agent_proposes_a_plan_with_the_ledger_code_the_bot_uses_only_once_identity_is_verified(
        verified_chat, open_chat, borrowers, console, ledger):
    from ledger.policy import allowed_periods

    unverified_borrower, _ = borrowers.take()
    unverified = open_chat(unverified_borrower.borrower_id)
    unverified.say("转人工")
    agent = console("e2e-agent-b")
    assert agent.take(unverified.conversation_id).status_code == 200
    refused = agent.http.post(f"/api/console/conversations/{unverified.conversation_id}/plan", json={"periods": 3})
    assert refused.status_code == 409 and refused.json()["detail"] == "identity_not_verified"
    assert agent.hand_back(unverified.conversation_id).status_code == 200

    chat, _, account = verified_chat(min_balance_cents=500_000)
    chat.say("我要转人工")
    assert agent.take(chat.conversation_id).status_code == 200
    assert chat.next_push()["text"] == TAKEN_NOTICE
    periods = allowed_periods(account, False, ledger.policy)[-1]
    bad = agent.http.post(f"/api/console/conversations/{chat.conversation_id}/plan", json={"periods": 61})
    assert bad.status_code == 422  # outside what any policy allows: refused before the ledger
    proposed = agent.http.post(f"/api/console/conversations/{chat.conversation_id}/plan", json={"periods": periods})
    assert proposed.status_code == 200, proposed.text
    [plan] = [p for p in ledger.plans_for(account.account_id) if p.conversation_id == chat.conversation_id]
    assert (plan.periods, plan.status, plan.total_cents - plan.fee_cents) == (periods, "proposed", account.balance_cents)
    offer = chat.next_push()
    assert offer["speaker"] == "agent" and f"分{periods}期" in offer["text"] and yuan(plan.total_cents) in offer["text"]
    assert agent.hand_back(chat.conversation_id).status_code == 200

"""Console accounts: argon2 hashes in the ledger database, the add-agent CLI, and the tracker summary."""
from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import ConsoleAgent
from bot.console.agents import AgentDirectory
from bot.console.summary import summarize
from bot.launcher import APP_PYTHON, ROOT


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    yield url, make_session_factory(engine)
    engine.dispose()


def test_passwords_are_stored_as_argon2_hashes_and_checked(database):
    _, sessions = database
    agents = AgentDirectory(sessions)
    agents.add("li.na", "agent", "correct horse 1")
    with sessions.begin() as session:
        stored = session.scalars(select(ConsoleAgent.password_hash)).one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert agents.authenticate("li.na", "correct horse 1").role == "agent"
    assert agents.authenticate("li.na", "correct horse 2") is None
    assert agents.authenticate("nobody", "correct horse 1") is None
    assert agents.authenticate("'; DROP TABLE console_agents; --", "x") is None


def test_account_rules(database):
    agents = AgentDirectory(database[1])
    agents.add("wang", "supervisor", "long enough")
    with pytest.raises(ValueError, match="already exists"):
        agents.add("wang", "agent", "another one")
    with pytest.raises(ValueError, match="role"):
        agents.add("zhao", "admin", "long enough")
    with pytest.raises(ValueError, match="password"):
        agents.add("zhao", "agent", "short")
    with pytest.raises(ValueError, match="name"):
        agents.add("a b", "agent", "long enough")
    assert agents.add("wang", "agent", "reset password", replace=True).role == "agent"
    assert agents.authenticate("wang", "reset password").role == "agent"


def test_the_cli_reads_the_password_from_stdin_never_the_command_line(database):
    url, sessions = database
    run = lambda *args, stdin="": subprocess.run(  # noqa: E731
        [str(APP_PYTHON), "-m", "bot.console", "--url", url, *args], cwd=ROOT, input=stdin, text=True,
        capture_output=True, timeout=60)
    added = run("add-agent", "chen", "--role", "supervisor", stdin="a good password\n")
    assert added.returncode == 0, added.stderr
    assert AgentDirectory(sessions).authenticate("chen", "a good password").is_supervisor
    assert run("add-agent", "chen", stdin="a good password\n").returncode == 1
    too_short = run("add-agent", "zhou", stdin="short\n")
    assert too_short.returncode == 1 and "password" in too_short.stderr
    assert run("seed-demo").returncode == 0 and run("seed-demo").returncode == 0  # idempotent
    assert AgentDirectory(sessions).authenticate("agent1", "demo-agent-1").role == "agent"
    assert AgentDirectory(sessions).authenticate("supervisor1", "demo-supervisor-1").role == "supervisor"


def _user(intent: str) -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def test_the_summary_paragraph_follows_the_tracker():
    tracker = {
        "slots": {"identity_verified": True, "hardship": True, "plan_pending": True},
        "events": [
            _user("start_conversation"), {"event": "action", "name": "action_session_start"},
            _user("confirm_identity"), _user("ask_balance"), {"event": "action", "name": "action_tell_balance"},
            _user("hardship"), {"event": "action", "name": "action_record_hardship"},
            _user("request_instalment"), {"event": "action", "name": "action_propose_plan"},
            _user("request_human"), {"event": "action", "name": "action_request_human"}, _user("ask_balance"),
        ],
    }
    paragraph = summarize(tracker)
    assert paragraph == (
        "借款人共发言6次，身份已核实，借款人询问欠款金额、表示经济困难、申请分期、要求转人工，"
        "机器人告知了欠款金额、登记了困难情况、提出了分期方案、申请了转人工，借款人处于困难状况，有一个分期方案等待借款人确认。"
    )
    assert summarize(tracker) == paragraph  # deterministic
    unverified = summarize({"slots": {}, "events": [_user("start_conversation")]})
    assert unverified == "借款人尚未发言，身份尚未核实，不得透露任何账户信息。"

"""Secrets and personal data on the host (issue 10, finding 13), on the real stack the launcher starts:
Rasa's token in no process's command line, the logs and the audit key private, verification answers
masked in the audit."""
from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ledger.db import make_engine, make_session_factory
from ledger.models import AuditRecord

pytestmark = pytest.mark.e2e


def _command_lines() -> list[str]:
    lines = []
    for process in Path("/proc").iterdir():
        try:
            lines.append((process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ValueError):
            continue  # not a process, or gone
    return lines


def test_the_rasa_token_is_in_no_command_line_yet_rasa_requires_it(stack):
    token = stack.config.rasa_token
    lines = _command_lines()
    assert any("run_rasa.py" in line for line in lines)
    assert not [line for line in lines if token in line]
    actions = next(process for process in stack._processes if process.service_name == "actions")
    assert token.encode() not in Path(f"/proc/{actions.pid}/environ").read_bytes()  # only Rasa and the gateway hold it
    assert httpx.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401
    assert httpx.get(f"{stack.rasa_url}/status", params={"token": "a guess"}, timeout=10).status_code == 401
    assert httpx.get(f"{stack.rasa_url}/status", params={"token": token}, timeout=10).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer a-guess"])
def test_only_the_gateway_may_post_a_turn_to_rasa(stack, authorization):
    """Rasa's --auth-token does not guard channel webhooks: without this, any local process could speak as any
    conversation, past the gateway's limits, egress and audit."""
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.post(f"{stack.rasa_url}/webhooks/gateway/webhook", headers=headers, timeout=30,
                        json={"sender": "any-conversation", "message": "身份证后四位是1234"})
    assert answer.status_code == 401 and "messages" not in answer.json()


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_logs_and_the_audit_key_and_anchor_are_readable_by_their_owner_only(stack, open_chat, borrowers,
                                                                         audit_settings):
    borrower, _ = borrowers.take()
    open_chat(borrower.borrower_id).say("对，是我")  # writes the audit, so the anchor exists
    logs = sorted(stack.config.log_dir.glob("*.log"))
    assert {log.name for log in logs} >= {"actions.log", "gateway.log", "rasa.log"}
    assert [log.name for log in logs if not _private(log)] == []
    assert _private(audit_settings.key_file) and _private(audit_settings.anchor_file)


def test_the_answer_to_the_id_question_is_masked_in_the_audit(verified_chat, ledger_url):
    chat, borrower, _ = verified_chat()
    chat.say(f"我的电话尾号是{borrower.id_last4}")  # after verification the borrower's words are kept as said
    with make_session_factory(make_engine(ledger_url))() as session:
        said = session.scalars(select(AuditRecord.text).where(
            AuditRecord.conversation_id == chat.conversation_id, AuditRecord.speaker == "borrower",
        ).order_by(AuditRecord.id)).all()
    assert said == ["对，我就是本人", "身份证后四位是****", f"我的电话尾号是{borrower.id_last4}"]

"""A conversation designer's mistake: a response template that threatens the borrower. The model
is trained with it, and the gateway's egress must block it and send the safe replacement."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from bot.launcher import ROOT, Stack, StackConfig
from tests.e2e.chat import Chat
from tests.stack import FIXED_NOW, _free_port

pytestmark = pytest.mark.e2e

THREAT = "再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。"


@pytest.fixture(scope="module")
def stack_with_threatening_template(tmp_path_factory, redis_url, ledger_url):
    work = tmp_path_factory.mktemp("threat-model")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    domain["responses"]["utter_who_are_you"] = [{"text": f"我是催收专员。{THREAT}"}]
    (work / "domain.yml").write_text(yaml.safe_dump(domain, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    subprocess.run(
        [str(ROOT / ".venv-rasa/bin/rasa"), "train", "--config", "config.yml", "--domain", str(work / "domain.yml"),
         "--data", "data", "--out", str(work), "--fixed-model-name", "threat"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    config = StackConfig(
        model=work / "threat.tar.gz", rasa_port=_free_port(), action_port=_free_port(), gateway_port=_free_port(),
        redis_url=redis_url, ledger_url=ledger_url, fixed_now=FIXED_NOW, log_dir=work / "logs",
    )
    running = Stack(config).start()
    yield running
    running.stop()


def test_threatening_template_is_blocked_and_replaced_on_the_wire(stack_with_threatening_template, borrowers):
    borrower, _ = borrowers.take()
    chat = Chat(stack_with_threatening_template.gateway_url, borrower.borrower_id)
    try:
        reply = chat.say("你们是哪个公司的")
    finally:
        chat.close()
    assert "照片" not in reply and "老赖" not in reply
    assert reply.strip()  # the safe replacement went out instead
    import httpx
    transcript = httpx.get(
        f"{stack_with_threatening_template.gateway_url}/api/conversations/{chat.conversation_id}", timeout=30
    ).json()["transcript"]
    blocked = [entry for entry in transcript if entry.get("allowed") is False]
    assert blocked and THREAT in blocked[0]["blocked_text"] and blocked[0]["rules"]

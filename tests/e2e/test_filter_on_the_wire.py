"""A conversation designer's mistake: a response template that threatens the borrower. The model
is trained with it, and the gateway's egress must block it and send the safe replacement."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from bot.launcher import ROOT, Stack, StackConfig
from tests.e2e.chat import ARRIVAL_SECRETS_ENV, Chat
from tests.e2e.phone import FakeCarrier
from tests.stack import FIXED_NOW, _free_port
from voice.tts.espeak import EspeakEngine

# The module's fixture trains a whole Rasa model: minutes on an idle machine, up to an hour on a loaded one.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

THREAT = "再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。"


@pytest.fixture(scope="module")
def stack_with_threatening_template(tmp_path_factory, redis_url, ledger_url, audit_settings, model_path):
    # After the shared model (model_path): only the domain's responses differ, so Rasa's training cache gives this
    # one the NLU components, instead of a second full training running beside the first (scripts/test.sh).
    work = tmp_path_factory.mktemp("threat-model")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    domain["responses"]["utter_who_are_you"] = [{"text": f"我是催收专员。{THREAT}"}]
    # In the opening too, so that a phone call meets it with no borrower speech to recognise first.
    domain["responses"]["utter_ask_name_answer"] = [{"text": f"请问您是我们要联系的本人吗？{THREAT}"}]
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
        # The shared ledger's audit chain has one key and one anchor: a second gateway must use the same.
        extra_env={"COLLECTIONS_AUDIT_KEY_FILE": str(audit_settings.key_file),
                   "COLLECTIONS_AUDIT_ANCHOR_FILE": str(audit_settings.anchor_file),
                   "COLLECTIONS_RECORDINGS_DIRECTORY": str(work / "recordings"), **ARRIVAL_SECRETS_ENV},
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
    transcript = chat.transcript()
    # The opening's name question carries the threat too (for the phone test), and the form asks it again
    # after the answer: find the answer to "who are you" among the blocked entries.
    blocked = [entry for entry in transcript if entry.get("allowed") is False
               and entry["blocked_text"].startswith("我是催收专员")]
    assert len(blocked) == 1 and THREAT in blocked[0]["blocked_text"] and blocked[0]["rules"], transcript


async def _espeak_seconds(text: str) -> float:
    engine = EspeakEngine()
    audio = b"".join([chunk async for chunk in engine.synthesize(text, "zh")])
    return len(audio) / 2 / engine.sample_rate


@pytest.mark.asyncio
async def test_a_blocked_reply_on_a_phone_call_is_never_spoken(stack_with_threatening_template, borrowers,
                                                              redis_url):
    borrower, _ = borrowers.take()
    async with FakeCarrier(stack_with_threatening_template.gateway_url, borrower.borrower_id,
                           borrowers.number_of(borrower.borrower_id), redis_url=redis_url) as carrier:
        await carrier.bot_reply()
        said = await carrier.transcript()
        spoken = [entry for entry in said if entry["speaker"] == "bot"]
        blocked = [index for index, entry in enumerate(spoken) if entry.get("allowed") is False]
        assert blocked, said
        entry = spoken[blocked[0]]
        assert THREAT in entry["blocked_text"] and THREAT not in entry["text"] and entry["text"].strip()
        heard = len(carrier.utterance_audio(blocked[0])) / 2 / 8000
    # What the carrier played for that utterance is the safe replacement as the engine renders it, not the
    # threat: espeak-ng is deterministic, so the audio lengths tell the two apart (the threat is far longer).
    replacement, threat = await _espeak_seconds(entry["text"]), await _espeak_seconds(entry["blocked_text"])
    assert abs(heard - replacement) < 0.15 * replacement + 0.1, (heard, replacement, threat)
    assert abs(heard - replacement) < abs(heard - threat), (heard, replacement, threat)

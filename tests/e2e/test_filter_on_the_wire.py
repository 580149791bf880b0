"""A conversation designer's mistake: a response template that threatens the borrower. The model carries it,
and the gateway's egress must block it and send the safe replacement."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from bot.launcher import Stack, StackConfig
from tests.e2e.chat import ARRIVAL_SECRETS_ENV, Chat
from tests.e2e.phone import FakeCarrier
from tests.stack import FIXED_NOW, _free_port
from voice.tts.espeak import EspeakEngine

pytestmark = pytest.mark.e2e

THREAT = "再不还钱，我们就把你的照片发到你们公司群里，让你同事都知道你是老赖。"


THREATENING_RESPONSES = {
    "utter_who_are_you": [{"text": f"我是催收专员。{THREAT}"}],
    # In the opening too, so that a phone call meets it with no borrower speech to recognise first.
    "utter_ask_name_answer": [{"text": f"请问您是我们要联系的本人吗？{THREAT}"}],
}


def model_with_responses(model: Path, target: Path, responses: dict[str, list[dict]]) -> Path:
    """The trained model with some response templates rewritten, as a designer's edit to domain.yml would leave them:
    templates are not trained on, only carried (in the model's metadata and its domain provider), so the shared
    model edited this way is the model that training on the edited domain gives, without a second training."""
    with tarfile.open(model) as source, tarfile.open(target, "w:gz") as edited:
        for member in source.getmembers():
            content = source.extractfile(member).read() if member.isfile() else None
            if member.name == "metadata.json":
                metadata = json.loads(content)
                metadata["domain"]["responses"].update(responses)
                content = json.dumps(metadata, ensure_ascii=False).encode("utf-8")
            elif member.name == "components/domain_provider/domain.yml":
                domain = yaml.safe_load(content)
                domain["responses"].update(responses)
                content = yaml.safe_dump(domain, allow_unicode=True, sort_keys=False).encode("utf-8")
            if content is None:
                edited.addfile(member)
            else:
                member.size = len(content)
                edited.addfile(member, io.BytesIO(content))
    return target


@pytest.fixture(scope="module")
def stack_with_threatening_template(tmp_path_factory, redis_url, ledger_url, audit_settings, model_path):
    work = tmp_path_factory.mktemp("threat-model")
    model = model_with_responses(model_path, work / "threat.tar.gz", THREATENING_RESPONSES)
    config = StackConfig(
        model=model, rasa_port=_free_port(), action_port=_free_port(), gateway_port=_free_port(),
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

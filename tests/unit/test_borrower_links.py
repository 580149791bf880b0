"""Signed borrower links (bot.links) and conversation secrets (bot.conversation_secret): only the key's
holder issues a link, it expires, it names one borrower the ledger knows, and every refusal is alike."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from bot import conversation_secret
from bot.key_files import SecretKeyError
from bot.launcher import ROOT
from bot.links import BorrowerLinks, ChatEntry, InvalidLink, load_link_key
from configuration.settings import GatewaySettings

KEY = b"unit-test key for borrower links"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_link_admits_the_borrower_it_names_until_it_expires() -> None:
    clock = Clock()
    links = BorrowerLinks(KEY, clock)
    link = links.issue("B000001", hours=2)
    assert links.admit(link) == "B000001"
    clock.now += 2 * 3600 - 1
    assert links.admit(link) == "B000001"
    clock.now += 1
    with pytest.raises(InvalidLink):
        links.admit(link)


@pytest.mark.parametrize("presented", [
    BorrowerLinks(b"somebody else's key, not ours").issue("B000001"),
    "B000001", "", None, 42, ["B000001"], "x" * 10_000, "W10.e30",
])
def test_forged_and_malformed_links_are_refused_alike(presented) -> None:
    with pytest.raises(InvalidLink) as refused:
        BorrowerLinks(KEY).admit(presented)
    assert str(refused.value) == ""  # nothing about why


def test_a_link_cannot_be_edited_to_name_another_borrower() -> None:
    links = BorrowerLinks(KEY)
    payload, signature = links.issue("B000001").split(".")
    other_payload = links.issue("B000002").split(".")[0]
    with pytest.raises(InvalidLink):
        links.admit(f"{other_payload}.{signature}")
    assert links.admit(f"{payload}.{signature}") == "B000001"


def test_a_web_chat_session_signature_is_no_link() -> None:
    from bot.channels.socketio_webchat import SessionIds

    session_id = SessionIds(KEY).issue()
    with pytest.raises(InvalidLink):
        BorrowerLinks(KEY).admit(session_id)


def test_the_link_key_file_is_created_private_and_refused_when_readable(tmp_path) -> None:
    settings = GatewaySettings(link_key_file=tmp_path / "link.key")
    key = load_link_key(settings)
    assert stat.S_IMODE(os.stat(settings.link_key_file).st_mode) == 0o600
    assert load_link_key(settings) == key and len(key) == 32
    os.chmod(settings.link_key_file, 0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_link_key(settings)
    assert load_link_key(GatewaySettings(link_key="a deployment's link key")) == b"a deployment's link key"


def test_the_cli_issues_a_link_the_gateway_admits(tmp_path) -> None:
    env = {**os.environ, "COLLECTIONS_GATEWAY_LINK_KEY_FILE": str(tmp_path / "link.key")}
    printed = subprocess.run([sys.executable, "-m", "bot.links", "B000002", "--hours", "1",
                              "--gateway", "http://127.0.0.1:8000"],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.split()
    link, page = printed
    key = load_link_key(GatewaySettings(link_key_file=tmp_path / "link.key"))
    assert BorrowerLinks(key).admit(link) == "B000002"
    assert page == f"http://127.0.0.1:8000/demo/webchat?link={link}"


def test_a_conversation_secret_matches_only_itself() -> None:
    secret, digest = conversation_secret.issue()
    assert secret not in digest and len(secret) >= 43
    assert conversation_secret.matches(secret, digest)
    for wrong in (None, "", secret[:-1], conversation_secret.issue()[0]):
        assert not conversation_secret.matches(wrong, digest)
    assert not conversation_secret.matches("", "")  # a conversation without a secret admits nobody


def test_a_well_signed_link_for_an_id_the_ledger_does_not_know_is_admitted() -> None:
    """The door does not say whether an id exists: the conversation does, by failing verification."""
    assert BorrowerLinks(KEY).admit(BorrowerLinks(KEY).issue("B999999")) == "B999999"


def test_a_reminders_link_admits_its_borrower_into_a_chat_that_names_the_contact_and_opens_no_voice_call():
    links = BorrowerLinks(KEY)
    reminder = links.issue_for_reminder("B000007", "0f" * 16)
    assert links.admit_chat(reminder) == ChatEntry("B000007", "0f" * 16)
    assert links.admit_chat(links.issue("B000007")) == ChatEntry("B000007")
    with pytest.raises(InvalidLink):
        links.admit(reminder)  # the voice page and the other single-borrower entrances take a borrower's link only
    with pytest.raises(InvalidLink):
        links.admit_chat(links.issue_claims(["B000007", "0f" * 16, "overdue_firm"]))  # neither form

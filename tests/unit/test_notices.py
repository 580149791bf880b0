"""The gateway's own words (queue, callback, agent joining or leaving, the turn cap, the fault reply) exist in both
languages, carry the same values, and may be said to someone not yet verified."""
from __future__ import annotations

import string
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ledger.notices import NOTICES, callback_notice, notice, wait_notice
from ledger.phrasebook import Phrasebook
from compliance_filters import check
from configuration.settings import GatewaySettings

UNVERIFIED = {"identity_verified": False, "channel": "rest"}


def _values(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(NOTICES))
def test_each_notice_has_both_languages_with_the_same_values(key):
    assert set(NOTICES[key]) == {"zh", "en"}
    assert _values(NOTICES[key]["zh"]) == _values(NOTICES[key]["en"])


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_notice_may_be_said_before_verification(language):
    when = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    texts = [wait_notice(language, 1), wait_notice(language, 4), callback_notice(language, when, date(2026, 11, 23)),
             callback_notice(language, when, date(2026, 11, 23), "callback_instead_of_transfer"),
             *(notice(language, key) for key in ("taken", "handed_back", "no_callback", "long_conversation",
                                                        "call_declined", "transferring", "line_unanswered"))]
    for text in texts:
        verdict = check(text, UNVERIFIED)
        assert verdict.allowed, (text, verdict.rules)


def test_english_notices_are_english():
    assert wait_notice("en", 3) == notice("en", "queued_behind", ahead=2) and "2 ahead of you" in wait_notice("en", 3)
    when = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert "around 10:00 on November 24" in callback_notice("en", when, date(2026, 11, 23))


def test_the_default_fault_replies_pass_before_verification():
    settings = GatewaySettings()
    for text in (settings.fault_reply_text, settings.fault_reply_text_en, settings.unavailable_reply_text):
        assert check(text, UNVERIFIED).allowed, text


@pytest.mark.parametrize("phrases", [
    {"greeting": {"zh": "您好"}},                                         # no English
    {"due": {"zh": "应还{amount}", "en": "You owe {amount} by {date}"}},  # a value only one language fills
])
def test_a_phrasebook_refuses_a_sentence_missing_a_language_or_a_value(phrases):
    with pytest.raises(ValueError, match=next(iter(phrases))):
        Phrasebook(phrases)


def test_a_phrasebook_says_chinese_for_any_language_but_english():
    book = Phrasebook({"owed": {"zh": "应还{amount}", "en": "You owe {amount}"}})
    assert book.say("en", "owed", amount="$5") == "You owe $5"
    assert book.say("zh", "owed", amount="5元") == book.say(None, "owed", amount="5元") == "应还5元"

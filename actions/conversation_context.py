"""What every action needs to know about the conversation: who, when, and the ledger to ask."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from chinese_text import DEFAULT_TIMEZONE, mask_id_last4
from actions.services import SERVICES
from compliance_filters.contact_policy import ContactPolicyConfig
from ledger.repository import Ledger


def ledger() -> Ledger:
    return SERVICES.ledger


def contact_policy() -> ContactPolicyConfig:
    return SERVICES.contact_policy


def _metadata(tracker: Tracker) -> dict[str, Any]:
    return (tracker.latest_message or {}).get("metadata") or {}


def borrower_id(tracker: Tracker) -> str | None:
    """The borrower this conversation was opened for, as the gateway stated it at session start."""
    session_meta = tracker.get_slot("session_started_metadata") or {}
    return session_meta.get("borrower_id") or _metadata(tracker).get("borrower_id")


def call_script(tracker: Tracker) -> str:
    """The strategy's script variant (campaigns/strategy.yml `script`, as turn metadata from the gateway) of the campaign
    contact that opened the conversation: a call the lender's dialer placed, or a chat opened from a reminder's link;
    '' in every other conversation."""
    return _metadata(tracker).get("call_script") or ""


def conversation_id(tracker: Tracker) -> str:
    return tracker.sender_id


def latest_intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def channel(tracker: Tracker) -> str:
    session_meta = tracker.get_slot("session_started_metadata") or {}
    return session_meta.get("channel") or _metadata(tracker).get("channel") or "chat"


VOICE_CHANNELS = frozenset({"phone", "browser_voice"})


def is_voice(tracker: Tracker) -> bool:
    """A listener, not a reader: replies are worded short (bot.channels.voice names these channels)."""
    return channel(tracker) in VOICE_CHANNELS


def borrower_words(tracker: Tracker, max_chars: int = 500) -> str:
    """What the borrower said this turn, to keep in the ledger: ID digits starred, and nothing when the text is the
    gateway's own command (e.g. '/distress', sent in place of words the gateway already recorded)."""
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else mask_id_last4(text)[:max_chars]


def now(tracker: Tracker) -> datetime:
    """The conversation's clock: the gateway stamps each message, so tests can fix the time."""
    stamped = _metadata(tracker).get("now")
    if stamped:
        moment = datetime.fromisoformat(stamped)
        if moment.tzinfo is not None:
            return moment
    return datetime.now(timezone.utc)


def borrower_timezone(tracker: Tracker) -> str:
    return _metadata(tracker).get("timezone") or DEFAULT_TIMEZONE


def local_today(tracker: Tracker) -> date:
    return now(tracker).astimezone(ZoneInfo(borrower_timezone(tracker))).date()


def is_verified(tracker: Tracker) -> bool:
    """The slot says so (a new session clears it) and the ledger holds a passed identity check for this
    conversation and borrower: a tracker arrives from outside this process, the ledger's record only from
    validate_verification_form, so a forged `identity_verified` alone discloses nothing."""
    known_id = borrower_id(tracker)
    return (
        tracker.get_slot("identity_verified") is True
        and bool(known_id)
        and ledger().verified_check(conversation_id(tracker), known_id) is not None
    )

"""What every action needs to know about the conversation: who, when, and the ledger to ask."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions.ledger.db import make_engine, make_session_factory, create_schema
from actions.ledger.repository import Ledger

DEFAULT_TIMEZONE = "Asia/Shanghai"


@lru_cache(maxsize=1)
def ledger() -> Ledger:
    """One ledger per action-server process, opened on first use (not at import)."""
    engine = make_engine()
    create_schema(engine)
    return Ledger(make_session_factory(engine))


def _metadata(tracker: Tracker) -> dict[str, Any]:
    return (tracker.latest_message or {}).get("metadata") or {}


def borrower_id(tracker: Tracker) -> str | None:
    """The borrower this conversation was opened for, as the gateway stated it at session start."""
    session_meta = tracker.get_slot("session_started_metadata") or {}
    return session_meta.get("borrower_id") or _metadata(tracker).get("borrower_id")


def conversation_id(tracker: Tracker) -> str:
    return tracker.sender_id


def channel(tracker: Tracker) -> str:
    session_meta = tracker.get_slot("session_started_metadata") or {}
    return session_meta.get("channel") or _metadata(tracker).get("channel") or "chat"


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
    return tracker.get_slot("identity_verified") is True

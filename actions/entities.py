"""Reading the normalised entity values nlu.components.EntityValueNormaliser attached to a message."""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker


def latest_entity(tracker: Tracker, entity: str) -> dict[str, Any] | None:
    """The last mention in the latest message: people correct themselves forwards ("三期太多了，12期吧")."""
    found = [e for e in (tracker.latest_message or {}).get("entities") or []
             if e.get("entity") == entity and e.get("value") is not None]
    return found[-1] if found else None


def latest_value(tracker: Tracker, entity: str) -> Any:
    found = latest_entity(tracker, entity)
    return None if found is None else found["value"]


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def as_cents(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # JSON round-trips may turn ints to floats
        return int(value)
    return None

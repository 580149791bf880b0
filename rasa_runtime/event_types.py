"""Rasa finds the class of every event it reads (a stored tracker, an action server's answer) with
`Event.resolve_by_type`, which walks all subclasses of `Event` and asks `inspect.isabstract` of each, for each event:
about 5 % of a replica's CPU under load (py-spy), since every turn reads the tracker. The classes do not change once
Rasa has started, so this keeps the class found for each type name and asks Rasa only about a name it has not
answered yet (an unknown name still gets Rasa's default or its error).

Installed by scripts/run_rasa.py before Rasa starts.
"""
from __future__ import annotations

from typing import Optional

from rasa.shared.core.events import Event

_rasa_resolve_by_type = Event.resolve_by_type
_FOUND: dict[str, type[Event]] = {}


def resolve_by_type(type_name: str, default: Optional[type[Event]] = None) -> Optional[type[Event]]:
    found = _FOUND.get(type_name)
    if found is None:
        found = _rasa_resolve_by_type(type_name, default)
        if found is not None and found.type_name == type_name:
            _FOUND[type_name] = found
    return found


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)

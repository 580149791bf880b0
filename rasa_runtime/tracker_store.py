"""Rasa's Redis tracker store without its costly save and read.

Rasa 3.6's `RedisTrackerStore.save` reads the stored tracker back, rebuilds it event by event, travels it back in
time and compares every new event with every stored one (`_merge_trackers`), so that a tracker holding only the last
conversation session does not overwrite the sessions before it. That is every save of this bot: Rasa sets the
`session_started_metadata` slot before `action_session_start`, so the stored events begin with a session of one event
and `retrieve` hands out the last session alone. Under load the merge was about a tenth of each replica's CPU
(py-spy). This store writes the outcome of the merge at once when it is plain:
- the stored events are the first events of the tracker being saved: the merge returns the tracker itself;
- the stored last session is the first events of the tracker being saved: the merge returns the stored events and
  then each new event not already stored (compared as JSON, as Rasa compares `as_dict()`).
Every other case goes to Rasa's merge. The stored value is Rasa's own JSON, so either store reads what the other wrote.

`retrieve` rebuilds only the last session's events (Rasa rebuilds the whole tracker, then the last session again).

Named in endpoints.redis.yml (`type: rasa_runtime.tracker_store.ExtendingRedisTrackerStore`).
"""
from __future__ import annotations

import json
from typing import Any, Optional

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.trackers import DialogueStateTracker


class ExtendingRedisTrackerStore(RedisTrackerStore):
    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        key = self.key_prefix + tracker.sender_id
        serialised = self.serialise_tracker(tracker)
        stored = self.red.get(key)
        if stored is not None:
            merged = _merged(stored, serialised)
            if merged is None:
                await super().save(tracker, timeout)
                return
            serialised = merged
        await self.stream_events(tracker)
        self.red.set(key, serialised, ex=timeout or self.record_exp)

    async def _retrieve(self, sender_id: str, fetch_all_sessions: bool) -> Optional[DialogueStateTracker]:
        stored = self.red.get(self.key_prefix + sender_id)
        if stored is None:
            return None
        if fetch_all_sessions:
            return self.deserialise_tracker(sender_id, stored)
        dialogue = json.loads(stored)
        # Rasa splits before every `action_session_start` and keeps the last part; a start at 0 splits nothing.
        dialogue["events"] = dialogue.get("events", [])[_last_session_start(dialogue.get("events", [])):]
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue.from_parameters(dialogue))
        return tracker


def _merged(stored: str | bytes, serialised: str) -> Optional[str]:
    """What Rasa's merge would store, when the tracker being saved extends the stored one or its last session;
    None otherwise."""
    stored_events = json.loads(stored).get("events") or []
    dialogue = json.loads(serialised)
    events = dialogue["events"]
    if events[:len(stored_events)] == stored_events:
        return serialised
    session = stored_events[_last_session_start(stored_events):]
    if len(session) == len(stored_events) or events[:len(session)] != session:
        return None
    merged = list(stored_events)
    for event in events[len(session):]:
        if event not in merged:
            merged.append(event)
    return json.dumps({**dialogue, "events": merged})


def _last_session_start(events: list[dict[str, Any]]) -> int:
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "action" and events[index].get("name") == ACTION_SESSION_START_NAME:
            return index
    return 0

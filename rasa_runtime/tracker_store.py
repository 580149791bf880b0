"""Rasa's Redis tracker store without its costly save.

Rasa 3.6's `RedisTrackerStore.save` reads the stored tracker back, rebuilds it event by event, travels it back in
time and compares every new event with every stored one (`_merge_trackers`), so that a tracker holding only the last
conversation session does not overwrite the sessions before it. Under load that was about a tenth of each
replica's CPU (py-spy). When the stored events are the first events of the tracker being saved, which is every save
within one session, the merge could only return the tracker itself: this store writes it at once, and leaves every
other case to Rasa's merge. The stored value is Rasa's own JSON, so either store reads what the other wrote.

Named in endpoints.redis.yml (`type: rasa_runtime.tracker_store.ExtendingRedisTrackerStore`).
"""
from __future__ import annotations

import json
from typing import Optional

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker


class ExtendingRedisTrackerStore(RedisTrackerStore):
    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        key = self.key_prefix + tracker.sender_id
        serialised = self.serialise_tracker(tracker)
        stored = self.red.get(key)
        if stored is not None and not _extends(serialised, stored):
            await super().save(tracker, timeout)
            return
        await self.stream_events(tracker)
        self.red.set(key, serialised, ex=timeout or self.record_exp)


def _extends(serialised: str, stored: str | bytes) -> bool:
    """Whether the stored tracker's events are, as JSON, the first events of the serialised one."""
    stored_events = json.loads(stored).get("events") or []
    return json.loads(serialised)["events"][:len(stored_events)] == stored_events

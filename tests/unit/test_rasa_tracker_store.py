"""rasa_runtime/tracker_store.py saves a tracker that extends the stored one, or its last session, without Rasa's
merge, reads the last session alone, and leaves every other save to Rasa: after the same conversation (begun as Rasa
begins one, with the metadata slot before `action_session_start`; a new session in the middle; a save that extends
nothing) both stores hold the same JSON and hand out the same trackers.
Runs in Rasa's own environment (.venv-rasa) against a real redis-server, as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

CONVERSATION = r"""
import asyncio, json, sys
from redis import Redis
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import EventVerbosity
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa_runtime.tracker_store import ExtendingRedisTrackerStore

host, port, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
domain = Domain.load("domain.yml")
merges = []
original_merge = RedisTrackerStore._merge_trackers
ExtendingRedisTrackerStore._merge_trackers = staticmethod(lambda *trackers: merges.append(1) or original_merge(*trackers))
stores = {"rasa": RedisTrackerStore(domain, host=host, port=port, db=db, key_prefix="rasa", record_exp=3600),
          "ours": ExtendingRedisTrackerStore(domain, host=host, port=port, db=db, key_prefix="ours", record_exp=3600)}
clock = iter(range(1_700_000_000, 1_800_000_000))

def turn(text):
    return [UserUttered(text, {"name": "affirm", "confidence": 0.9}, timestamp=next(clock)),
            SlotSet("identity_verified", True, timestamp=next(clock)),
            ActionExecuted("utter_greeting", timestamp=next(clock)), BotUttered("您好", timestamp=next(clock)),
            ActionExecuted("action_listen", timestamp=next(clock))]

def session_start():
    return [SlotSet("session_started_metadata", {"channel": "bench"}, timestamp=next(clock)),
            ActionExecuted("action_session_start", timestamp=next(clock))]

async def converse(store):
    retrieved = []
    tracker = store.init_tracker("borrower-1")
    tracker.update_with_events(session_start() + [
                                SessionStarted(timestamp=next(clock)),
                                ActionExecuted("action_listen", timestamp=next(clock))] + turn("是我"), domain, override_timestamp=False)
    await store.save(tracker)
    saved = {}
    for text in ("身份证后四位是1234", "这周五还两千"):
        tracker = await store.retrieve("borrower-1")
        retrieved.append(tracker.current_state(EventVerbosity.ALL))
        tracker.update_with_events(turn(text), domain, override_timestamp=False)
        await store.save(tracker)
    tracker = await store.retrieve("borrower-1")
    tracker.update_with_events(session_start() + [
                                SessionStarted(timestamp=next(clock)),
                                ActionExecuted("action_listen", timestamp=next(clock))] + turn("又是我"), domain, override_timestamp=False)
    await store.save(tracker)
    tracker = await store.retrieve("borrower-1")  # the last session only
    retrieved.append(tracker.current_state(EventVerbosity.ALL))
    tracker.update_with_events(turn("好的"), domain, override_timestamp=False)
    await store.save(tracker)
    saved["merges"] = len(merges)
    tracker = store.init_tracker("borrower-1")  # extends nothing stored: Rasa's merge
    tracker.update_with_events(session_start() + [SessionStarted(timestamp=next(clock))] + turn("我换了手机"), domain,
                               override_timestamp=False)
    await store.save(tracker)
    saved["merges after a save that extends nothing"] = len(merges)
    full = await store.retrieve_full_tracker("borrower-1")
    retrieved.append(full.current_state(EventVerbosity.ALL))
    saved["retrieved"] = retrieved
    stored = json.loads(store.red.get(store.key_prefix + "borrower-1"))
    saved["events"] = stored["events"]
    return saved

results = {}
for name, store in stores.items():
    clock = iter(range(1_700_000_000, 1_800_000_000))
    merges.clear()
    results[name] = asyncio.run(converse(store))
print(json.dumps(results))
"""


def test_the_same_conversation_is_stored_and_read_alike_and_merged_only_when_it_extends_nothing(unit_redis_url):
    host_port, db = unit_redis_url.removeprefix("redis://").rsplit("/", 1)
    host, port = host_port.split(":")
    [results] = run_in_rasa(CONVERSATION, host, port, db)
    rasa, ours = results["rasa"], results["ours"]
    assert ours["events"] == rasa["events"]
    assert ours["retrieved"] == rasa["retrieved"]
    assert sum(event["event"] == "session_started" for event in ours["events"]) == 3  # earlier sessions kept
    assert [event["text"] for event in ours["events"] if event["event"] == "user"] == [
        "是我", "身份证后四位是1234", "这周五还两千", "又是我", "好的", "我换了手机"]
    assert ours["merges"] == 0, "a save that extends the stored tracker or its last session went through the merge"
    assert ours["merges after a save that extends nothing"] == 1

"""rasa_runtime/tracker_store.py saves a tracker that extends the stored one without Rasa's merge, and leaves every
other save to it: after the same conversation, with a new session in the middle, both stores hold the same JSON.
Runs in Rasa's own environment (.venv-rasa) against a real redis-server, as the Rasa server does."""
from __future__ import annotations

import json
import subprocess

from bot.launcher import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

CONVERSATION = r"""
import asyncio, json, sys
from redis import Redis
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
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

async def converse(store):
    tracker = store.init_tracker("borrower-1")
    tracker.update_with_events([ActionExecuted("action_session_start", timestamp=next(clock)),
                                SessionStarted(timestamp=next(clock)),
                                ActionExecuted("action_listen", timestamp=next(clock))] + turn("是我"), domain, override_timestamp=False)
    await store.save(tracker)
    saved = {}
    for text in ("身份证后四位是1234", "这周五还两千"):
        tracker = await store.retrieve("borrower-1")
        tracker.update_with_events(turn(text), domain, override_timestamp=False)
        await store.save(tracker)
    saved["one session"] = len(merges)
    tracker = await store.retrieve("borrower-1")
    tracker.update_with_events([ActionExecuted("action_session_start", timestamp=next(clock)),
                                SessionStarted(timestamp=next(clock)),
                                ActionExecuted("action_listen", timestamp=next(clock))] + turn("又是我"), domain, override_timestamp=False)
    await store.save(tracker)
    tracker = await store.retrieve("borrower-1")  # the last session only
    tracker.update_with_events(turn("好的"), domain, override_timestamp=False)
    await store.save(tracker)
    saved["merges"] = len(merges)
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


def test_the_same_conversation_is_stored_alike_and_merged_only_across_sessions(unit_redis_url):
    host_port, db = unit_redis_url.removeprefix("redis://").rsplit("/", 1)
    host, port = host_port.split(":")
    run = subprocess.run([str(RASA_PYTHON), "-c", CONVERSATION, host, port, db], cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"},
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    rasa, ours = results["rasa"], results["ours"]
    assert ours["events"] == rasa["events"]
    assert sum(event["event"] == "session_started" for event in ours["events"]) == 2  # the first session kept
    assert [event["text"] for event in ours["events"] if event["event"] == "user"] == [
        "是我", "身份证后四位是1234", "这周五还两千", "又是我", "好的"]
    assert ours["one session"] == 0, "a save within one session went through Rasa's merge"
    assert ours["merges"] >= 1, "the save of the last session alone must be merged with the one before"

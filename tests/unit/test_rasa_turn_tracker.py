"""rasa_runtime/turn_tracker.py hands the gateway channel the tracker its own turn saved: Rasa still stores it, two
turns handled at once (two asyncio tasks, as Sanic serves two requests) each get only their own, and a save outside
any turn is kept by none. Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

TURNS = r"""
import asyncio, json
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa_runtime import turn_tracker

turn_tracker.install()
domain = Domain.load("domain.yml")
processor = MessageProcessor.__new__(MessageProcessor)  # save_tracker needs only the store
processor.tracker_store = InMemoryTrackerStore(domain)

async def turn(sender):
    with turn_tracker.capture() as saved:
        tracker = processor.tracker_store.init_tracker(sender)
        await asyncio.sleep(0.01)
        tracker.update(SlotSet("language", sender))
        await processor.save_tracker(tracker)
        await asyncio.sleep(0.01)
    return [kept.sender_id for kept in saved], [kept is tracker for kept in saved]

async def main():
    outside = await asyncio.create_task(processor.save_tracker(processor.tracker_store.init_tracker("outside")))
    (a_ids, a_same), (b_ids, b_same) = await asyncio.gather(turn("a"), turn("b"))
    stored = (await processor.tracker_store.retrieve("a")).get_slot("language")
    print(json.dumps({"a": a_ids, "b": b_ids, "same objects": a_same + b_same, "stored": stored}))

asyncio.run(main())
"""


def test_each_turn_gets_the_tracker_it_saved_and_rasa_still_stores_it():
    [result] = run_in_rasa(TURNS)
    assert result == {"a": ["a"], "b": ["b"], "same objects": [True, True], "stored": "a"}
